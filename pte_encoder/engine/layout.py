"""flatc's rule for laying out one table, and the packer compiled from it.

A table's layout depends on which of its fields are present and on where it
starts modulo 8. These are pure functions; the codec memoises their results
per table.
"""

from __future__ import annotations

import struct
from operator import itemgetter
from typing import Any, Callable, List, Tuple

from .schema import Spec

SIZES = {c: struct.calcsize(c) for c in "?bBhHiIqQfd"}

# (pack, pick, offsets, vtable, table size, alignment): see new_layout
Layout = Tuple[Callable[..., bytes], Callable[[List[Any]], Any], Tuple[Tuple[int, int], ...],
               bytes, int, int]
# (present fields as (offset, format, slot), table size, vtable, alignment): see table_layout
TableLayout = Tuple[Tuple[Tuple[int, str, int], ...], int, bytes, int]


def table_layout(key: int, spec: Spec) -> TableLayout:
    """Lay out a table as flatc does, for ``key`` = presence bits << 3 | start % 8.

    Fields go by size (8, 4, 2, 1), within one size by descending slot, each
    aligned to its size, then the 4-byte offset to the vtable. Returns the
    present fields as (offset in the table, format, slot) in memory order,
    the table's size, its vtable and its alignment.
    """
    start = key & 7
    present = [(slot, fmt) for bit, slot, fmt, _is_offset in spec if key >> 3 >> bit & 1]
    ordered = sorted(present, key=lambda f: (-SIZES[f[1]], -f[0]))
    cursor, ends, align = 0, [], 4
    for slot, fmt in ordered:
        size = SIZES[fmt]
        cursor += -(start + cursor) % size + size
        ends.append((slot, fmt, cursor))
        align = max(align, size)
    table_size = cursor + -(start + cursor) % 4 + 4
    voffsets = [0] * (max((slot for slot, _fmt in present), default=-1) + 1)
    for slot, _fmt, end in ends:
        voffsets[slot] = table_size - end
    vtable = struct.pack(f"<{len(voffsets) + 2}H", 4 + 2 * len(voffsets), table_size, *voffsets)
    placed = tuple(sorted((table_size - end, fmt, slot) for slot, fmt, end in ends))
    return placed, table_size, vtable, align


def new_layout(key: int, spec: Spec) -> Layout:
    """The :data:`Layout` Writer.finish_table takes, for :func:`table_layout`'s arguments."""
    placed, table_size, vtable, align = table_layout(key, spec)
    parts, at = ["<i"], 4
    for offset, fmt, _slot in placed:
        parts.append(f"{offset - at}x{fmt}" if offset > at else fmt)
        at = offset + SIZES[fmt]
    if table_size > at:
        parts.append(f"{table_size - at}x")
    pick = picker([slot for _offset, _fmt, slot in placed])
    is_offset = {slot for _bit, slot, _fmt, flag in spec if flag}
    offsets = tuple((slot, table_size - offset) for offset, _fmt, slot in placed if slot in is_offset)
    return (struct.Struct("".join(parts)).pack, pick, offsets, vtable, table_size, align)


def picker(indices: List[int]) -> Callable[[List[Any]], Any]:
    """A function returning the items at ``indices`` of a list, as a tuple."""
    if len(indices) >= 2:
        return itemgetter(*indices)
    if indices:
        only = indices[0]
        return lambda values: (values[only],)
    return lambda values: ()
