"""The header of an XNNPACK delegate blob (``XH00``), written and read.

ExecuTorch 1.5.1's ``serialize_xnnpack_binary``
(backends/xnnpack/serialization/xnnpack_graph_serialize.py) writes a blob
as this header, padded to 32 bytes, then the ``XN01`` FlatBuffer, padded
with zeros to a multiple of 16 (counted from the blob's start), then the
constant data as it is (no padding after it). The header's fields,
little-endian::

    0   4 bytes  zero (so that the magic sits where a FlatBuffer's identifier does)
    4   4 bytes  b"XH00"
    8   uint16   the header's length (30)
    10  uint32   flatbuffer_offset     (32)
    14  uint32   flatbuffer_size       (the FlatBuffer's own size, unpadded)
    18  uint32   constant_data_offset  (32 + the padded FlatBuffer: the blob's
                                        size when there is no constant data)
    22  uint64   constant_data_size

The runtime (runtime/XNNHeader.cpp) reads a buffer without ``XH00`` at byte
4 as a bare FlatBuffer; :func:`read_header` returns None for it.
"""

from __future__ import annotations

import struct
from typing import Optional

from ...engine.errors import DecodeError
from ..common.payload import Record

__all__ = ["MAGIC", "LENGTH", "PADDED_LENGTH", "ALIGNMENT", "XnnpackHeader", "pack_header",
           "read_header", "padded"]

MAGIC = b"XH00"
LENGTH = 30
ALIGNMENT = 16  # ExecuTorch's CONSTANT_TENSOR_ALIGNMENT: the header and the FlatBuffer are padded to it
PADDED_LENGTH = LENGTH + -LENGTH % ALIGNMENT  # 32
_HEADER = struct.Struct("<4s4sHIIIQ")
_FIELDS = struct.Struct("<HIIIQ")


def padded(size: int) -> int:
    """``size`` rounded up to a multiple of :data:`ALIGNMENT`."""
    return size + -size % ALIGNMENT


class XnnpackHeader(Record):
    """The ``XH00`` header of an XNNPACK delegate blob: where the FlatBuffer
    and the constant data are in the blob, and their sizes."""

    __slots__ = __match_args__ = ("length", "flatbuffer_offset", "flatbuffer_size",
                                  "constant_data_offset", "constant_data_size")

    def __init__(self, length: int, flatbuffer_offset: int, flatbuffer_size: int,
                 constant_data_offset: int, constant_data_size: int) -> None:
        self.length = length
        self.flatbuffer_offset = flatbuffer_offset
        self.flatbuffer_size = flatbuffer_size
        self.constant_data_offset = constant_data_offset
        self.constant_data_size = constant_data_size


def pack_header(flatbuffer_size: int, constant_data_size: int) -> bytes:
    """The header of a blob whose FlatBuffer and constant data have these sizes,
    padded to :data:`PADDED_LENGTH` (the caller checks the sizes fit)."""
    return _HEADER.pack(b"\0\0\0\0", MAGIC, LENGTH, PADDED_LENGTH, flatbuffer_size,
                        PADDED_LENGTH + padded(flatbuffer_size),
                        constant_data_size).ljust(PADDED_LENGTH, b"\0")


def _fail(path: str, message: str, offset: int) -> DecodeError:
    return DecodeError(f"{path}: {message} (at byte {offset})", path, offset)


def read_header(view: memoryview) -> Optional[XnnpackHeader]:
    """The header of the blob in ``view``, or None if ``XH00`` is not at byte 4
    (a bare FlatBuffer, as the runtime reads it). :class:`DecodeError` for a
    header the runtime refuses (XNNHeader::Parse): too short, or offsets and
    sizes outside the blob, the constant data before or inside the
    FlatBuffer; and for what ExecuTorch's own writer and reader never have:
    a length other than 30, a FlatBuffer inside the header."""
    size = len(view)
    if bytes(view[4:8]) != MAGIC:
        return None
    if size < LENGTH:
        raise _fail("header", f"the blob ends at byte {size}, inside the {LENGTH}-byte header", size)
    length, fb_offset, fb_size, cd_offset, cd_size = _FIELDS.unpack_from(view, 8)
    if length != LENGTH:
        raise _fail("header.length", f"expected {LENGTH}, got {length}", 8)
    if not LENGTH <= fb_offset <= size:
        raise _fail("header.flatbuffer_offset", f"expected {LENGTH} (the header's end) to {size} "
                    f"(the blob's size), got {fb_offset}", 10)
    if not 8 <= fb_size <= size - fb_offset:
        raise _fail("header.flatbuffer_size", f"expected 8 to {size - fb_offset} (the rest of the "
                    f"{size}-byte blob), got {fb_size}", 14)
    if not fb_offset + fb_size <= cd_offset <= size:
        raise _fail("header.constant_data_offset", f"expected {fb_offset + fb_size} (the "
                    f"FlatBuffer's end) to {size} (the blob's size), got {cd_offset}", 18)
    if cd_size > size - cd_offset:
        raise _fail("header.constant_data_size", f"{cd_size} bytes from {cd_offset} run past the "
                    f"end of the {size}-byte blob", 22)
    return XnnpackHeader(length, fb_offset, fb_size, cd_offset, cd_size)
