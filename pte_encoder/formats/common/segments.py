"""What .pte and .ptd files share about the segments after their FlatBuffer:
the alignment checks, zero padding, and placing one segment after another.

Both follow ExecuTorch 1.5.1: a segment starts at the least common multiple
of the file's ``segment_alignment`` and its own alignment (both powers of
two here: the larger) after the end of the previous segment in the table,
and the data is padded by the same rule from its own length.
"""

from __future__ import annotations

import struct
from typing import Any, Dict, List, Optional

from ...engine.check import integer
from ...engine.errors import bad_value

__all__ = ["MAX_SEGMENT_ALIGNMENT", "check_alignment", "check_segment_alignment", "zeros",
           "SegmentData", "insert_header"]

# The largest alignment of segments after the FlatBuffer (segment_alignment,
# named data): 4 GiB, far beyond any page size.
MAX_SEGMENT_ALIGNMENT = 2**32


def check_alignment(name: str, value: Any, limit: int) -> Optional[int]:
    """``value`` as an int if it is a power of two no larger than ``limit``
    (an ``int`` or integer-like, not a bool), None for None; else raises
    :class:`EncodeError` at ``name``."""
    if value is None:
        return None
    number = None if isinstance(value, bool) else integer(value, name)
    if number is None or number < 1 or number & (number - 1):
        raise bad_value(name, value, "a power of two")
    if number > limit:
        raise bad_value(name, value, f"a power of two of at most {limit} (2**{limit.bit_length() - 1})")
    return int(number)


def check_segment_alignment(value: Any) -> int:
    """The ``segment_alignment`` option, which has no None."""
    alignment = check_alignment("segment_alignment", value, MAX_SEGMENT_ALIGNMENT)
    if alignment is None:
        raise bad_value("segment_alignment", None, "a power of two")
    return alignment


_ZEROS = bytes(1 << 20)


def zeros(count: int) -> List[Any]:
    """``count`` zero bytes as chunks: views of one shared block, so that a
    large alignment's padding costs no memory until the bytes are joined."""
    if count <= len(_ZEROS):
        return [_ZEROS[:count]] if count else []
    whole, rest = divmod(count, len(_ZEROS))
    view = memoryview(_ZEROS)
    return [view] * whole + ([view[:rest]] if rest else [])


# Padding of at most this many bytes is made once per file and reused.
_SMALL_PAD = 4096


class SegmentData:
    """The data after a FlatBuffer, built segment by segment: the chunks
    (padding included), their total ``size``, and ``end``, where the last
    segment in the table ends (a program may list segments of its own
    before these, so offsets count from there)."""

    def __init__(self, segment_alignment: int, end: int = 0) -> None:
        self.segment_alignment = segment_alignment
        self.chunks: List[Any] = []
        self.size = 0
        self.end = end
        # Padding between segments comes in few sizes: each small one is
        # made once per file; large ones are views of one shared block.
        self._pads: Dict[int, bytes] = {}

    def add(self, chunks: List[Any], size: int, alignment: int) -> int:
        """Place a segment of ``size`` bytes (``chunks``) that needs
        ``alignment`` (a power of two); return its offset."""
        if alignment < self.segment_alignment:
            alignment = self.segment_alignment
        offset = self.end + -self.end % alignment
        pad = -self.size % alignment
        if pad:
            small = self._pads.get(pad)
            if small is not None:
                self.chunks.append(small)
            elif pad <= _SMALL_PAD:
                small = self._pads[pad] = bytes(pad)
                self.chunks.append(small)
            else:
                self.chunks += zeros(pad)
        if size:
            self.chunks += chunks
        self.size += pad + size
        self.end = offset + size
        return offset

    def add_blobs(self, blobs: List[Any], sizes: List[int], alignments: List[int]) -> List[int]:
        """:meth:`add` each blob (one chunk) of ``sizes`` and ``alignments`` in
        turn, in one loop over locals (a .ptd may have many thousands);
        return their offsets."""
        step, pads, chunks = self.segment_alignment, self._pads, self.chunks
        end, total = self.end, self.size
        offsets: List[int] = []
        for data, size, alignment in zip(blobs, sizes, alignments):
            if alignment < step:
                alignment = step
            offset = end + -end % alignment
            pad = -total % alignment
            if pad:
                small = pads.get(pad)
                if small is not None:
                    chunks.append(small)
                elif pad <= _SMALL_PAD:
                    small = pads[pad] = bytes(pad)
                    chunks.append(small)
                else:
                    chunks += zeros(pad)
            if size:
                chunks.append(data)
            total += pad + size
            end = offset + size
            offsets.append(offset)
        self.end, self.size = end, total
        return offsets


_U32 = struct.Struct("<I")


def insert_header(chunks: List[Any], header: bytes) -> None:
    """Insert ``header`` (padded as the format wants it) after the file
    identifier of the FlatBuffer in ``chunks`` (as the codec returns them:
    the root offset, then the identifier, each a chunk of its own), moving
    the root offset past it: what both .pte and .ptd files do."""
    root_offset = _U32.unpack(chunks[0])[0] + len(header)
    chunks[0:2] = [_U32.pack(root_offset), chunks[1], header]
