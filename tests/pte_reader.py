"""A small reader of .pte files for tests: header, FlatBuffer and segments."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, List, Optional

from executorch_flatbuffer.Program import Program as Reader


@dataclass
class Header:
    program_size: int
    segment_base_offset: int
    segment_data_size: int


@dataclass
class PteFile:
    data: bytes
    header: Optional[Header]
    program: Any  # the reference reader's Program

    def segment(self, index: int) -> bytes:
        seg = self.program.Segments(index)
        if self.header is None:  # written only when all segments are empty
            assert seg.Size() == 0
            return b""
        start = self.header.segment_base_offset + seg.Offset()
        return self.data[start:start + seg.Size()]

    def segment_offset(self, index: int) -> int:
        """Where a segment starts, relative to the segment base offset."""
        offset: int = self.program.Segments(index).Offset()
        return offset


def read_pte(data: bytes) -> PteFile:
    assert data[4:8] == b"ET12"
    header = None
    if data[8:12] == b"eh00":
        magic, length, size, base, seg_size = struct.unpack_from("<4sIQQQ", data, 8)
        assert length == 32
        header = Header(size, base, seg_size)
        assert base >= size and base + seg_size == len(data)
    return PteFile(data, header, Reader.GetRootAs(bytearray(data), 0))


def blobs(pte: PteFile, segment_index: int, offsets: List[int], sizes: List[int]) -> List[bytes]:
    data = pte.segment(segment_index)
    return [data[o:o + n] for o, n in zip(offsets, sizes)]
