"""Whole subtrees of small tables written with one struct each.

Most of a large buffer is often small tables that hold only scalars,
strings, scalar vectors and other such tables. The generated
``_collect_<Table>`` functions read such a subtree into a flat list of values
and return its *shape*: which scalars differ from their defaults, which
children are present, how long each vector or string is. The bytes flatc
writes for the subtree depend only on that shape, on where it starts modulo
8, and on which of its vtables were already written (flatc writes each
distinct vtable once and points later tables at it).

A short vector of such tables is one subtree too (Writer.flat_tables), so
is a run of tables of one shape in a longer vector (Writer._run), and so is
a small table (Schema.small_tables: a method, a chain) whose table
vectors are all short: its _collect_ function returns None when one is not, and
the table is then written through the writer (Writer.small_table).

Writer.subtree looks the shape up in its codec's :class:`Templates` and packs
all the values with one ``struct.Struct``. On a new shape, :class:`_Sim`
walks it once as the writer would write it, and compiles the packer. Which
vtables already exist can change the layout of everything after them (a new
vtable is written inline), so each shape has a small tree of
:class:`Decision` nodes, one per vtable it checks, whose leaves are the
compiled :data:`Template`.

Each layout of a codec (layout.py) has its own Templates: the policy decides
the order of a table's fields and how empty vectors align, and the
encoders built for it decide which scalars count as present.

A flat subtree may hold force-aligned byte vectors (Schema.aligned_tables:
a test tensor's data, a program's constant). Its padding then depends on
where it starts modulo those alignments (the writer's ``aligns``), so its
key holds the alignments with the shape, and the start modulo the largest
of them (Writer.aligned_subtree). A writer takes that way only if those
alignments are at most MAX_TEMPLATE_ALIGN (Writer.aligned_templates), and a
blob of BIG_BLOB bytes or more is never packed: the _collect_ function
then gives None and the table is written through the writer.
"""

from __future__ import annotations

import struct
from itertools import count
from typing import Any, Callable, Dict, List, Sequence, Tuple, Union

from .layout import SIZES, LayoutPolicy, TablePacking, picker
from .schema import Schema
from .values import to_float

# (pack, pick, constants, new vtables (bytes, end), size, alignment, root table's end,
# or for a run of tables the tuple of their ends); ends are relative to where the
# subtree starts.
Template = Tuple[Any, Any, Tuple[Any, ...], Tuple[Tuple[bytes, int], ...], int, int, Any]
# A packed value's index in the list Writer.subtree packs from: the flat
# values (0 .. flat count - 1), then the template's constants, then the offsets
# of the vtables it reuses. While a template is walked, a reused vtable's offset
# has the index -1 - k (k: its rank among them), set once the constants are
# all known (see _Sim.compile).

# Shapes kept (all tables together), beyond which the cache starts again (a bound on
# memory for buffers with very many distinct string or vector lengths).
MAX_SHAPES = 16384

# Values packed by all the templates kept, beyond which the cache starts again:
# a template costs about 140 bytes per value (its Struct, picker and constants),
# and a small table's or a vector's template may have up to SMALL_VALUES, so
# the count of shapes alone would allow gigabytes in a process that writes
# many different medium programs twice each. This is about 35 MB.
MAX_TEMPLATE_VALUES = 1 << 18

# Longest scalar vector packed item by item (see items).
SHORT_VECTOR = 16

# Longest vector of flat tables written as one subtree (Writer.flat_tables),
# and longest table vector of a small table's subtree (Writer.small_table):
# longer ones would make a template per combination of their items' shapes.
# 128 (it was 8) takes in the values and instructions of small and
# medium methods (corpus conv: 78 values, 22% less warm time; twomethods,
# 10 values: 18% less); large programs are written item by item as before.
# Templates are still compiled only for subtrees met twice, and never larger
# than SMALL_VALUES.
FLAT_VECTOR = 128

# Runs of tables of one shape in a longer vector (Writer.flat_tables): after
# RUN_LEAD tables of one shape in a row, the next ones of that shape are put
# aside, up to RUN_CAP of them (and about SMALL_VALUES flat values), and
# written as one subtree if they are at least MIN_RUN. Such a template is
# compiled only with RUN_PAYBACK runs of its length still to come in the
# vector: it saves about 0.25 us a table each time it is used, and costs 4
# (small tables: DataSegment) to 8 (an Instruction, its KernelCall and args)
# to compile.
RUN_LEAD = 3
MIN_RUN = 8
RUN_CAP = 32
RUN_PAYBACK = 16

# A force-aligned vector of this many bytes or more is never packed into a
# template (the writer places it as a block of its own, uncopied).
BIG_BLOB = 1 << 16

# Largest force_align the templates take (start modulo it is part of a
# template's key): above it, such subtrees are written through the writer.
MAX_TEMPLATE_ALIGN = 64

# Most flat values a subtree made of a vector (Writer.flat_tables) or of a
# small table (Writer.small_table) may have: a bound on the size of its
# template (and on the time to compile it, about a millisecond).
SMALL_VALUES = 1024


class Decision:
    """Whether the vtable ``vtable`` exists decides the rest of the template."""

    __slots__ = ("vtable", "at", "known", "new")

    def __init__(self, vtable: bytes, at: int) -> None:
        self.vtable = vtable
        self.at = at  # end of the table using it, relative to the subtree's start
        self.known: Node = None
        self.new: Node = None


class Shape:
    """The templates of one (table, shape, start % 8): ``first``, the first
    Decision (or the Template if there is no vtable to check); ``ready``, the
    template as the writer with serial ``ready[0]`` uses it, once that writer
    has all of its vtables; ``fresh``, the template for a writer that has no
    vtable yet (every decision: new), once learnt; ``align``, the largest
    alignment inside the subtree (0 until a template is learnt; the same for
    all its templates)."""

    __slots__ = ("first", "ready", "fresh", "align")

    def __init__(self) -> None:
        self.first: Node = None
        self.ready: Tuple[int, Ready] = (0, UNRESOLVED)  # writer serials start at 1
        self.fresh: Node = None
        self.align = 0


Node = Union[Decision, Template, None]
# A template as one writer uses it: (pack, pick, constants, positions of the
# vtables it reuses less their tables' ends, size, root table's end or ends).
Ready = Tuple[Any, Any, Tuple[Any, ...], Sequence[int], int, Any]
UNRESOLVED: Ready = (None, None, (), (), 0, 0)
ShapeKey = Tuple[str, Any, int]
# A table's scalars as (slot, presence mask) in the order the _collect_
# functions read them, each scalar slot's rank among them, and its other
# fields as (slot, kind, element, presence mask), kind one of _UNION,
# _VECTOR, _STRING, _TABLE, _TABLES (a vector of tables: in a small table's
# subtree, see Writer.small_table), element the vector's format, the table
# (or the vector's item table), or the union's member tables.
TableParts = Tuple[Tuple[Tuple[int, int], ...], Dict[int, int], Tuple[Tuple[int, int, Any, int], ...]]
# (_ALIGNED: a force-aligned [ubyte], its element the field's index in the
# writer's aligns.)
_UNION, _VECTOR, _STRING, _TABLE, _TABLES, _ALIGNED = range(6)
# What a table's stored field holds, in a TablePiece.
_SCALAR, _OFFSET, _TYPE = range(3)
# A table laid out for the walk (see Templates.piece): its struct format, its
# fields in memory order as (_SCALAR, rank among the scalars, offset) or
# (_OFFSET or _TYPE, slot, offset), its size, its vtable and its alignment.
TablePiece = Tuple[str, Tuple[Tuple[int, int, int], ...], int, bytes, int]
_KINDS = {"UNION": _UNION, "VECTOR": _VECTOR, "STRING": _STRING, "TABLE": _TABLE, "TABLE_VECTOR": _TABLES}
# Padding formats, by byte count.
_PAD = [f"{n}x" for n in range(64)]


class Templates:
    """The templates of one schema's flat subtrees in one layout, learnt as shapes appear.

    ``packing_of(table, key)`` is the codec's memo of ``policy.table_packing``.
    """

    def __init__(self, schema: Schema, packing_of: Callable[[str, int], TablePacking],
                 policy: LayoutPolicy) -> None:
        self.schema = schema
        self.packing_of = packing_of
        self.policy = policy
        self.shapes: Dict[ShapeKey, Shape] = {}
        self.seen: Dict[ShapeKey, None] = {}  # vector subtrees, small tables met once (see first_sight)
        self.max_shapes = MAX_SHAPES
        self.max_planned_values = MAX_TEMPLATE_VALUES
        self.planned_values = 0  # values packed by the templates in shapes
        self.serials = count(1)  # each writer takes the next, as its serial
        self.parts: Dict[str, TableParts] = {}
        self.pieces: Dict[Tuple[str, int], TablePiece] = {}
        # flat table -> the indexes in the writer's aligns of the force-aligned
        # vectors in its subtree (see Writer.aligned_subtree), and all of them
        self.aligned = schema.aligned_tables()
        self.aligned_indexes = tuple(sorted({i for found in self.aligned.values() for i in found}))
        aligned_field = {(table, name): index for index, (table, name, _a) in enumerate(schema.force_aligned)}
        for table, fields in schema.tables.items():
            mask = {slot: 1 << bit for bit, slot, _fmt, _flag in schema.specs[table]}
            scalars = tuple((f.slot, mask[f.slot]) for f in fields if f.kind == "SCALAR")
            rows = tuple((f.slot, _ALIGNED, aligned_field[(table, f.name)], mask[f.slot]) if f.force_align
                         else (f.slot, _KINDS[f.kind],
                               schema.unions[str(f.elem)] if f.kind == "UNION" else str(f.elem), mask[f.slot])
                         for f in schema.children(table))
            self.parts[table] = (scalars, {slot: rank for rank, (slot, _m) in enumerate(scalars)}, rows)

    def piece(self, table: str, key: int) -> TablePiece:
        """The table's layout for ``key`` (presence bits << 3 | start % 8) as
        the walk uses it, remembered: most tables of a schema are met with
        few keys, by many shapes."""
        placed, table_size, vtable, align = self.packing_of(table, key)
        scalars, rank, rows = self.parts[table]
        unions = {slot - 1 for slot, kind, _elem, _mask in rows if kind == _UNION}
        formats, fields, at = ["i"], [], 4
        for offset, fmt, slot in placed:
            if offset > at:
                formats.append(_PAD[offset - at])
            formats.append(fmt)
            if slot in rank:
                fields.append((_SCALAR, rank[slot], offset))
            else:
                fields.append((_TYPE if slot in unions else _OFFSET, slot, offset))
            at = offset + SIZES[fmt]
        if table_size > at:
            formats.append(_PAD[table_size - at])
        if len(self.pieces) >= self.max_shapes:
            self.pieces.clear()
        found = self.pieces[(table, key)] = ("".join(formats), tuple(fields), table_size, vtable, align)
        return found

    def first_sight(self, key: ShapeKey) -> bool:
        """Whether the vector subtree or small table ``key``
        (Writer.flat_tables, Writer.small_table) is met for the first time;
        it is noted as met."""
        if key in self.seen:
            return False
        if len(self.seen) >= self.max_shapes:
            self.seen.clear()
        self.seen[key] = None
        return True

    def new_shape(self, key: ShapeKey) -> Shape:
        """The templates of a (table, shape, start % 8) not met yet.

        A subtree aligned to at most 4 inside has the same bytes wherever it
        starts modulo 4 (all its padding depends on that alone, and its templates
        hold positions relative to its start): it shares the templates of its
        twin starting 4 bytes away modulo 8, if that one is known. Most small
        subtrees are met at both, and compiling is most of a first call."""
        if len(self.shapes) >= self.max_shapes or self.planned_values >= self.max_planned_values:
            self.shapes.clear()
            self.planned_values = 0
        table, shape, start = key
        twin = self.shapes.get((table, shape, start ^ 4))
        templates = self.shapes[key] = twin if twin is not None and 0 < twin.align <= 4 else Shape()
        return templates

    def learn(self, templates: Shape, key: ShapeKey, vtables: Dict[bytes, int], flat_count: int,
               known: List[int]) -> Template:
        """Compile the template for a writer's current ``vtables``, file it under the
        decisions that led to it, and append to ``known`` the position, less the
        table's end, of each vtable it reuses (Writer.subtree walks the
        decisions, and calls this at a leaf not compiled yet)."""
        table, shape, start = key
        aligns: Sequence[int] = ()
        if table in self.aligned:  # (shape, the writer's aligns): see Writer.aligned_subtree
            shape, aligns = shape
        sim = _Sim(self, start, flat_count, vtables, aligns)
        if table[0] == "[":  # a vector of flat tables (Writer.flat_tables)
            sim.tables(table[1:-1], shape)
        elif table[0] == "*":  # a run of tables of one shape (Writer.flat_tables)
            sim.run(table[1:], shape[1], shape[0])
        else:
            sim.table(table, shape)
        template = sim.compile()
        self.planned_values += flat_count + len(sim.constants)
        templates.align = sim.align
        parent: Any = templates
        slot = "first"
        for vtable, at, is_known in sim.decisions:
            node = getattr(parent, slot)
            if node is None:
                node = Decision(vtable, at)
                setattr(parent, slot, node)
            parent, slot = node, "known" if is_known else "new"
            if is_known:
                known.append(vtables[vtable] - at)
        setattr(parent, slot, template)
        return template


class _Sim:
    """Writes a shape as the writer would, recording struct formats and the
    index of each packed value (see the indices above) instead of bytes.
    Positions count from the end of the buffer, as in the writer, starting
    at ``start`` (the real start modulo 8, or modulo the largest force_align
    of a subtree holding force-aligned vectors, ``aligns`` the writer's):
    no other alignment inside a subtree exceeds 8. Each piece written is a
    format and the indices of its values; compile joins them in memory order
    (the reverse of writing order)."""

    def __init__(self, templates: Templates, start: int, flat_count: int, vtables: Dict[bytes, int],
                 aligns: Sequence[int] = ()) -> None:
        self.templates = templates
        self.aligns = aligns
        self.start = start
        self.pos = start
        self.flat_count = flat_count  # values the _collect_ function produced
        self.next_value = 0
        self.vtables = vtables
        self.written: Dict[bytes, int] = {}  # vtables written by this subtree
        self.decisions: List[Tuple[bytes, int, bool]] = []
        self.known = 0
        self.constants: List[Any] = []
        self.formats: List[str] = []  # in writing order
        self.indices: List[List[int]] = []  # in writing order
        self.align = 1
        self.root = 0
        self.ends: Any = None  # the ends of a run's tables (see run)

    def _constant(self, value: Any) -> int:
        self.constants.append(value)
        return self.flat_count + len(self.constants) - 1

    def _pad(self, count: int) -> None:
        if count:
            self.formats.append(_PAD[count])
            self.indices.append([])
            self.pos += count

    def vector(self, fmt: str, count: int) -> int:
        """A scalar vector; [ubyte], [bool] and long vectors come as one bytes value."""
        size = SIZES[fmt]
        align = 4 if size < 4 else size
        if count == 0:
            align = self.templates.policy.empty_vector_alignment(align)
        self._pad(-(self.pos + count * size) & (align - 1))
        first = self.next_value
        if fmt in "B?" or count > SHORT_VECTOR:
            self.formats.append(f"I{count * size}s")
            self.indices.append([self._constant(count), first])
            self.next_value = first + 1
        else:
            self.formats.append(f"I{count}{fmt}")
            self.indices.append([self._constant(count), *range(first, first + count)])
            self.next_value = first + count
        self.pos += 4 + count * size
        if align > self.align:
            self.align = align
        return self.pos

    def aligned_vector(self, count: int, force_align: int) -> int:
        """A force-aligned [ubyte] as Writer.blob writes it: its data aligned
        to ``force_align`` (at least 4), or, empty, as the policy aligns it."""
        if count == 0:
            align = 4 if force_align == 4 else self.templates.policy.empty_vector_alignment(force_align)
        else:
            align = force_align if force_align > 4 else 4
        self._pad(-(self.pos + count) & (align - 1))
        self.formats.append(f"I{count}s")
        self.indices.append([self._constant(count), self.next_value])
        self.next_value += 1
        self.pos += 4 + count
        if align > self.align:
            self.align = align
        return self.pos

    def string(self, count: int) -> int:
        pad = -(self.pos + count + 1) & 3
        self.formats.append(f"I{count}s{pad + 1}x")
        self.indices.append([self._constant(count), self.next_value])
        self.next_value += 1
        self.pos += count + 5 + pad
        if self.align < 4:
            self.align = 4
        return self.pos

    def table(self, table: str, shape: Any) -> int:
        """Children in slot order, then the table; consumes values as the
        generated _collect_ function produced them: scalars first, in slot order."""
        scalars, rank, rows = self.templates.parts[table]
        first = self.next_value
        self.next_value = first + len(scalars)
        bits = 0
        parts: Any = ()
        if rows:
            if scalars:
                presence, parts = shape[0], shape[1:]
            else:
                presence = ()
                parts = shape
        else:
            presence = shape
        if scalars:
            if len(scalars) == 1:
                presence = (presence,)
            for (_slot, mask), flag in zip(scalars, presence):
                if flag:
                    bits |= mask
        children: Dict[int, int] = {}  # slot -> the child's position, or a union's type id
        unread = iter(parts)
        for slot, kind, elem, mask in rows:
            part = next(unread)
            if kind == _UNION:  # the type id, then the member's shape
                member_shape = next(unread)
                if part is not None:
                    children[slot - 1] = part
                    children[slot] = self.table(elem[part - 1], member_shape)
                    bits |= mask
                continue
            if part is None:
                continue
            bits |= mask
            if kind == _VECTOR:
                children[slot] = self.vector(elem, part)
            elif kind == _ALIGNED:
                children[slot] = self.aligned_vector(part, self.aligns[elem])
            elif kind == _STRING:
                children[slot] = self.string(part)
            elif kind == _TABLE:
                children[slot] = self.table(elem, part)
            else:  # a vector of tables, its items' shapes
                children[slot] = self.tables(elem, part)
        key = (table, bits << 3 | self.pos & 7)
        fmt, fields, table_size, vtable, align = self.templates.pieces.get(key) or self.templates.piece(*key)
        end = self.pos + table_size
        indices = [self._vtable_offset(vtable, end)]
        for what, at, offset in fields:
            if what == _SCALAR:
                indices.append(first + at)
            elif what == _OFFSET:  # from the field forward to the child
                indices.append(self._constant(end - offset - children[at]))
            else:  # a union's type id
                indices.append(self._constant(children[at]))
        self.formats.append(fmt)
        self.indices.append(indices)
        self.pos = end
        if vtable not in self.written and vtable not in self.vtables:
            self.formats.append(f"{len(vtable)}s")
            self.indices.append([self._constant(vtable)])
            self.pos += len(vtable)
            self.written[vtable] = self.pos
        if align > self.align:
            self.align = align
        self.root = end
        return end

    def tables(self, table: str, shapes: Sequence[Any]) -> int:
        """A vector of tables, as Writer.tables writes it: the items first to
        last, then the vector of the offsets to them."""
        ends = [self.table(table, shape) for shape in shapes]
        self._pad(-self.pos & 3)
        count = len(ends)
        base = self.pos + 4 * count  # where the first item's offset lies
        self.formats.append(f"I{count}I")
        self.indices.append([self._constant(count),
                             *[self._constant(base - 4 * i - end) for i, end in enumerate(ends)]])
        self.pos = self.root = base + 4
        return self.pos

    def run(self, table: str, shape: Any, count: int) -> None:
        """``count`` tables of one shape, one after the other, as a long
        vector's items are written (Writer.flat_tables): the template's root is
        the tuple of their ends."""
        ends = [self.table(table, shape) - self.start for _ in range(count)]
        self.ends = tuple(ends)

    def _vtable_offset(self, vtable: bytes, end: int) -> int:
        if vtable in self.written:
            return self._constant(self.written[vtable] - end)
        known = vtable in self.vtables
        self.decisions.append((vtable, end - self.start, known))
        if known:
            self.known += 1
            return -self.known  # -1 - (its rank): see compile
        return self._constant(len(vtable))

    def compile(self) -> Template:
        if self.next_value != self.flat_count:
            raise AssertionError(f"shape consumed {self.next_value} values of {self.flat_count}")
        indices: List[int] = []
        for piece in reversed(self.indices):
            indices += piece
        if self.known:  # the reused vtables' offsets come after the constants
            after = self.flat_count + len(self.constants)
            indices = [index if index >= 0 else after + ~index for index in indices]
        self.formats.append("<")
        new_vtables = tuple((vtable, end - self.start) for vtable, end in self.written.items())
        return (struct.Struct("".join(reversed(self.formats))).pack, picker(indices),
                tuple(self.constants), new_vtables, self.pos - self.start, self.align,
                self.root - self.start if self.ends is None else self.ends)


# Readers of vectors for the generated _collect_ functions. A short list of
# ints goes into the values item by item (read inline there); a longer
# vector goes in as its packed bytes, so that a template's size and the time to
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
