"""A verifying FlatBuffer reader driven by schema records, with the standard library only.

Nothing here knows any particular schema: a :class:`FlatBufferReader` takes
a schema's records (schema.py) and the model classes to build (one per
table, keyword constructor with the schema's field names; enum classes
optional), and turns bytes into a tree of those objects. A codec makes one
for its schema (``Codec.reader``, ``Codec.decode``).

Untrusted input is the normal case, so every read is checked before it is
made, in the spirit of the FlatBuffers verifier but stricter where both
writers we know (flatc and the FlatBuffers runtime's ``Builder``) are:

- every offset, length and vtable lies inside the buffer; an offset of zero
  (pointing at itself) is refused, and as offsets only point forward, no
  object can be reached from itself;
- alignment, relative to the start of the buffer (of its size prefix, when
  it has one: every writer aligns the prefix, not the root offset after it):
  tables and vector lengths to 4, vtables to 2, every scalar (in a table or a
  non-empty vector) to its size (flatc leaves the items of an empty vector
  unaligned);
- a vtable is at least 4 bytes and even, and each field it lists lies
  inside its table (after the table's vtable offset);
- strings are valid UTF-8 and end with the NUL byte FlatBuffers requires;
- union type ids name a member of the union (0 is "none");
- nesting depth is bounded (``max_depth``) and so is total work: the bytes
  of all tables, vectors and strings decoded may add up to at most
  ``work_factor`` times the buffer's size, so a buffer that points at one
  object many times cannot blow up; no length is trusted before it is
  checked against the buffer, so no single allocation exceeds its size.

What is lenient, as in the FlatBuffers verifier: unknown enum values are
kept as plain ``int`` (an older reader meeting a newer writer), bytes not
reached from the root are ignored, and a union whose type is set but whose
value is absent reads as ``None``.

Every failure raises :class:`~.errors.DecodeError` naming the
field path and the byte offset. ``[ubyte]`` vectors come back as
``memoryview`` slices of the input, not copies (fields pointing at one
vector get one view): they stay valid as long as the input object (bytes,
bytearray, mmap) is alive and unchanged.

Speed: how to read a table of one shape (its type, its vtable, its position
modulo 8) is compiled once into a plan, which the reader keeps across
buffers. A plan is interpreted at first, and gets generated Python code once
used ``hot_after`` times (``_generate``); that code makes the interpreter's
checks and hands anything that fails one back to it, so that errors, and the
work charged, are the same either way (tests compare them).
"""

from __future__ import annotations

import itertools
import mmap
import struct
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from .errors import DecodeError
from .schema import Field, Schema

__all__ = ["FlatBufferReader", "byte_view", "HOT_AFTER", "MAX_PLANS"]

# Uses of a plan after which it gets generated code: generating costs a few
# hundred microseconds, about as much as a hundred tables read the slow way,
# so only plans that many tables share (a vector's items) pay for it.
HOT_AFTER = 128
# Plans a reader keeps, beyond which it starts again.
MAX_PLANS = 4096

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_VTABLE_HEAD = struct.Struct("<HH")

# What a table's field does with the value unpacked for it.
_SCALAR, _ENUM, _STRING, _TABLE, _UNION, _VECTOR, _TABLE_VECTOR = range(7)


class _Fail(Exception):
    """A check failed at ``offset``; ``path`` grows, innermost first, as it unwinds."""

    def __init__(self, message: str, offset: Optional[int], past_end: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.past_end = past_end  # something was looked for past the buffer's end
        self.path: List[str] = []


def byte_view(data: Any) -> memoryview:
    """``data`` (bytes, bytearray, memoryview, mmap, ...) as a flat byte memoryview."""
    try:
        view = memoryview(data)
    except TypeError:
        raise DecodeError(f"expected a bytes-like object, got {type(data).__name__}") from None
    if not view.c_contiguous:
        raise DecodeError("expected a contiguous buffer, got a strided view")
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


class _TableType:
    """What is known about one table before seeing any bytes."""

    def __init__(self, name: str, fields: Tuple[Field, ...], cls: Any,
                 enums: Mapping[str, Dict[int, Any]], unions: Mapping[str, Tuple[str, ...]]) -> None:
        self.name = name
        self.fields = fields
        self.names = tuple(f.name for f in fields)
        self.make = _constructor(cls, self.names)
        # the class itself when it takes the fields positionally (generated code calls it)
        self.positional = cls if _positional(cls, self.names) else None
        # The fields' values before any is read, in field order.
        self.defaults: List[Any] = []
        for f in fields:
            default = f.default
            if f.kind == "SCALAR" and f.enum and f.enum in enums:
                default = enums[f.enum].get(int(default or 0), default)
            elif f.kind == "SCALAR" and f.elem == "?":
                default = bool(default)
            self.defaults.append(default if f.kind == "SCALAR" else None)
        self.unions = unions
        self.slots = max((f.slot + 1 for f in fields), default=0)


def _constructor(cls: Any, names: Tuple[str, ...]) -> Callable[[List[Any]], Any]:
    """A fast way to build ``cls`` from the list of its fields' values, in
    ``names``' order.

    A class whose ``__init__`` takes exactly these fields as its positional
    parameters, in this order (the generated models do) is called with them
    positionally: about twice as fast as by keyword. A plain dataclass
    otherwise (no slots, no ``__post_init__``) gets its ``__dict__`` set
    directly, which is what its ``__init__`` would do; anything else is
    called with keyword arguments.
    """
    if _positional(cls, names):
        return lambda values: cls(*values)
    plain = (hasattr(cls, "__dataclass_fields__") and not hasattr(cls, "__slots__")
             and not hasattr(cls, "__post_init__"))
    if plain:
        new = object.__new__

        def make(values: List[Any]) -> Any:
            obj = new(cls)
            obj.__dict__ = dict(zip(names, values))
            return obj
        return make
    return lambda values: cls(**dict(zip(names, values)))


def _positional(cls: Any, names: Tuple[str, ...]) -> bool:
    """Whether ``cls(*values)`` takes the fields ``names`` in this order."""
    code = getattr(getattr(cls, "__init__", None), "__code__", None)
    return (code is not None and code.co_argcount == len(names) + 1
            and tuple(code.co_varnames[1:len(names) + 1]) == names
            and not getattr(code, "co_posonlyargcount", 0))


class _Multi:
    """Unpacks fields one by one, for the rare table whose fields overlap."""

    def __init__(self, parts: List[Tuple[struct.Struct, int]]) -> None:
        self.parts = parts

    def unpack_from(self, data: Any, pos: int) -> Tuple[Any, ...]:
        return tuple(s.unpack_from(data, pos + o)[0] for s, o in self.parts)


class FlatBufferReader:
    """Decodes FlatBuffers of one schema into model objects.

    ``classes`` maps each table name to its model class and, optionally,
    each enum name to an ``IntEnum`` class (values of enums without a class
    stay ``int``). Between calls a reader keeps only the plans it compiled
    for the vtables it met (how to read a table of one shape: bounded in
    number, and the same for any buffer), so one may decode many buffers,
    from several threads. A plan is first interpreted; once used
    ``hot_after`` times, it gets Python code of its own (see ``_generate``),
    which does the same checks in the same order and defers to the
    interpreter whenever one of them fails, so that errors are the same.
    """

    def __init__(self, schema: Schema, classes: Mapping[str, Any], *,
                 max_depth: int = 64, work_factor: int = 4,
                 hot_after: Optional[int] = HOT_AFTER) -> None:
        self.schema = schema
        self.max_depth = max_depth
        self.work_factor = work_factor
        # a plan used this many times gets generated code (None: never, 0: at once)
        self.hot_after = hot_after
        # (table type, table position % 8, the vtable's bytes read) -> plan
        self.plans: Dict[Tuple[str, int, bytes], List[Any]] = {}
        self.enums: Dict[str, Dict[int, Any]] = {}
        for name in schema.enums:
            enum_cls = classes.get(name)
            self.enums[name] = {int(m): m for m in enum_cls} if enum_cls is not None else {}
        self.types = {name: _TableType(name, fields, classes[name], self.enums, schema.unions)
                      for name, fields in schema.tables.items()}

    def decode(self, data: Any, *, size: Optional[int] = None, size_prefixed: bool = False) -> Any:
        """The root table of the FlatBuffer in ``data[:size]`` (all of it by default).

        ``size_prefixed``: the buffer starts with a uint32 giving the number of
        bytes after it, which must be exactly the rest of ``data[:size]`` (as
        flatcc, flatc and the FlatBuffers runtime write it; pass ``size`` to
        read a prefixed buffer followed by other bytes); the root offset and
        the identifier follow it. Positions and alignments still count from
        the first byte, the prefix's.

        Raises DecodeError if anything in it is out of place.
        """
        view = byte_view(data)
        end = len(view) if size is None else size
        if not 0 <= end <= len(view):
            raise DecodeError(f"buffer size {end} is outside the {len(view)} bytes given", "", 0)
        session = _Session(self, view, end, 4 if size_prefixed else 0, data)
        try:
            return session.root()
        except _Fail as exc:
            path = "".join(reversed(exc.path)).lstrip(".")
            where = f" (at byte {exc.offset})" if exc.offset is not None else ""
            if exc.past_end and end == len(view):  # the buffer is the whole input
                where += ", past the end of the data: truncated?"
            raise DecodeError(f"{path or self.schema.root_table}: {exc.message}{where}",
                              path, exc.offset) from None
        except RecursionError:  # cannot happen within max_depth; kept as a guard
            raise DecodeError("nesting too deep for this Python stack", "", None) from None


class _Session:
    """The state of one decode: the bytes, the work left, the table readers of the vtables met."""

    def __init__(self, reader: FlatBufferReader, view: memoryview, size: int, base: int = 0,
                 data: Any = None) -> None:
        self.reader = reader
        # where the FlatBuffer proper starts: 4 after a size prefix, else 0
        self.base = base
        self.view = view
        # struct reads go through the view itself: no copy of the input
        self.data = view
        self.size = size
        self.budget = reader.work_factor * size + 1024
        self.max_depth = reader.max_depth
        self.types = reader.types
        # per table type, per vtable position << 3 | table position % 8: the plan
        self.table_readers: Dict[str, Dict[int, List[Any]]] = {name: {} for name in reader.types}
        # the input itself when slicing it gives bytes (decoded faster than a view's slice)
        self.text = data if isinstance(data, (bytes, bytearray, mmap.mmap)) else None
        # the [ubyte] vectors met, by where their items start
        self.blobs: Dict[int, memoryview] = {}

    # -- entry ----------------------------------------------------------------

    def root(self) -> Any:
        schema = self.reader.schema
        ident = schema.file_identifier
        base = self.base
        if self.size < base + 8:
            what = "a size-prefixed FlatBuffer" if base else "a FlatBuffer"
            raise _Fail(f"{what} is at least {base + 8} bytes, got {self.size}", 0)
        if base:
            declared = _U32.unpack_from(self.data, 0)[0]
            if declared != self.size - base:
                raise _Fail(f"the size prefix gives {declared} bytes after it, but "
                            f"{self.size - base} follow", 0)
        if ident and bytes(self.view[base + 4:base + 8]) != ident:
            raise _Fail(f"expected the file identifier {ident.decode('ascii', 'replace')!r}, "
                        f"got {bytes(self.view[base + 4:base + 8])!r}", base + 4)
        root = _U32.unpack_from(self.data, base)[0]
        if root == 0:
            raise _Fail("the root offset is 0", base)
        return self.table(schema.root_table, base + root, 0)

    # -- checks ---------------------------------------------------------------

    def _within(self, pos: int, length: int, what: str) -> None:
        if pos < 0 or pos + length > self.size:
            raise _Fail(f"{what} of {length} bytes at {pos} runs past the end of the "
                        f"{self.size}-byte buffer", pos, pos >= 0)

    def _charge(self, amount: int, pos: int) -> None:
        self.budget -= amount
        if self.budget < 0:
            raise _Fail(f"too much work: the objects reached add up to more than "
                        f"{self.reader.work_factor}x the buffer's size "
                        "(objects reached many times over?)", pos)

    # -- tables ---------------------------------------------------------------

    def _table_reader(self, ttype: _TableType, vt: int, pos: int) -> List[Any]:
        """Check the vtable at ``vt`` for a ``ttype`` table at ``pos``, and the
        plan of its reads: [inline size, unpacker, read] (see :meth:`_compile`),
        the reader's if it has met this vtable before."""
        if vt < self.base or vt + 4 > self.size:
            raise _Fail(f"vtable offset points to {vt}, outside the buffer", pos, vt + 4 > self.size)
        if vt & 1:
            raise _Fail(f"vtable at {vt} is not 2-byte aligned", pos)
        vsize, tsize = _VTABLE_HEAD.unpack_from(self.data, vt)
        if vsize < 4 or vsize & 1:
            raise _Fail(f"vtable at {vt} has size {vsize}: expected an even size of at least 4", vt)
        self._within(vt, vsize, "vtable")
        if tsize < 4:
            raise _Fail(f"vtable at {vt} gives the table {tsize} bytes: expected at least 4", vt + 2)
        # only the slots this table has: a huge vtable costs no more than a small one
        entries = min(vsize // 2 - 2, ttype.slots)
        # everything the plan depends on: the type, the table's position % 8,
        # its size and its fields' offsets
        key = (ttype.name, pos & 7, bytes(self.view[vt + 2:vt + 4 + 2 * entries]))
        plans = self.reader.plans
        plan = plans.get(key)
        if plan is None:
            tsize, unpacker, actions = self._compile(ttype, vt, pos, tsize, entries)
            plan = [tsize, unpacker, None]
            plan[2] = _interpreted(self.reader, plan, ttype, actions)
            if len(plans) >= MAX_PLANS:
                plans.clear()
            plans[key] = plan
        return plan

    def _compile(self, ttype: _TableType, vt: int, pos: int, tsize: int, entries: int) -> Any:
        """The reads of the fields of a ``ttype`` table at ``pos`` whose vtable
        at ``vt`` (checked) has ``entries`` slots: (inline size, unpacker, actions)."""
        slots = [_U16.unpack_from(self.data, vt + 4 + 2 * i)[0] for i in range(entries)]

        def offset_of(slot: int) -> int:
            return slots[slot] if slot < entries else 0

        inline: List[Tuple[int, str]] = []  # (offset in table, struct format)
        actions: List[Tuple[int, int, Any, int, int]] = []  # (code, field index, arg, value index, offset)

        def add(off: int, fmt: str) -> int:
            size = struct.calcsize(fmt)
            if off < 4 or off + size > tsize:
                raise _Fail(f"vtable at {vt} puts a field at offset {off}, outside the "
                            f"table's {tsize} bytes", vt)
            if (pos + off) % size:
                raise _Fail(f"field at {pos + off} is not {size}-byte aligned", pos + off)
            inline.append((off, fmt))
            return len(inline) - 1

        # each action: (code, the field's index in ttype.fields, argument,
        # index of its value in the unpacked tuple, its offset in the table)
        for i, f in enumerate(ttype.fields):
            if f.kind == "UNION":
                toff, voff = offset_of(f.slot - 1), offset_of(f.slot)
                tix = add(toff, "B") if toff else -1
                vix = add(voff, "I") if voff else -1
                if tix >= 0 or vix >= 0:
                    actions.append((_UNION, i, (tix, ttype.unions[f.elem or ""]), vix, voff))
                continue
            off = offset_of(f.slot)
            if not off:
                continue
            if f.kind == "SCALAR":
                fmt = f.elem or ""
                enum = self.reader.enums.get(f.enum) if f.enum else None
                code = _ENUM if enum else _SCALAR
                actions.append((code, i, enum, add(off, fmt), off))
            elif f.kind == "STRING":
                actions.append((_STRING, i, None, add(off, "I"), off))
            elif f.kind == "TABLE":
                actions.append((_TABLE, i, f.elem, add(off, "I"), off))
            elif f.kind == "VECTOR":
                enum = self.reader.enums.get(f.enum) if f.enum else None
                actions.append((_VECTOR, i, (f.elem, enum), add(off, "I"), off))
            else:
                actions.append((_TABLE_VECTOR, i, f.elem, add(off, "I"), off))

        order = sorted(range(len(inline)), key=lambda i: inline[i][0])
        at, fmt, overlap = 0, "<", False
        for i in order:
            off, item = inline[i]
            if off < at:
                overlap = True
                break
            fmt += f"{off - at}x{item}" if off > at else item
            at = off + struct.calcsize(item)
        unpacker: Any
        if overlap:
            unpacker = _Multi([(struct.Struct("<" + item), off) for off, item in inline])
        else:
            # one unpack in offset order; map each action to its place in it
            unpacker = struct.Struct(fmt)
            place = {i: n for n, i in enumerate(order)}
            actions = [(c, name, (place[arg[0]] if arg[0] >= 0 else -1, arg[1])
                        if c == _UNION else arg, place[ix] if ix >= 0 else -1, off)
                       for c, name, arg, ix, off in actions]
        return tsize, unpacker, actions

    def table(self, name: str, pos: int, depth: int) -> Any:
        if pos & 3 or pos + 4 > self.size:
            raise _Fail(f"a {name} table at {pos}: expected a 4-byte aligned position "
                        "inside the buffer", pos, pos + 4 > self.size)
        if depth >= self.max_depth:
            raise _Fail(f"nesting deeper than {self.max_depth} levels", pos)
        vt = pos - _I32.unpack_from(self.data, pos)[0]
        key = vt << 3 | pos & 7
        found = self.table_readers[name].get(key)
        if found is None:
            found = self.table_readers[name][key] = self._table_reader(self.types[name], vt, pos)
        tsize, unpacker, read = found
        if pos + tsize > self.size:
            raise _Fail(f"a {name} table of {tsize} bytes at {pos} runs past the end", pos, True)
        self.budget -= tsize
        if self.budget < 0:
            self._charge(0, pos)
        return read(self, pos, unpacker.unpack_from(self.data, pos), depth)

    def fields(self, ttype: _TableType, actions: Any, pos: int, values: Tuple[Any, ...],
               depth: int) -> Any:
        """The ``ttype`` table at ``pos`` whose inline ``values`` are unpacked,
        read by interpreting its plan's ``actions``."""
        out = ttype.defaults.copy()
        field = 0
        try:
            for code, field, arg, ix, off in actions:
                if code == _SCALAR:
                    out[field] = values[ix]
                elif code == _ENUM:
                    v = values[ix]
                    out[field] = arg.get(v, v)
                elif code == _TABLE:
                    out[field] = self.table(arg, self._target(pos + off, values[ix]), depth + 1)
                elif code == _UNION:
                    out[field] = self._union(pos, arg, values, ix, off, depth)
                elif code == _VECTOR:
                    out[field] = self.vector(arg, self._target(pos + off, values[ix]))
                elif code == _STRING:
                    out[field] = self.string(self._target(pos + off, values[ix]))
                else:
                    out[field] = self.table_vector(arg, self._target(pos + off, values[ix]), depth)
        except _Fail as exc:
            exc.path.append("." + ttype.names[field])
            raise
        return ttype.make(out)

    def _target(self, at: int, offset: int) -> int:
        if offset == 0:
            raise _Fail("offset 0 points at itself", at)
        return at + offset

    def _union(self, pos: int, arg: Any, values: Tuple[Any, ...], vix: int, off: int,
               depth: int) -> Any:
        tix, members = arg
        type_id = values[tix] if tix >= 0 else 0
        if type_id == 0 or vix < 0:
            return None
        if type_id > len(members):
            raise _Fail(f"union type {type_id} is not a member (expected 1 to {len(members)})",
                        pos)
        return self.table(members[type_id - 1], self._target(pos + off, values[vix]), depth + 1)

    # -- vectors and strings --------------------------------------------------

    def _length(self, pos: int, item_size: int, what: str) -> int:
        """The item count of the vector or string at ``pos``, checked to fit."""
        if pos & 3 or pos + 4 > self.size:
            raise _Fail(f"a {what} at {pos}: expected a 4-byte aligned position inside "
                        "the buffer", pos, pos + 4 > self.size)
        n: int = _U32.unpack_from(self.data, pos)[0]
        if pos + 4 + n * item_size > self.size:
            count = f"{n} bytes" if what == "string" else f"{n} items of {item_size} bytes"
            raise _Fail(f"a {what} of {count} at {pos} runs past the end of the "
                        f"{self.size}-byte buffer", pos, True)
        self.budget -= 4 + n * item_size
        if self.budget < 0:
            self._charge(0, pos)
        return n

    def vector(self, arg: Tuple[str, Any], pos: int) -> Any:
        fmt, enum = arg
        size = struct.calcsize(fmt)
        n = self._length(pos, size, "vector")
        start = pos + 4
        if start % size and n:  # flatc leaves empty vectors unaligned
            raise _Fail(f"vector items at {start} are not {size}-byte aligned", start)
        if fmt == "B" and not enum:  # one view per vector, however many fields point at it
            blob = self.blobs.get(start)
            if blob is None:
                blob = self.blobs[start] = self.view[start:start + n]
            return blob
        items = list(struct.unpack_from(f"<{n}{fmt}", self.data, start))
        if enum:
            items = [enum.get(v, v) for v in items]
        return items

    def string(self, pos: int) -> str:
        n = self._length(pos, 1, "string")
        end = pos + 4 + n
        if end >= self.size or self.data[end] != 0:
            raise _Fail(f"the string of {n} bytes at {pos} lacks its terminating NUL", end,
                        end >= self.size)
        try:
            return str(self.view[pos + 4:end], "utf-8")
        except UnicodeDecodeError as exc:
            raise _Fail(f"the string at {pos} is not valid UTF-8 ({exc.reason} at its "
                        f"byte {exc.start})", pos + 4 + exc.start) from None

    def table_vector(self, name: str, pos: int, depth: int) -> List[Any]:
        n = self._length(pos, 4, "vector of tables")
        start = pos + 4
        data = self.data
        offsets = struct.unpack_from(f"<{n}I", data, start)
        # self.table inline, for the items whose checks all pass (the common
        # case: a vector's items share their plans); any other goes through
        # self.table, which names what is wrong
        table = self.table
        # (at the depth limit, every item goes through self.table, which refuses it)
        plans = self.table_readers[name] if depth + 1 < self.max_depth else {}
        size = self.size
        i32 = _I32.unpack_from
        child = depth + 1
        out: List[Any] = []
        append = out.append
        at = start
        try:
            for offset in offsets:
                if offset == 0:
                    raise _Fail("offset 0 points at itself", at)
                p = at + offset
                found = plans.get((p - i32(data, p)[0]) << 3 | p & 7) \
                    if not p & 3 and p + 4 <= size else None
                if found is None:
                    append(table(name, p, child))
                else:
                    tsize, unpacker, read = found
                    if p + tsize > size:
                        append(table(name, p, child))
                    else:
                        self.budget -= tsize
                        if self.budget < 0:
                            self._charge(0, p)
                        append(read(self, p, unpacker.unpack_from(data, p), child))
                at += 4
        except _Fail as exc:
            exc.path.append(f"[{(at - start) // 4}]")
            raise
        return out


# -- plans: interpreted, then generated ----------------------------------------

def _interpreted(reader: FlatBufferReader, plan: List[Any], ttype: _TableType,
                 actions: Any) -> Callable[[_Session, int, Tuple[Any, ...], int], Any]:
    """The read function of a new ``plan``: the interpreter
    (:meth:`_Session.fields`), which puts generated code in the plan's place
    once the plan has been used ``reader.hot_after`` times (at once if 0)."""
    hot = reader.hot_after
    if hot is not None and hot <= 0:
        return _generate(reader, ttype, actions)
    fields = _Session.fields
    if hot is None:
        def read(s: _Session, pos: int, values: Tuple[Any, ...], depth: int) -> Any:
            return fields(s, ttype, actions, pos, values, depth)
        return read
    uses = itertools.count(1)

    def count_and_read(s: _Session, pos: int, values: Tuple[Any, ...], depth: int) -> Any:
        if next(uses) == hot:
            plan[2] = _generate(reader, ttype, actions)
        return fields(s, ttype, actions, pos, values, depth)
    return count_and_read


def _generate(reader: FlatBufferReader, ttype: _TableType,
              actions: Any) -> Callable[[_Session, int, Tuple[Any, ...], int], Any]:
    """Python code doing what :meth:`_Session.fields` does with ``actions``,
    unrolled: each field's value straight from the unpacked values, strings
    and child tables read inline when all their checks pass, and handed to
    :meth:`_Session.string` and :meth:`_Session.table` otherwise (which raise
    the error the interpreter would, or read them if the inline checks were
    only conservative). The budget is charged as those would charge it. Only
    numbers and fixed text go into the source; everything else is bound by
    name in its namespace."""
    ns: Dict[str, Any] = {"_Fail": _Fail, "u32": _U32.unpack_from, "i32": _I32.unpack_from,
                          "names": ttype.names}
    args = []
    for i, default in enumerate(ttype.defaults):
        ns[f"d{i}"] = default
        args.append(f"d{i}")
    lines: List[str] = []
    for code, field, arg, ix, off in actions:
        v = f"v[{ix}]"
        if code == _SCALAR:
            args[field] = v
            continue
        if code == _ENUM:
            ns[f"e{field}"] = arg
            args[field] = f"e{field}.get({v}, {v})"
            continue
        ns[f"a{field}"] = arg
        out = args[field] = f"f{field}"
        lines.append(f"field = {field}")
        if code == _UNION:
            lines.append(f"{out} = s._union(pos, a{field}, v, {ix}, {off}, depth)")
            continue
        lines += [f"o = {v}",
                  "if o == 0:",
                  f"    raise _Fail('offset 0 points at itself', pos + {off})",
                  f"p = pos + {off} + o"]
        if code == _STRING:
            lines += ["n = u32(data, p)[0] if not p & 3 and p + 4 <= size else -1",
                      "e = p + 4 + n",
                      "if n >= 0 and e < size and data[e] == 0:",
                      "    s.budget -= 4 + n",
                      "    if s.budget < 0:",
                      "        s._charge(0, p)",
                      "    try:",
                      f"        {out} = text[p + 4:e].decode() if text is not None "
                      "else str(data[p + 4:e], 'utf-8')",
                      "    except UnicodeDecodeError:",
                      "        s.budget += 4 + n",
                      f"        {out} = s.string(p)",
                      "else:",
                      f"    {out} = s.string(p)"]
        elif code == _TABLE:
            lines += [f"c = s.table_readers[a{field}].get((p - i32(data, p)[0]) << 3 | p & 7) "
                      f"if depth < {reader.max_depth - 1} and not p & 3 and p + 4 <= size else None",
                      "if c is None:",
                      f"    {out} = s.table(a{field}, p, depth + 1)",
                      "else:",
                      "    t, unpacker, read = c",
                      "    if p + t > size:",
                      f"        {out} = s.table(a{field}, p, depth + 1)",
                      "    else:",
                      "        s.budget -= t",
                      "        if s.budget < 0:",
                      "            s._charge(0, p)",
                      f"        {out} = read(s, p, unpacker.unpack_from(data, p), depth + 1)"]
        elif code == _VECTOR:
            lines.append(f"{out} = s.vector(a{field}, p)")
        else:
            lines.append(f"{out} = s.table_vector(a{field}, p, depth)")
    if ttype.positional is not None:
        ns["make"] = ttype.positional
        result = f"make({', '.join(args)})"
    else:
        ns["make"] = ttype.make
        result = f"make([{', '.join(args)}])"
    src = ["def read(s, pos, v, depth):"]
    if lines:
        # (field: set before each read that may fail, named by the handler)
        src += ["    data = s.data", "    size = s.size"]
        src += ["    text = s.text"] if any(a[0] == _STRING for a in actions) else []
        src += ["    try:"]
        src += ["        " + line for line in lines]
        src += ["    except _Fail as exc:", "        exc.path.append('.' + names[field])", "        raise"]
    src.append(f"    return {result}")
    exec(compile("\n".join(src), f"<reader of {ttype.name}>", "exec"), ns)
    read: Callable[[_Session, int, Tuple[Any, ...], int], Any] = ns["read"]
    return read
