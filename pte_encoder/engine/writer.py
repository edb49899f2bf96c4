"""The buffer the generated table encoders write into.

flatc builds a FlatBuffer back to front; so does this writer. Each object is
appended to ``chunks`` in the order flatc writes it, and ``size`` counts the
bytes written so far (positions are counted from the end of the buffer, as
flatc does). After each thousand or so tables of a vector, the chunks are
joined, reversed, into one of ``blocks``, which keeps memory near the output
size; a big blob becomes a block of its own, uncopied. Alignment is always
relative to the end, so padding depends only on ``size``.

The writer's state changes only through its methods. What outlives one
buffer (struct packers, the templates of subtrees) belongs to the codec the
writer is made by, which hands it over at construction, with the layout
policy (layout.py) the templates and empty vectors follow.
"""

from __future__ import annotations

import struct
from itertools import repeat
from operator import sub
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .layout import SIZES, TablePacker, LayoutPolicy
from .templates import FLAT_VECTOR, MAX_TEMPLATE_ALIGN, MIN_RUN, RUN_CAP, RUN_LEAD, RUN_PAYBACK, SMALL_VALUES, UNRESOLVED, Decision, Templates, Ready, Shape, ShapeKey
from .values import StreamedBlob, bool_bytes, bytes_like, text_bytes, to_float

_PADS = [bytes(n) for n in range(64)]
_CHUNKS_PER_BLOCK = 1024
_BIG_BLOB = 1 << 16
_U32 = struct.Struct("<I").pack
_U32_PAIR = struct.Struct("<II").pack

# Vector packers kept per codec, beyond which the cache starts again.
MAX_VECTOR_PACKERS = 4096

# (pack, data size, alignment) of a vector of n items of one format
VectorPacker = Tuple[Any, int, int]


class Writer:
    """One FlatBuffer being written, back to front."""

    __slots__ = ("chunks", "blocks", "size", "minalign", "vtables", "aligns", "serial", "policy",
                 "aligned_templates", "_aligned_mask", "_templates", "_shapes", "_vectors")

    def __init__(self, templates: Templates, vectors: Dict[Tuple[str, int], VectorPacker],
                 aligns: Sequence[int], policy: LayoutPolicy) -> None:
        self.chunks: List[Any] = []
        self.blocks: List[Any] = []
        self.size = 0
        self.minalign = 1
        self.vtables: Dict[bytes, int] = {}  # each vtable written, at its position
        self.aligns = aligns  # force_align of each aligned field, in Schema.force_aligned order
        # Whether templates take subtrees holding force-aligned vectors, and
        # the start modulo what their templates depend on (aligned_subtree).
        self.aligned_templates = True
        self._aligned_mask = 7
        if templates.aligned_indexes:
            largest = max([8] + [aligns[i] for i in templates.aligned_indexes])
            self.aligned_templates = largest <= MAX_TEMPLATE_ALIGN
            self._aligned_mask = largest - 1
        self.policy = policy  # the layout the templates were made for
        self._templates = templates
        self._shapes = templates.shapes
        self._vectors = vectors
        self.serial = next(templates.serials)  # tells this writer's templates from others' (see Templates)

    def align_to(self, align: int) -> None:
        """Note that the buffer must be aligned to ``align`` as a whole.

        Only alignments above 4 need saying: the root is a table, and
        finish_table notes at least 4 for every table (strings, vectors and
        offsets need no more)."""
        if self.minalign < align:
            self.minalign = align

    def flush(self) -> None:
        """Join the chunks written since the last block into one block."""
        if self.chunks:
            self.chunks.reverse()
            self.blocks.append(b"".join(self.chunks))
            self.chunks = []

    def pad(self, count: int) -> None:
        self.chunks.append(_PADS[count] if count < 64 else bytes(count))
        self.size += count

    def string(self, text: str) -> int:
        data = text.encode() if text.__class__ is str else text_bytes(text)
        n = len(data)
        pad = -(self.size + n + 1) & 3
        self.chunks.append(b"".join((_U32(n), data, _PADS[pad + 1])))
        self.size += n + 5 + pad
        return self.size

    def empty_vector(self, align: int = 4) -> int:
        """An empty vector whose items (or force_align) align to ``align``:
        the policy decides whether more than 4 counts."""
        if align != 4:  # below 4 the length's own alignment wins; above, the policy decides
            align = self.policy.empty_vector_alignment(align)
        if self.size & (align - 1):
            self.pad(-self.size & (align - 1))
        self.chunks.append(b"\0\0\0\0")
        self.size += 4
        if self.minalign < align:  # align_to, inline: this runs for every empty vector
            self.minalign = align
        return self.size

    def _empty_vector4(self) -> int:
        """empty_vector(4), the common empty vector, in fewer steps: the
        buffer's alignment needs no note (see align_to)."""
        if self.size & 3:
            self.pad(-self.size & 3)
        self.chunks.append(b"\0\0\0\0")
        self.size += 4
        return self.size

    def _vector_packer(self, fmt: str, n: int) -> VectorPacker:
        """(pack, data size, alignment) of a vector of ``n`` items of ``fmt``."""
        size = SIZES[fmt]
        if len(self._vectors) >= MAX_VECTOR_PACKERS:
            self._vectors.clear()
        entry = self._vectors[(fmt, n)] = (struct.Struct(f"<I{n}{fmt}").pack, n * size,
                                           8 if size == 8 else 4)
        return entry

    def scalars(self, items: Sequence[Any], fmt: str) -> int:
        """A vector of 4- or 8-byte scalars (``fmt`` i, I, q, Q, f, d)."""
        if items.__class__ is not list and not isinstance(items, (list, tuple)):
            raise TypeError("not a list")
        n = len(items)
        if n == 0:
            if fmt in "qQd":  # 8-byte items: the policy decides
                return self.empty_vector(8)
            return self._empty_vector4()
        packer, size, align = self._vectors.get((fmt, n)) or self._vector_packer(fmt, n)
        try:
            data = packer(n, *items)
        except struct.error:
            if fmt != "d" and fmt != "f":
                raise
            data = packer(n, *[to_float(x) for x in items])
        pad = -(self.size + size) & (align - 1)
        if pad:
            self.pad(pad)
        self.chunks.append(data)
        self.size += size + 4
        if self.minalign < align:  # align_to, inline (as in the other hot methods)
            self.minalign = align
        return self.size

    def bools(self, items: Sequence[Any]) -> int:
        return self.blob(bool_bytes(items), 4)

    def byte_vector(self, value: Any, align: int) -> int:
        """A [ubyte] vector from a bytes-like object, a list of ints or a
        :class:`StreamedBlob`."""
        if value.__class__ is bytes:
            return self.blob(value, align)
        if isinstance(value, StreamedBlob):
            return self._streamed(value, align)
        return self.blob(bytes_like(value), align)

    def _streamed(self, data: StreamedBlob, align: int) -> int:
        """A [ubyte] vector whose bytes come later: placed as :meth:`blob`
        places a big blob, as a block of its own, whatever its size."""
        n = len(data)
        if n == 0:
            return self.blob(b"", align)
        if align < 4:
            align = 4
        pad = -(self.size + n) & (align - 1)
        if pad:
            self.pad(pad)
        self.flush()
        self.blocks.append(data)
        self.chunks.append(_U32(n))
        self.size += n + 4
        if self.minalign < align:  # align_to, inline
            self.minalign = align
        return self.size

    def blob(self, data: Any, align: int) -> int:
        """Bytes as a vector whose data is aligned to ``align`` (at least 4)."""
        n = data.nbytes if data.__class__ is memoryview else len(data)
        if n == 0:
            return self.empty_vector(align)
        if align < 4:
            align = 4
        pad = -(self.size + n) & (align - 1)
        if pad:
            self.pad(pad)
        if n >= _BIG_BLOB:
            self.flush()
            self.blocks.append(data)
        else:
            self.chunks.append(data)
        self.chunks.append(_U32(n))
        self.size += n + 4
        if self.minalign < align:  # align_to, inline
            self.minalign = align
        return self.size

    def tables(self, items: Sequence[Any], encode: Callable[[Writer, Any], int]) -> int:
        """A vector of tables, each written by ``encode``."""
        if items.__class__ is not list and not isinstance(items, (list, tuple)):
            raise TypeError("not a list")
        n = len(items)
        if n == 0:  # _empty_vector4, inline: small programs have many empty vectors
            if self.size & 3:
                self.pad(-self.size & 3)
            self.chunks.append(b"\0\0\0\0")
            self.size += 4
            return self.size
        if n == 1:  # common enough (one root item, say) to skip the general case
            position = encode(self, items[0])
            if self.size & 3:
                self.pad(-self.size & 3)
            self.chunks.append(_U32_PAIR(1, self.size + 4 - position))
            self.size += 8
            return self.size
        if n <= _CHUNKS_PER_BLOCK:
            positions = list(map(encode, repeat(self), items))
        else:  # long vectors in batches, joining chunks into blocks between them
            positions = []
            for first in range(0, n, _CHUNKS_PER_BLOCK):
                positions += map(encode, repeat(self), items[first:first + _CHUNKS_PER_BLOCK])
                self.flush()
        if len(self.chunks) > _CHUNKS_PER_BLOCK:
            self.flush()
        return self._offsets(positions)

    def flat_tables(self, vector: str, items: Sequence[Any], collect: Callable[[Any, List[Any]], Any],
                    encode: Callable[[Writer, Any], int]) -> int:
        """A vector of flat tables (see templates.py) whose items ``collect`` reads.
        From 1 to FLAT_VECTOR items, the whole vector is one subtree, named
        ``vector`` ("[Table]"), whose shape is its items' shapes: the
        vectors of small programs (a few values, segments, named data) are
        then written by one template, resolved once per buffer, not one per
        item. Longer ones are written item by item, or a run of items at a
        time (:meth:`_long_flat_tables`); other short ones as :meth:`tables`
        writes them.

        Such a template is compiled only when its key is met a second time: the
        items' shapes repeat far more than their combinations, and a first
        call in a process (many small methods, say) would otherwise compile
        a template per vector. The first time, the items are written one by one
        (their own templates are shared by every vector). In the first buffer of
        the codec's layout (writer serial 1) they always are: most processes
        write one buffer, and would read each vector twice for nothing. A
        vector of more than SMALL_VALUES flat values is written item by
        item too (a bound on the size of a template)."""
        if items.__class__ is not list and not isinstance(items, (list, tuple)):
            raise TypeError("not a list")
        n = len(items)
        if n == 0:  # _empty_vector4, inline (as in tables)
            if self.size & 3:
                self.pad(-self.size & 3)
            self.chunks.append(b"\0\0\0\0")
            self.size += 4
            return self.size
        if n > FLAT_VECTOR:
            return self._long_flat_tables(vector[1:-1], items, collect)
        if self.serial == 1:
            return self.tables(items, encode)
        values: List[Any] = []
        # (a list comprehension: faster than map with repeat on short lists)
        shape = (collect(items[0], values),) if n == 1 else tuple([collect(item, values) for item in items])
        if len(values) > SMALL_VALUES:
            return self.tables(items, encode)
        # (a long shape's hash is worth computing once: subtree takes the templates found)
        templates = self._shapes.get((vector, shape, self.size & 7))
        if templates is None and self._templates.first_sight((vector, shape, self.size & 7)):
            return self.tables(items, encode)
        return self.subtree(vector, shape, values, templates)

    def _long_flat_tables(self, table: str, items: Sequence[Any],
                          collect: Callable[[Any, List[Any]], Any]) -> int:
        """A vector of more than FLAT_VECTOR flat tables ``table``, each item
        read by ``collect`` and written as its own subtree (as its encoder would,
        without the call), except in runs.

        A run: once RUN_LEAD items in a row have had one shape (the same
        templates, found for each item anyway: no comparing of shapes), the
        next items of that shape are put aside, up to RUN_CAP of them (and
        about SMALL_VALUES flat values), and written together by :meth:`_run`.
        Vectors of tables that look alike (all items of one shape, say) are
        then written a run at a time, each with one struct."""
        n = len(items)
        positions: List[int] = []
        add = positions.append
        seen: Dict[ShapeKey, None] = {}  # runs met once in this vector (see _run)
        run_table = "*" + table
        shapes = self._shapes
        serial = self.serial
        chunks = self.chunks
        block = _CHUNKS_PER_BLOCK
        previous: Any = UNRESOLVED  # the templates of the item before (none yet)
        same = 0  # items in a row before this one with those templates
        count = 0  # items put aside, as a run
        run: List[Any] = []  # their values, one after the other
        run_shape: Any = None
        cap = 0
        for item in items:
            if count:  # the item goes straight into the run, if it has the run's shape
                mark = len(run)
                shape = collect(item, run)
                if count < cap and shape == run_shape:
                    count += 1
                    continue
                values = run[mark:]
                del run[mark:]
                self._run(table, run_table, run_shape, run, count, positions, seen,
                          n - len(positions) - count)
                chunks = self.chunks
                if shape == run_shape:  # the run was full: the next one starts
                    run = values
                    count = 1
                    continue
                count = 0
                same = 0
            else:
                values = []
                shape = collect(item, values)
            size = self.size
            templates = shapes.get((table, shape, size & 7))
            if templates is previous:
                same += 1
                if same >= RUN_LEAD:
                    run = values
                    count = 1
                    run_shape = shape
                    cap = min(RUN_CAP, SMALL_VALUES // (len(values) or 1))
                    continue
            else:
                previous = templates
                same = 0
            if templates is not None:
                written, ready = templates.ready
                if written == serial:  # Writer.subtree, its common case inline
                    pack, pick, constants, known, plan_size, root = ready
                    values += constants
                    for at in known:
                        values.append(at - size)
                    chunks.append(pack(*pick(values)))
                    self.size = size + plan_size
                    add(size + root)
                    if len(chunks) > block:
                        self.flush()
                        chunks = self.chunks
                    continue
            else:  # a shape not met yet
                templates = previous = self._templates.new_shape((table, shape, size & 7))
            add(self.subtree(table, shape, values, templates))  # (subtree never replaces chunks)
            if len(chunks) > block:
                self.flush()
                chunks = self.chunks
        if count:
            self._run(table, run_table, run_shape, run, count, positions, seen, 0)
        return self._offsets(positions)

    def _run(self, table: str, run_table: str, shape: Any, values: List[Any], count: int,
             positions: List[int], seen: Dict[ShapeKey, None], left: int) -> None:
        """Write ``count`` tables of one ``shape``, one after another, whose
        flat values are ``values`` (each item's in turn), and add their
        positions to ``positions``; ``left``: how many items of the vector
        come after.

        A run of MIN_RUN tables or more is one subtree, ``run_table``
        ("*Table"), whose shape is (count, shape). Its template is compiled only
        when met a second time in one vector (``seen``) with at least
        RUN_PAYBACK runs' worth of items left: the runs of a long vector of
        tables that look alike repeat (a run ends at RUN_CAP items), a template
        used a few times costs more than it saves, and the same vector
        encoded again then compiles nothing new (its runs meet the same
        vtables, at the same places). The other runs are written item by
        item."""
        size = self.size
        if count >= MIN_RUN:
            key = (run_table, (count, shape), size & 7)
            templates = self._shapes.get(key)
            if templates is not None and templates.ready[0] == self.serial:
                ready = templates.ready[1]
            else:
                learn = key in seen and left >= RUN_PAYBACK * count
                seen[key] = None
                if templates is not None:
                    ready = self._resolve(templates, key, len(values), learn)
                elif learn:
                    ready = self._resolve(self._templates.new_shape(key), key, len(values))
                else:
                    ready = UNRESOLVED
            if ready is not UNRESOLVED:
                pack, pick, constants, known, plan_size, ends = ready
                values += constants
                if known:
                    values += map(sub, known, repeat(size))
                self.chunks.append(pack(*pick(values)))
                self.size = size + plan_size
                positions += map(size.__add__, ends)
                if len(self.chunks) > _CHUNKS_PER_BLOCK:
                    self.flush()
                return
        step = len(values) // count
        found: Dict[int, Shape] = {}  # the items' templates by start % 8: they have one shape
        chunks = self.chunks
        for first in range(0, len(values), step) if step else repeat(0, count):
            size = self.size
            templates = found.get(size & 7)
            if templates is None:
                key = (table, shape, size & 7)
                templates = found[size & 7] = self._shapes.get(key) or self._templates.new_shape(key)
            item = values[first:first + step]
            written, ready = templates.ready
            if written == self.serial:  # Writer.subtree, its common case inline
                pack, pick, constants, known, plan_size, root = ready
                item += constants
                for at in known:
                    item.append(at - size)
                chunks.append(pack(*pick(item)))
                self.size = size + plan_size
                positions.append(size + root)
            else:
                positions.append(self.subtree(table, shape, item, templates))
        if len(chunks) > _CHUNKS_PER_BLOCK:
            self.flush()

    def _offsets(self, positions: List[int]) -> int:
        """The vector of offsets to the tables at ``positions``, first to last."""
        n = len(positions)
        if self.size & 3:
            self.pad(-self.size & 3)
        base = self.size + 4 * n
        packer = (self._vectors.get(("I", n)) or self._vector_packer("I", n))[0]
        self.chunks.append(packer(n, *map(sub, range(base, base - 4 * n, -4), positions)))
        self.size = base + 4
        return self.size

    def small_table(self, table: str, shape: Any, values: List[Any],
                    encode: Callable[[Writer, Any], int], item: Any) -> int:
        """A small table (Schema.small_tables: a method, a chain...) whose
        subtree, read into ``values`` and ``shape`` by its _collect_ function, is
        small: written as one subtree, as :meth:`flat_tables` writes a short
        vector, once it has been met twice; the first time, ``encode``
        writes ``item`` through the writer (its children's templates are shared
        far more than the whole's).

        The generated encoders do not even read a small table this way in
        the first buffer of a codec's layout (writer serial 1): most
        processes write one buffer, which would read each method twice and
        compile nothing (a first call of 40 small methods took 20% longer)."""
        key = (table, shape, self.size & 7)
        templates = self._shapes.get(key)
        if templates is None and self._templates.first_sight(key):
            return encode(self, item)
        return self.subtree(table, shape, values, templates)

    def finish_table(self, start: int, packer: TablePacker, values: List[Any]) -> int:
        """Write a table whose fields ``values`` (by slot) start at ``start``."""
        pack, pick, offsets, vtable, table_size, align = packer
        for slot, end in offsets:
            values[slot] = start + end - values[slot]
        table = start + table_size
        shared = self.vtables.get(vtable)
        if shared is None:
            self.chunks.append(pack(len(vtable), *pick(values)))
            self.chunks.append(vtable)
            self.size = shared = table + len(vtable)
            self.vtables[vtable] = shared
        else:
            self.chunks.append(pack(shared - table, *pick(values)))
            self.size = table
        if self.minalign < align:  # align_to, inline
            self.minalign = align
        return table

    def subtree(self, table: str, shape: Any, values: List[Any], templates: Optional[Shape] = None) -> int:
        """Write the flat subtree ``table`` of ``shape`` whose flat values are
        ``values`` with one struct (see templates.py); returns the root table's position.
        ``templates``: the shape's templates, if the caller has already looked them up.

        The template depends on which of the shape's vtables this writer has
        already written: each shape keeps, as ``ready``, its template for the
        last writer that has all of its vtables; otherwise :meth:`_resolve`
        finds it."""
        size = self.size
        if templates is None:
            key = (table, shape, size & 7)
            templates = self._shapes.get(key) or self._templates.new_shape(key)
        serial, ready = templates.ready
        if serial != self.serial:
            ready = self._resolve(templates, (table, shape, size & 7), len(values))
        root: int  # (a run's template has ends instead: see _run)
        pack, pick, constants, known, plan_size, root = ready
        values += constants
        for at in known:
            values.append(at - size)
        self.chunks.append(pack(*pick(values)))
        self.size = size + plan_size
        return size + root

    def aligned_subtree(self, table: str, shape: Any, values: List[Any]) -> int:
        """:meth:`subtree` for a flat table holding force-aligned vectors
        (Schema.aligned_tables), when ``aligned_templates``: its bytes depend
        on the writer's aligns and on where it starts modulo the largest of
        them (at most MAX_TEMPLATE_ALIGN), so its key holds both."""
        key = (table, (shape, self.aligns), self.size & self._aligned_mask)
        return self._aligned(key, values, self._shapes.get(key))

    def aligned_small_table(self, table: str, shape: Any, values: List[Any],
                            encode: Callable[[Writer, Any], int], item: Any) -> int:
        """:meth:`small_table` for a small table holding force-aligned vectors,
        keyed as :meth:`aligned_subtree` keys a flat one."""
        key = (table, (shape, self.aligns), self.size & self._aligned_mask)
        templates = self._shapes.get(key)
        if templates is None and self._templates.first_sight(key):
            return encode(self, item)
        return self._aligned(key, values, templates)

    def _aligned(self, key: ShapeKey, values: List[Any], templates: Optional[Shape]) -> int:
        """Write the subtree ``key`` of :meth:`aligned_subtree` (its templates
        if already looked up)."""
        size = self.size
        if templates is None:
            templates = self._templates.new_shape(key)
        serial, ready = templates.ready
        if serial != self.serial:
            ready = self._resolve(templates, key, len(values))
        root: int
        pack, pick, constants, known, plan_size, root = ready
        values += constants
        for at in known:
            values.append(at - size)
        self.chunks.append(pack(*pick(values)))
        self.size = size + plan_size
        return size + root

    def _resolve(self, templates: Shape, key: ShapeKey, flat_count: int, learn: bool = True) -> Ready:
        """The template of the subtree ``key`` (of ``flat_count`` flat values)
        starting at ``size``, as this writer uses it: the shape's decisions
        walked (on a small buffer most shapes are met once or twice, so this
        walk runs about once per subtree), the template compiled if it is new,
        and the vtables it writes noted. A template that writes none stays right
        for this writer from then on (``templates.ready``).

        Unless ``learn``, a template not compiled yet is not: the result is
        then UNRESOLVED, nothing noted, and the caller writes the subtree
        another way (see _run)."""
        size = self.size
        vtables = self.vtables
        known: List[int] = []
        # A writer with no vtable yet takes every decision's new branch:
        # the first subtree of each buffer (a whole small method, say)
        # skips the walk.
        node = templates.first if vtables or templates.fresh is None else templates.fresh
        # `__class__ is` is faster than isinstance here; mypy 2 narrows on it,
        # mypy 1 does not, so the ignores say unused-ignore for the newer one.
        while node.__class__ is Decision:
            at = vtables.get(node.vtable)  # type: ignore[union-attr, unused-ignore]
            if at is None:
                node = node.new  # type: ignore[union-attr, unused-ignore]
            else:
                known.append(at - node.at)  # type: ignore[union-attr, unused-ignore]
                node = node.known  # type: ignore[union-attr, unused-ignore]
        if node is None:
            if not learn:
                return UNRESOLVED
            known = []
            node = self._templates.learn(templates, key, vtables, flat_count, known)
        if not vtables:
            templates.fresh = node
        pack, pick, constants, new_vtables, plan_size, align, root = node  # type: ignore[misc]
        ready = (pack, pick, constants, known, plan_size, root)
        if new_vtables:
            for vtable, end in new_vtables:
                vtables[vtable] = size + end
        else:
            templates.ready = (self.serial, ready)
        if align > self.minalign:  # align_to, inline
            self.minalign = align
        return ready

    def finish(self, root: int, identifier: bytes, size_prefixed: bool = False) -> None:
        """Pad to the largest alignment used, then write the identifier and the
        root offset: the buffer is complete, ``size`` is its size. Take it out
        with :meth:`pieces` or :meth:`join`.

        ``size_prefixed``: then a uint32 holding the number of bytes after it,
        as flatc --size-prefixed and Builder.FinishSizePrefixed write it (the
        padding then aligns the prefix's start); take such a buffer out with
        :meth:`join` only."""
        head = 12 if size_prefixed else 8
        pad = -(self.size + head) & (self.minalign - 1)
        chunks = self.chunks
        if pad:
            chunks.append(_PADS[pad] if pad < 64 else bytes(pad))
        self.size += pad + 8
        chunks += (identifier, _U32(self.size - root))
        if size_prefixed:
            chunks.append(_U32(self.size))
            self.size += 4

    def pieces(self) -> List[Any]:
        """The finished buffer's pieces in order: the root offset and the
        identifier first, each a piece of its own (containers insert a header
        after them), then the rest in blocks (a :class:`StreamedBlob` as it
        is). The writer is spent."""
        chunks = self.chunks
        root_offset = chunks.pop()
        identifier = chunks.pop()
        chunks.reverse()  # flush, inline (never empty: the root table was written last)
        blocks = self.blocks
        blocks.append(b"".join(chunks))
        blocks += (identifier, root_offset)
        blocks.reverse()
        self.chunks = self.blocks = []
        return blocks

    def join(self) -> bytes:
        """The finished buffer as one bytes object: every piece is copied once
        (joining the last chunks into a block first, as :meth:`pieces` does,
        would copy them twice). The writer is spent."""
        chunks = self.chunks
        chunks.reverse()
        if self.blocks:  # written before the chunks, so after them in memory, last first
            self.blocks.reverse()
            chunks += self.blocks
        self.chunks = self.blocks = []
        return b"".join(chunks)
