"""The header of a .ptd file (``FH01``), written and read.

ExecuTorch inserts it right after the FlatBuffer's file identifier (byte 8),
padded to 48 bytes so that the FlatBuffer after it stays 16-aligned, and
moves the root offset past it. Its fields, little-endian::

    magic               4 bytes  b"FH01"
    length              uint32   the header's own length (40)
    flatbuffer_offset   uint64   bytes inserted after the identifier (48)
    flatbuffer_size     uint64   the FlatBuffer's size before they went in
    segment_base_offset uint64   where segment offsets count from
    segment_data_size   uint64   bytes of segment data
"""

from __future__ import annotations

import struct

from ...engine.errors import DecodeError
from ..common.payload import Record

__all__ = ["MAGIC", "LENGTH", "PADDED_LENGTH", "FLAT_TENSOR_VERSION", "DataFileHeader",
           "pack_header", "read_header"]

MAGIC = b"FH01"
LENGTH = 40
# The header is padded so that the FlatBuffer after it stays 16-aligned.
PADDED_LENGTH = LENGTH + -LENGTH % 16
# The FlatTensor version ExecuTorch 1.5.1 writes, and the newest it reads.
FLAT_TENSOR_VERSION = 0
_HEADER = struct.Struct("<4sIQQQQ")
_U32 = struct.Struct("<I")


class DataFileHeader(Record):
    """The ``FH01`` header after the file identifier of a .ptd.

    ``flatbuffer_offset`` is the number of bytes inserted after the
    identifier (the header, padded), ``flatbuffer_size`` the FlatBuffer's
    size before they went in; segment offsets count from
    ``segment_base_offset``.
    """

    __slots__ = __match_args__ = ("length", "flatbuffer_offset", "flatbuffer_size",
                                  "segment_base_offset", "segment_data_size")

    def __init__(self, length: int, flatbuffer_offset: int, flatbuffer_size: int,
                 segment_base_offset: int, segment_data_size: int) -> None:
        self.length = length
        self.flatbuffer_offset = flatbuffer_offset
        self.flatbuffer_size = flatbuffer_size
        self.segment_base_offset = segment_base_offset
        self.segment_data_size = segment_data_size

    @property
    def flatbuffer_end(self) -> int:
        """Where the FlatBuffer (header included) ends in the file."""
        return self.flatbuffer_offset + self.flatbuffer_size


def pack_header(flatbuffer_size: int, segment_base_offset: int, segment_data_size: int) -> bytes:
    """The header, padded to :data:`PADDED_LENGTH`."""
    return _HEADER.pack(MAGIC, LENGTH, PADDED_LENGTH, flatbuffer_size, segment_base_offset,
                        segment_data_size).ljust(PADDED_LENGTH, b"\0")


def _fail(path: str, message: str, offset: int) -> DecodeError:
    return DecodeError(f"{path}: {message} (at byte {offset})", path, offset)


def read_header(view: memoryview) -> DataFileHeader:
    """The header of the .ptd in ``view`` (at least 8 bytes); :class:`DecodeError`
    if it is missing, or its length or sizes are impossible."""
    size = len(view)
    if bytes(view[8:12]) != MAGIC:
        raise _fail("header.magic", f"expected {MAGIC!r} after the file identifier "
                    f"(ExecuTorch refuses a .ptd without it), got {bytes(view[8:12])!r}", 8)
    if size < 8 + LENGTH:
        raise _fail("header", f"truncated: the file ends at byte {size}, inside the header", size)
    length = _U32.unpack_from(view, 12)[0]
    if length < LENGTH or 8 + length > size:
        raise _fail("header.length", f"expected {LENGTH} to {size - 8} (the file's "
                    f"size less 8), got {length}", 12)
    fb_offset, fb_size, base, data_size = struct.unpack_from("<4Q", view, 16)
    if LENGTH <= length <= fb_offset and 8 <= fb_size and (not base or fb_offset + fb_size <= base):
        # numbers that agree with one another, but may reach past the end
        expected = max(fb_offset + fb_size, base + data_size if base else 0)
        if expected > size:
            raise DecodeError(f"truncated: the header says the file is {expected:,} bytes, it "
                              f"has {size:,}", "header", size)
    if not length <= fb_offset <= size - 8:
        raise _fail("header.flatbuffer_offset", f"expected {length} (the header's length) to "
                    f"{size - 8}, got {fb_offset}", 16)
    if not 8 <= fb_size <= size - fb_offset:
        raise _fail("header.flatbuffer_size", f"expected 8 to {size - fb_offset} (the rest of "
                    f"the {size}-byte file), got {fb_size}", 24)
    end = fb_offset + fb_size
    if base and not end <= base <= size:
        raise _fail("header.segment_base_offset", f"expected 0 or {end} (the FlatBuffer's end) "
                    f"to {size} (the file's size), got {base}", 32)
    if data_size > size - base:
        raise _fail("header.segment_data_size", f"{data_size} bytes from {base} run past the "
                    f"end of the {size}-byte file", 40)
    return DataFileHeader(length, fb_offset, fb_size, base, data_size)
