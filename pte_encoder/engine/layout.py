"""The two byte layouts a FlatBuffer can be written in (flatc's and the
flatbuffers runtime's), and how each packs a table: its fields' order and
offsets, its vtable and size (a :data:`TablePacking`), and the struct that
writes it (a :data:`TablePacker`).

Names: a *layout* is always a whole writer's byte style (``"flatc"``,
``"flatbuffers"``: ``pte_encoder.types.LayoutName``); how one table with a given set of
fields is laid out is its *packing*.

A FlatBuffer's meaning fixes neither the order of a table's fields nor all
of its padding, so two writers of the same buffer may write different bytes.
A :class:`LayoutPolicy` holds what differs between the two writers the
engine matches; the writer (writer.py), the table encoders (generated, see
codec.py) and the subtree templates (templates.py) ask it and do the rest the same
way for both.

``flatc``: what ``flatc --binary`` (25.12.19, and 24.3.25) writes for a JSON
input.

``flatbuffers``: what the ``flatbuffers`` Python runtime (25.12.19) writes
through the object API that ``flatc --python --gen-object-api`` generates:
each ``*T`` object's ``Pack`` on a ``flatbuffers.Builder``, then ``Finish``
with the file identifier, and vectors with a ``force_align`` written with
that alignment (the generated ``Pack`` ignores ``force_align``; a writer that
honours it hands it to ``StartVector`` and copies the bytes in as one block).
The rules of that writer:

- Order. Each generated ``Pack`` first packs its children in field order
  (strings, vectors, child tables, union members; a vector of tables packs
  its items first to last, then writes the vector of their offsets), then
  starts the table and adds its fields in field order (a union's type field
  before its value field, as its slot is one less). flatc writes children
  in the same order, so the children's bytes are the same; only the tables
  differ.
- A table's fields. The Builder writes back to front: each field is aligned
  to its own size counting from the end of the buffer (``Prep``), so the
  first field added lies last in memory. flatc instead adds fields biggest
  first (8, 4, 2, 1 bytes), within one size the highest slot first, which
  packs tables tighter; this is the main difference in bytes. Both then add
  the 4-byte offset to the vtable, aligned to 4, and both count any padding
  between fields, including that before the first field added, in the
  table's size.
- Vtables, the same in both. A vtable lists an offset for every slot up to
  the last present one (trailing absent slots are trimmed), after its own
  size and the table's size; it is written just before its table unless an
  identical one was written earlier anywhere in the buffer, which the table
  then points at.
- Defaults. The Builder leaves out a scalar field equal to its default by
  Python's ``!=`` (the generated ``Pack`` passes every scalar, the
  ``Prepend...Slot`` methods compare): so ``-0.0`` (``== 0.0``) is left out
  and reads back as ``+0.0``, NaN (never equal) is always written, ``False``
  is left out of a bool field whose default is ``False``, and a union whose
  type is NONE writes neither field. flatc compares by value as well; the
  engine's ``flatc`` layout alone keeps ``-0.0`` (it compares bit patterns,
  see :attr:`LayoutPolicy.signed_zero`). Offsets (strings, vectors, tables)
  are written whenever present, empty or not: an empty vector is not an
  absent one, in both writers.
- Strings, the same in both: the length, the UTF-8 bytes, a zero byte, and
  zero padding so that the length is 4-aligned.
- Vectors. ``StartVector(item size, count, alignment)`` pads so that the
  length prefix lands 4-aligned right before the items, then pads again so
  that the items start at ``alignment`` (8 for 8-byte scalars, 4 for offsets
  and 4-byte scalars, 1 for bytes and bools, the ``force_align`` of a
  force-aligned vector), each step raising the buffer's alignment
  (``minalign``) to what it aligned to. For a vector with items this is what
  flatc does. For an empty vector flatc aligns only the length (to 4), while
  the Builder still aligns to ``alignment`` and raises ``minalign`` to it:
  an empty ``[long]`` or ``[double]`` vector is 8-aligned, and an empty
  force-aligned ``[ubyte]`` vector is padded to its ``force_align``, which
  then aligns the whole buffer (:attr:`LayoutPolicy.aligned_empty_vectors`).
- Finish, the same in both: pad so that the 8 bytes of root offset plus
  identifier end ``minalign``-aligned, then the identifier, then the root
  offset.

Everything here is a pure function of its arguments; the codec memoises the
results per layout and table.
"""

from __future__ import annotations

import struct
from operator import itemgetter
from typing import Any, Callable, Dict, List, Tuple

from .schema import Spec

__all__ = ["LayoutPolicy", "FLATC", "FLATBUFFERS", "POLICIES", "TablePacker", "TablePacking", "SIZES",
           "picker"]

SIZES = {c: struct.calcsize(c) for c in "?bBhHiIqQfd"}

# (pack, pick, offsets, vtable, table size, alignment): see LayoutPolicy.new_packer
TablePacker = Tuple[Callable[..., bytes], Callable[[List[Any]], Any], Tuple[Tuple[int, int], ...],
                    bytes, int, int]
# (present fields as (offset, format, slot), table size, vtable, alignment): see table_packing
TablePacking = Tuple[Tuple[Tuple[int, str, int], ...], int, bytes, int]


class LayoutPolicy:
    """One writer's layout rules (see the module's docstring).

    ``fields_by_slot``: a table's fields are added in slot order (else
    biggest first, within one size the highest slot first, as flatc does).

    ``signed_zero``: a float field equal to its default by value but not in
    sign (-0.0 against +0.0) is written (the generated encoders read this
    when the codec builds them for the policy).

    ``aligned_empty_vectors``: an empty vector is aligned to its items' (or
    forced) alignment, and raises the buffer's alignment to it, not only to 4.

    ``float32_from_text``: a float (32-bit) field holds the value rounded
    once from its decimal text, as flatc parses JSON (values.float32_field),
    not the double rounded by ``struct`` (the Builder); they differ only for
    a double exactly halfway between two float32s, and beyond the float32
    range (flatc: infinity).
    """

    __slots__ = ("name", "fields_by_slot", "signed_zero", "aligned_empty_vectors", "float32_from_text",
                 "_orders")

    def __init__(self, name: str, *, fields_by_slot: bool, signed_zero: bool,
                 aligned_empty_vectors: bool, float32_from_text: bool = False) -> None:
        self.name = name
        self.fields_by_slot = fields_by_slot
        self.signed_zero = signed_zero
        self.aligned_empty_vectors = aligned_empty_vectors
        self.float32_from_text = float32_from_text
        # Per spec, its fields in the order this writer adds them (see
        # _order): one entry per table of the schemas in use.
        self._orders: Dict[Spec, Tuple[Tuple[int, int, str, int], ...]] = {}

    def _order(self, spec: Spec) -> Tuple[Tuple[int, int, str, int], ...]:
        """The fields of ``spec`` as (presence bit, slot, format, size) in the
        order the writer adds them, whichever are present: by slot, or
        biggest first and within one size the highest slot first."""
        order = self._orders.get(spec)
        if order is None:
            fields = [(bit, slot, fmt, SIZES[fmt]) for bit, slot, fmt, _is_offset in spec]
            if self.fields_by_slot:
                fields.sort(key=lambda f: f[1])
            else:
                fields.sort(key=lambda f: (-f[3], -f[1]))
            order = self._orders[spec] = tuple(fields)
        return order

    def __repr__(self) -> str:
        return f"LayoutPolicy({self.name!r})"

    def empty_vector_alignment(self, alignment: int) -> int:
        """What an empty vector whose items (or force_align) align to
        ``alignment`` is aligned to."""
        return alignment if self.aligned_empty_vectors and alignment > 4 else 4

    def table_packing(self, key: int, spec: Spec) -> TablePacking:
        """How a table is packed for ``key`` = presence bits << 3 | start % 8.

        Each field, in the order the writer adds them, is aligned to its size
        (counting from where the table starts), then the 4-byte offset to the
        vtable. Returns the present fields as (offset in the table, format,
        slot) in memory order, the table's size, its vtable and its alignment.
        """
        start = key & 7
        bits = key >> 3
        cursor, ends, align, last = 0, [], 4, -1
        for bit, slot, fmt, size in self._order(spec):
            if bits >> bit & 1:
                cursor += -(start + cursor) % size + size
                ends.append((slot, fmt, cursor))
                if size > align:
                    align = size
                if slot > last:
                    last = slot
        table_size = cursor + -(start + cursor) % 4 + 4
        voffsets = [0] * (last + 1)
        for slot, _fmt, end in ends:
            voffsets[slot] = table_size - end
        vtable = struct.pack(f"<{last + 3}H", 6 + 2 * last, table_size, *voffsets)
        # Each field added lies before the ones added earlier: memory order is
        # the reverse of the adding order.
        placed = tuple([(table_size - end, fmt, slot) for slot, fmt, end in reversed(ends)])
        return placed, table_size, vtable, align

    def new_packer(self, key: int, spec: Spec) -> TablePacker:
        """The :data:`TablePacker` Writer.finish_table takes, for :meth:`table_packing`'s arguments."""
        placed, table_size, vtable, align = self.table_packing(key, spec)
        parts, at = ["<i"], 4
        for offset, fmt, _slot in placed:
            parts.append(f"{offset - at}x{fmt}" if offset > at else fmt)
            at = offset + SIZES[fmt]
        if table_size > at:
            parts.append(f"{table_size - at}x")
        pick = picker([slot for _offset, _fmt, slot in placed])
        is_offset = {slot for _bit, slot, _fmt, flag in spec if flag}
        offsets = tuple((slot, table_size - offset) for offset, _fmt, slot in placed
                        if slot in is_offset)
        return (struct.Struct("".join(parts)).pack, pick, offsets, vtable, table_size, align)


FLATC = LayoutPolicy("flatc", fields_by_slot=False, signed_zero=True, aligned_empty_vectors=False,
                     float32_from_text=True)
FLATBUFFERS = LayoutPolicy("flatbuffers", fields_by_slot=True, signed_zero=False,
                           aligned_empty_vectors=True)

# The layouts by name; the first is the default.
POLICIES: Dict[str, LayoutPolicy] = {policy.name: policy for policy in (FLATC, FLATBUFFERS)}


def picker(indices: List[int]) -> Callable[[List[Any]], Any]:
    """A function returning the items at ``indices`` of a list, as a tuple."""
    if len(indices) >= 2:
        return itemgetter(*indices)
    if indices:
        only = indices[0]
        return lambda values: (values[only],)
    return lambda values: ()
