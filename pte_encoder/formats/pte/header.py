"""The extended header of a .pte file (``eh00``), written and read.

ExecuTorch inserts it right after the FlatBuffer's file identifier (byte 8)
when the file has segments, padded to the FlatBuffer's largest alignment,
and moves the root offset past it. Its fields, little-endian::

    magic               4 bytes  b"eh00"
    length              uint32   the header's own length (32)
    program_size        uint64   bytes of the FlatBuffer, header included
    segment_base_offset uint64   where segment offsets count from
    segment_data_size   uint64   bytes of segment data (0 if not recorded)

Readers accept a header whose length is at least 24 (older writers did not
write ``segment_data_size``).
"""

from __future__ import annotations

import struct
from typing import Optional

from ...engine.errors import DecodeError
from ..common.payload import Record

__all__ = ["MAGIC", "LENGTH", "MINIMUM_LENGTH", "ExtendedHeader", "pack_header", "read_header"]

MAGIC = b"eh00"
LENGTH = 32
MINIMUM_LENGTH = 24  # magic, length, program size, segment base offset
_HEADER = struct.Struct("<4sIQQQ")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class ExtendedHeader(Record):
    """The ``eh00`` header after the file identifier of a .pte with segments."""

    __slots__ = __match_args__ = ("length", "program_size", "segment_base_offset",
                                  "segment_data_size")

    def __init__(self, length: int, program_size: int, segment_base_offset: int,
                 segment_data_size: int) -> None:
        self.length = length
        self.program_size = program_size  # bytes of the FlatBuffer, header included
        self.segment_base_offset = segment_base_offset  # where segment offsets count from (0: none)
        self.segment_data_size = segment_data_size  # 0 if not recorded


def pack_header(program_size: int, segment_base_offset: int, segment_data_size: int) -> bytes:
    """The header's :data:`LENGTH` bytes, unpadded."""
    return _HEADER.pack(MAGIC, LENGTH, program_size, segment_base_offset, segment_data_size)


def read_header(view: memoryview) -> Optional[ExtendedHeader]:
    """The header of the .pte in ``view``, None if it has none (no ``eh00``
    at byte 8); :class:`DecodeError` if its length or sizes are impossible."""
    if len(view) < 12 or bytes(view[8:12]) != MAGIC:
        return None
    if len(view) < 8 + MINIMUM_LENGTH:
        raise DecodeError(f"truncated: the file ends at byte {len(view)}, inside the extended "
                          "header", "header", len(view))
    length = _U32.unpack_from(view, 12)[0]
    if length < MINIMUM_LENGTH:
        raise DecodeError(f"header.length: expected at least {MINIMUM_LENGTH}, "
                          f"got {length} (at byte 12)", "header.length", 12)
    if 8 + length > len(view):
        raise DecodeError(f"header.length: {length} bytes run past the end of the "
                          f"{len(view)}-byte file (at byte 12)", "header.length", 12)
    program_size = _U64.unpack_from(view, 16)[0]
    base = _U64.unpack_from(view, 24)[0]
    data_size = _U64.unpack_from(view, 32)[0] if length >= 32 else 0
    _check_size(view, length, program_size, base, data_size)
    if not 8 + length <= program_size <= len(view):
        raise DecodeError(f"header.program_size: expected {8 + length} to {len(view)} "
                          f"(the file's size), got {program_size} (at byte 16)",
                          "header.program_size", 16)
    if base and not program_size <= base <= len(view):
        raise DecodeError(f"header.segment_base_offset: expected 0 or {program_size} to "
                          f"{len(view)}, got {base} (at byte 24)",
                          "header.segment_base_offset", 24)
    if base and data_size and base + data_size > len(view):
        raise DecodeError(f"header.segment_data_size: {data_size} bytes from {base} run past "
                          f"the end of the {len(view)}-byte file (at byte 32)",
                          "header.segment_data_size", 32)
    return ExtendedHeader(length, program_size, base, data_size)


def _check_size(view: memoryview, length: int, program_size: int, base: int, data_size: int) -> None:
    """A :class:`DecodeError` saying the file is truncated when the header's
    numbers agree with one another but reach past the file's end."""
    if not 8 + length <= program_size or (base and not program_size <= base):
        return  # numbers that disagree: the checks after this one name them
    size = len(view)
    if base and not data_size:  # no size recorded: the segments start at base, at least
        if base > size:
            raise DecodeError(f"truncated: the header says the segments start at byte {base:,}, "
                              f"the file has {size:,} bytes", "header.segment_base_offset", 24)
        return
    expected = base + data_size if base else program_size
    if expected > size:
        raise DecodeError(f"truncated: the header says the file is {expected:,} bytes, it has "
                          f"{size:,}", "header", size)
