"""Whole subtrees of small tables written with one struct each.

Most of a large buffer is often small tables that hold only scalars,
strings, scalar vectors and other such tables. The generated
``_flat_<Table>`` functions read such a subtree into a flat list of values
and return its *shape*: which scalars differ from their defaults, which
children are present, how long each vector or string is. The bytes flatc
writes for the subtree depend only on that shape, on where it starts modulo
8, and on which of its vtables were already written (flatc writes each
distinct vtable once and points later tables at it).

Writer.subtree looks the shape up in its codec's :class:`Plans` and packs
all the values with one ``struct.Struct``. On a new shape, :class:`_Sim`
walks it once as the writer would write it, and compiles the packer. Which
vtables already exist can change the layout of everything after them (a new
vtable is written inline), so each shape has a small tree of
:class:`Decision` nodes, one per vtable it checks, whose leaves are the
compiled :data:`Plan`.

Each layout of a codec (layout.py) has its own Plans: the policy decides
the order of a table's fields and how empty vectors align, and the
encoders built for it decide which scalars count as present.
"""

from __future__ import annotations

import struct
from itertools import count
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from .layout import SIZES, LayoutPolicy, TableLayout, picker
from .schema import Field, Schema
from .values import to_float

# (pack, pick, constants, new vtables (bytes, end), size, alignment, root table's end);
# ends are relative to where the subtree starts.
Plan = Tuple[Any, Any, Tuple[Any, ...], Tuple[Tuple[bytes, int], ...], int, int, int]
# Where a packed value comes from: ("v", index in the flat values),
# ("o", index of a known vtable's offset), ("c", constant), or None for padding.
Source = Optional[Tuple[str, Any]]

# Shapes kept (all tables together), beyond which the cache starts again (a bound on
# memory for buffers with very many distinct string or vector lengths).
MAX_SHAPES = 16384

# Longest scalar vector packed item by item (see items).
SHORT_VECTOR = 16


class Decision:
    """Whether the vtable ``vtable`` exists decides the rest of the plan."""

    __slots__ = ("vtable", "at", "known", "new")

    def __init__(self, vtable: bytes, at: int) -> None:
        self.vtable = vtable
        self.at = at  # end of the table using it, relative to the subtree's start
        self.known: Node = None
        self.new: Node = None


class Shape:
    """The plans of one (table, shape, start % 8): ``first``, the first
    Decision (or the Plan if there is no vtable to check); ``ready``, the
    plan as the writer with serial ``ready[0]`` uses it, once that writer
    has all of its vtables."""

    __slots__ = ("first", "ready")

    def __init__(self) -> None:
        self.first: Node = None
        self.ready: Tuple[int, Ready] = (0, _UNRESOLVED)  # writer serials start at 1


Node = Union[Decision, Plan, None]
# A plan as one writer uses it: (pack, pick, constants, positions of the
# vtables it reuses less their tables' ends, size, root table's end).
Ready = Tuple[Any, Any, Tuple[Any, ...], Sequence[int], int, int]
_UNRESOLVED: Ready = (None, None, (), (), 0, 0)
ShapeKey = Tuple[str, Any, int]
# A table's spec, its scalars' slots, its other fields, and the presence bit of each slot.
TableParts = Tuple[Any, Tuple[int, ...], Tuple[Field, ...], Dict[int, int]]


class Plans:
    """The plans of one schema's flat subtrees in one layout, learnt as shapes appear.

    ``layout_of(table, key)`` is the codec's memo of ``policy.table_layout``.
    """

    def __init__(self, schema: Schema, layout_of: Callable[[str, int], TableLayout],
                 policy: LayoutPolicy) -> None:
        self.schema = schema
        self.layout_of = layout_of
        self.policy = policy
        self.shapes: Dict[ShapeKey, Shape] = {}
        self.max_shapes = MAX_SHAPES
        self._serials = count(1)
        self.parts: Dict[str, TableParts] = {}
        for table, fields in schema.tables.items():
            spec = schema.specs[table]
            self.parts[table] = (spec, tuple(f.slot for f in fields if f.kind == "SCALAR"),
                                 schema.children(table), {slot: bit for bit, slot, _fmt, _flag in spec})

    def new_serial(self) -> int:
        return next(self._serials)

    def new_shape(self, key: ShapeKey) -> Shape:
        if len(self.shapes) >= self.max_shapes:
            self.shapes.clear()
        plans = self.shapes[key] = Shape()
        return plans

    def learn(self, plans: Shape, key: ShapeKey, vtables: Dict[bytes, int], flat_count: int,
               known: List[int]) -> Plan:
        """Compile the plan for a writer's current ``vtables``, file it under the
        decisions that led to it, and append to ``known`` the position, less the
        table's end, of each vtable it reuses (Writer.subtree walks the
        decisions, and calls this at a leaf not compiled yet)."""
        table, shape, start = key
        sim = _Sim(self, start, flat_count, vtables)
        sim.table(table, shape)
        plan = sim.compile()
        parent: Any = plans
        slot = "first"
        for vtable, at, is_known in sim.decisions:
            node = getattr(parent, slot)
            if node is None:
                node = Decision(vtable, at)
                setattr(parent, slot, node)
            parent, slot = node, "known" if is_known else "new"
            if is_known:
                known.append(vtables[vtable] - at)
        setattr(parent, slot, plan)
        return plan


class _Sim:
    """Writes a shape as the writer would, recording struct formats and the
    source of each value instead of bytes. Positions count from the end of
    the buffer, as in the writer, starting at ``start`` (the real start
    modulo 8): alignment inside a subtree never exceeds 8."""

    def __init__(self, plans: Plans, start: int, flat_count: int, vtables: Dict[bytes, int]) -> None:
        self.plans = plans
        self.start = start
        self.pos = start
        self.flat_count = flat_count  # values the _flat_ function produced
        self.next_value = 0
        self.vtables = vtables
        self.written: Dict[bytes, int] = {}  # vtables written by this subtree
        self.decisions: List[Tuple[bytes, int, bool]] = []
        self.known = 0
        self.pieces: List[List[Tuple[str, Source]]] = []  # in writing order
        self.align = 1
        self.root = 0

    def _values(self, count: int) -> int:
        first = self.next_value
        self.next_value += count
        return first

    def _pad(self, count: int) -> None:
        if count:
            self.pieces.append([(f"{count}x", None)])
            self.pos += count

    def vector(self, fmt: str, count: int) -> int:
        """A scalar vector; [ubyte], [bool] and long vectors come as one bytes value."""
        size = SIZES[fmt]
        align = 4 if size < 4 else size
        if count == 0:
            align = self.plans.policy.empty_vector_alignment(align)
        self._pad(-(self.pos + count * size) & (align - 1))
        piece: List[Tuple[str, Source]] = [("I", ("c", count))]
        if fmt in "B?" or count > SHORT_VECTOR:
            piece.append((f"{count * size}s", ("v", self._values(1))))
        else:
            first = self._values(count)
            piece += [(fmt, ("v", first + i)) for i in range(count)]
        self.pieces.append(piece)
        self.pos += 4 + count * size
        self.align = max(self.align, align)
        return self.pos

    def string(self, count: int) -> int:
        pad = -(self.pos + count + 1) & 3
        self.pieces.append([("I", ("c", count)), (f"{count}s", ("v", self._values(1))),
                            (f"{pad + 1}x", None)])
        self.pos += count + 5 + pad
        self.align = max(self.align, 4)
        return self.pos

    def table(self, table: str, shape: Any) -> int:
        """Children in slot order, then the table; consumes values as the
        generated _flat_ function produced them: scalars first, in slot order."""
        spec, scalar_slots, children_rows, bit_of = self.plans.parts[table]
        parts: Tuple[Any, ...] = ()
        presence = shape
        if children_rows:
            presence, parts = (shape[0], shape[1:]) if scalar_slots else ((), shape)
        flags = presence if len(scalar_slots) > 1 else (presence,) if scalar_slots else ()
        bits = sum(bool(flag) << bit_of[slot] for flag, slot in zip(flags, scalar_slots))
        scalar_values = {slot: self._values(1) for slot in scalar_slots}
        children: Dict[int, Tuple[str, Any]] = {}
        unread = iter(parts)
        for f in children_rows:
            slot = f.slot
            part = next(unread)
            if f.kind == "UNION":  # the type id, then the member's shape
                member_shape = next(unread)
                if part is not None:
                    member = self.plans.schema.unions[str(f.elem)][part - 1]
                    children[slot - 1] = ("type", part)
                    children[slot] = ("c", self.table(member, member_shape))
                    bits |= 1 << bit_of[slot]
                continue
            if part is None:
                continue
            bits |= 1 << bit_of[slot]
            if f.kind == "VECTOR":
                children[slot] = ("c", self.vector(str(f.elem), part))
            elif f.kind == "STRING":
                children[slot] = ("c", self.string(part))
            else:
                children[slot] = ("c", self.table(str(f.elem), part))
        placed, table_size, vtable, align = self.plans.layout_of(table, bits << 3 | self.pos & 7)
        end = self.pos + table_size
        piece: List[Tuple[str, Source]] = [("i", self._vtable_offset(vtable, end))]
        at = 4
        for offset, fmt, slot in placed:
            if offset > at:
                piece.append((f"{offset - at}x", None))
            child = children.get(slot)
            if child is None:
                piece.append((fmt, ("v", scalar_values[slot])))
            elif child[0] == "type":
                piece.append((fmt, ("c", child[1])))
            else:  # an offset from the field forward to the child
                piece.append((fmt, ("c", end - offset - child[1])))
            at = offset + SIZES[fmt]
        if table_size > at:
            piece.append((f"{table_size - at}x", None))
        self.pieces.append(piece)
        self.pos = end
        if vtable not in self.written and vtable not in self.vtables:
            self.pieces.append([(f"{len(vtable)}s", ("c", vtable))])
            self.pos += len(vtable)
            self.written[vtable] = self.pos
        self.align = max(self.align, align)
        self.root = end
        return end

    def _vtable_offset(self, vtable: bytes, end: int) -> Source:
        if vtable in self.written:
            return ("c", self.written[vtable] - end)
        known = vtable in self.vtables
        self.decisions.append((vtable, end - self.start, known))
        if known:
            self.known += 1
            return ("o", self.known - 1)
        return ("c", len(vtable))

    def compile(self) -> Plan:
        if self.next_value != self.flat_count:
            raise AssertionError(f"shape consumed {self.next_value} values of {self.flat_count}")
        formats, indices = ["<"], []
        constants: List[Any] = []
        for piece in reversed(self.pieces):
            for fmt, source in piece:
                formats.append(fmt)
                if source is None:
                    continue
                kind, value = source
                if kind == "v":
                    indices.append(value)
                elif kind == "o":
                    indices.append(self.flat_count + value)
                else:
                    indices.append(self.flat_count + self.known + len(constants))
                    constants.append(value)
        new_vtables = tuple((vtable, end - self.start) for vtable, end in self.written.items())
        return (struct.Struct("".join(formats)).pack, picker(indices), tuple(constants),
                new_vtables, self.pos - self.start, self.align, self.root - self.start)


# Readers of vectors for the generated _flat_ functions. A short list of
# ints goes into the values item by item (read inline there); a longer
# vector goes in as its packed bytes, so that a plan's size and the time to
# compile it do not grow with vector lengths.

def items(value: Any, fmt: str, values: List[Any]) -> int:
    if not isinstance(value, (list, tuple)):
        raise TypeError("not a list")
    if fmt in "df":
        value = [x if x.__class__ is float else to_float(x) for x in value]
    count = len(value)
    if count <= SHORT_VECTOR:
        values += value
    else:
        values.append(struct.pack(f"<{count}{fmt}", *value))
    return count
