"""Program -> FlatBuffer bytes, laid out exactly as ``flatc --binary`` lays out JSON.

flatc builds a buffer back to front. This module does the same: every object
is appended to a list of chunks in the order flatc writes it, positions are
counted from the end of the buffer, and the chunks are joined in reverse once
at the end. The rules that decide the bytes:

- a table's children (strings, vectors, tables) are written depth-first in
  field order before the table itself; a vector's tables first to last, then
  the vector of their offsets;
- a table's inline fields are written by size (8, 4, 2, 1 bytes; an offset
  counts as 4), within one size by descending slot, each aligned to its size,
  then the 4-byte offset to its vtable; a scalar equal to its default and an
  absent field are left out;
- a vtable identical to one written before is shared, else written just below
  its table;
- vectors and strings are aligned so that their data ends aligned to the
  element size (at least 4, or ``force_align`` when the vector is not empty);
- finishing pads the buffer to the largest alignment used, then writes the
  file identifier and the root offset.

One deviation: flatc drops a double equal to its default by value, turning
-0.0 into +0.0; here -0.0 is written.
"""

from __future__ import annotations

import math
import struct
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from . import _layouts
from .check import check_program
from .errors import EncodeError

__all__ = ["encode_flatbuffer", "check_alignment", "MAX_FLATBUFFER_SIZE"]

# flatc refuses buffers of 2 GiB and more (offsets are signed 32-bit).
MAX_FLATBUFFER_SIZE = 2**31 - 1

_SCALAR, _STRING, _TABLE, _UNION, _VECTOR, _BYTES, _BOOLS, _TABLES = range(8)
_KINDS = {"SCALAR": _SCALAR, "STRING": _STRING, "TABLE": _TABLE, "UNION": _UNION,
          "TABLE_VECTOR": _TABLES}

_U32 = struct.Struct("<I")
_ZEROS = bytes(256)

# The alignment options and the fields whose force_align they replace.
ALIGNMENT_FIELDS = {"constant_tensor_alignment": ("Buffer", "storage"),
                    "delegate_alignment": ("BackendDelegateInlineData", "data")}


class _Plan:
    """How to encode one table: its fields, with the plans of its children."""

    __slots__ = ("name", "fields", "slots")

    def __init__(self, name: str) -> None:
        self.name = name
        self.fields: List[Tuple[Any, ...]] = []
        self.slots = 0


def _build_plans() -> Dict[str, _Plan]:
    plans = {name: _Plan(name) for name in _layouts.TABLES}
    for name, fields in _layouts.TABLES.items():
        plan = plans[name]
        for attr, kind, slot, elem, default, align, _enum in fields:
            sub: Any = None
            if kind == "VECTOR":
                code = _BYTES if elem == "B" else _BOOLS if elem == "?" else _VECTOR
                sub = struct.calcsize(elem or "")
            else:
                code = _KINDS[kind]
            if kind in ("TABLE", "TABLE_VECTOR"):
                sub = plans[elem or ""]
            elif kind == "UNION":
                members = _layouts.UNIONS[elem or ""]
                sub = {m: (i + 1, plans[m]) for i, m in enumerate(members)}
            if kind == "SCALAR" and elem in ("d", "f"):
                default = float(default or 0.0)
            plan.fields.append((attr, code, slot, elem, default, align, sub, (name, attr)))
            plan.slots = slot + 1
    return plans


_PLANS = _build_plans()
_SIZES = {c: struct.calcsize(c) for c in "?bBhHiIqQfd"}


def _layout(slots: Tuple[Tuple[int, str, bool], ...], start: int
            ) -> Tuple[struct.Struct, Tuple[Tuple[int, int], ...], bytes, int, int]:
    """Lay out a table's present fields, as flatc's table writer does.

    ``slots`` holds (slot, format, is_offset) of the present fields; ``start`` is
    the buffer size modulo 8 when the table begins. Returns the struct that
    packs (vtable offset, fields in memory order), the (slot, position) pairs
    in that order (position counted from the table's start, in from-the-end
    terms, for offsets; -1 for scalars), the vtable, the table's size and its
    alignment.
    """
    ordered = sorted(slots, key=lambda s: (-_SIZES[s[1]], -s[0]))
    cursor, ends, align = 0, [], 4
    for slot, fmt, is_offset in ordered:
        size = _SIZES[fmt]
        cursor += -(start + cursor) % size + size
        ends.append((slot, fmt, is_offset, cursor))
        align = max(align, size)
    cursor += -(start + cursor) % 4 + 4
    table_size = cursor
    vtable_len = 4 + 2 * (max((s[0] for s in slots), default=-1) + 1)
    voffsets = [0] * ((vtable_len - 4) // 2)
    layout = []  # (offset from table start, fmt, slot, from-end position or -1)
    for slot, fmt, is_offset, end in ends:
        voffsets[slot] = table_size - end
        layout.append((table_size - end, fmt, slot, end if is_offset else -1))
    layout.sort()
    fmt_parts, at = ["<i"], 4
    for offset, fmt, _slot, _end in layout:
        fmt_parts.append(f"{offset - at}x{fmt}" if offset > at else fmt)
        at = offset + _SIZES[fmt]
    if table_size > at:
        fmt_parts.append(f"{table_size - at}x")
    vtable = struct.pack(f"<{len(voffsets) + 2}H", vtable_len, table_size, *voffsets)
    order = tuple((slot, end) for _offset, _fmt, slot, end in layout)
    return struct.Struct("".join(fmt_parts)), order, vtable, table_size, align


# A memo of _layout, a pure function of its key: it does not change output.
_LAYOUTS: Dict[Tuple[str, Tuple[Tuple[int, str, bool], ...], int], Any] = {}


class _Writer:
    """One encoding: the chunks written so far and the state flatc keeps."""

    def __init__(self, alignments: Dict[Tuple[str, str], int]) -> None:
        self.chunks: List[Any] = []
        self.size = 0
        self.minalign = 1
        self.vtables: Dict[bytes, int] = {}
        self.alignments = alignments

    def pad(self, count: int) -> None:
        if count:
            self.chunks.append(_ZEROS[:count] if count <= 256 else bytes(count))
            self.size += count

    def string(self, text: str) -> int:
        data = text.encode("utf-8")
        n = len(data)
        pad = -(self.size + n + 1) & 3
        self.chunks.append(b"".join((_U32.pack(n), data, _ZEROS[:pad + 1])))
        self.size += n + 5 + pad
        if self.minalign < 4:
            self.minalign = 4
        return self.size

    def blob(self, data: Any, align: int, count: int = -1) -> int:
        """A vector of ``count`` items in ``data``, aligned to ``align``.

        ``count`` defaults to the number of bytes; ``align`` is raised to 4.
        """
        n = data.nbytes if isinstance(data, memoryview) else len(data)
        if n == 0:
            return self.empty_vector()
        align = max(align, 4)
        self.pad(-(self.size + n) & (align - 1))
        self.chunks.append(data)
        self.chunks.append(_U32.pack(n if count < 0 else count))
        self.size += n + 4
        if self.minalign < align:
            self.minalign = align
        return self.size

    def empty_vector(self) -> int:
        self.pad(-self.size & 3)
        self.chunks.append(b"\0\0\0\0")
        self.size += 4
        if self.minalign < 4:
            self.minalign = 4
        return self.size

    def scalars(self, items: Sequence[Any], fmt: str, size: int) -> int:
        n = len(items)
        if n == 0:
            return self.empty_vector()
        if fmt == "d" or fmt == "f":
            items = [_float(x) for x in items]
        data = struct.pack(f"<{n}{fmt}", *items)
        return self.blob(data, size, n)

    def tables(self, items: Sequence[Any], plan: _Plan) -> int:
        if not isinstance(items, (list, tuple)):
            raise TypeError("not a list")
        positions = [self.table(item, plan) for item in items]
        n = len(positions)
        if n == 0:
            return self.empty_vector()
        self.pad(-self.size & 3)
        base = self.size + 4 * n
        offsets = [base - 4 * i - pos for i, pos in enumerate(positions)]
        self.chunks.append(struct.pack(f"<{n}I", *offsets))
        self.chunks.append(_U32.pack(n))
        self.size += 4 * n + 4
        if self.minalign < 4:
            self.minalign = 4
        return self.size

    def table(self, obj: Any, plan: _Plan) -> int:
        values: Dict[int, Any] = {}
        present = []
        for attr, code, slot, fmt, default, align, sub, key in plan.fields:
            value = getattr(obj, attr)
            if code == _SCALAR:
                if fmt == "?":
                    if value is True:
                        values[slot] = 1
                    elif value is not False:
                        raise TypeError("not a bool")
                    else:
                        continue
                elif fmt == "d" or fmt == "f":
                    value = _float(value)
                    if value == default and math.copysign(1.0, value) == math.copysign(1.0, default):
                        continue
                    values[slot] = value
                else:
                    if value == default and isinstance(value, int):
                        continue
                    values[slot] = value
                present.append((slot, "B" if fmt == "?" else fmt, False))
                continue
            if value is None:
                continue
            if code == _STRING:
                values[slot] = self.string(value)
            elif code == _TABLE:
                values[slot] = self.table(value, sub)
            elif code == _UNION:
                type_id, member = sub[type(value).__name__]
                values[slot] = self.table(value, member)
                values[slot - 1] = type_id
                present.append((slot - 1, "B", False))
            elif code == _TABLES:
                values[slot] = self.tables(value, sub)
            elif code == _BYTES:
                values[slot] = self.blob(_bytes(value), self.alignments.get(key, align))
            elif code == _BOOLS:
                values[slot] = self.scalars(_bools(value), "B", 1)
            else:
                if not isinstance(value, (list, tuple)):
                    raise TypeError("not a list")
                values[slot] = self.scalars(value, fmt, sub)
            present.append((slot, "I", True))
        return self.finish_table(plan.name, tuple(present), values)

    def finish_table(self, name: str, present: Tuple[Tuple[int, str, bool], ...],
                     values: Dict[int, Any]) -> int:
        start = self.size
        key = (name, present, start & 7)
        layout = _LAYOUTS.get(key)
        if layout is None:
            layout = _LAYOUTS[key] = _layout(present, start & 7)
        packer, order, vtable, table_size, align = layout
        table_pos = start + table_size
        shared = self.vtables.get(vtable)
        args = [len(vtable) if shared is None else shared - table_pos]
        for slot, end in order:
            args.append(values[slot] if end < 0 else start + end - values[slot])
        self.chunks.append(packer.pack(*args))
        self.size = table_pos
        if shared is None:
            self.chunks.append(vtable)
            self.size += len(vtable)
            self.vtables[vtable] = self.size
        if self.minalign < align:
            self.minalign = align
        return table_pos

    def finish(self, root: int, identifier: bytes) -> List[Any]:
        self.pad(-(self.size + 8) & (self.minalign - 1))
        self.chunks.append(identifier)
        self.size += 8
        self.chunks.append(_U32.pack(self.size - root))
        self.chunks.reverse()
        return self.chunks


def _float(value: Any) -> float:
    if isinstance(value, str):
        if value == "inf":
            return math.inf
        if value == "-inf":
            return -math.inf
        raise TypeError("not a number")
    if isinstance(value, bool) or not isinstance(value, (float, int)):
        raise TypeError("not a number")
    return float(value)


def _bytes(value: Any) -> Any:
    """A bytes-like view of a [ubyte] vector, without copying buffers."""
    if isinstance(value, (bytes, bytearray)):
        return value
    if isinstance(value, (list, tuple)):
        return bytes(value)
    view = memoryview(value)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def _bools(value: Any) -> bytes:
    if not isinstance(value, (list, tuple)) or any(x is not True and x is not False for x in value):
        raise TypeError("not a list of bools")
    return bytes(value)


def check_alignment(name: str, value: Optional[int]) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value & (value - 1):
        raise EncodeError(f"{name}: expected a power of two, got {value!r}")


def resolve_alignments(constant_tensor_alignment: Optional[int],
                       delegate_alignment: Optional[int]) -> Dict[Tuple[str, str], int]:
    """The force_align of each aligned field after the options are applied."""
    options = {"constant_tensor_alignment": constant_tensor_alignment,
               "delegate_alignment": delegate_alignment}
    result = {}
    for option, key in ALIGNMENT_FIELDS.items():
        check_alignment(option, options[option])
        value = options[option]
        result[key] = value if value is not None else _schema_alignment(key)
    return result


def _schema_alignment(key: Tuple[str, str]) -> int:
    for field in _layouts.TABLES[key[0]]:
        if field[0] == key[1]:
            return field[5]
    raise KeyError(key)


def encode_chunks(program: Any, alignments: Dict[Tuple[str, str], int]) -> Tuple[List[Any], int]:
    """The FlatBuffer as a list of bytes-like chunks in order, and its size."""
    writer = _Writer(alignments)
    try:
        root = writer.table(program, _PLANS[_layouts.ROOT_TABLE])
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError,
            IndexError, struct.error) as exc:
        check_program(program)  # raises EncodeError naming the place
        raise EncodeError(f"program: cannot be encoded: {exc}") from exc
    chunks = writer.finish(root, _layouts.FILE_IDENTIFIER)
    if writer.size > MAX_FLATBUFFER_SIZE:
        raise EncodeError(f"program: the FlatBuffer would be {writer.size} bytes, "
                          f"over the format's limit of {MAX_FLATBUFFER_SIZE}")
    return chunks, writer.size


def encode_flatbuffer(program: Any, *, constant_tensor_alignment: Optional[int] = None,
                      delegate_alignment: Optional[int] = None) -> bytes:
    """Encode ``program`` as a FlatBuffer, byte for byte as flatc would.

    ``program`` is a :class:`pte_encoder.Program` or any object tree with the
    same attribute names (such as ``executorch.exir.schema.Program``).
    ``constant_tensor_alignment`` and ``delegate_alignment`` replace the
    schema's ``force_align`` of ``Buffer.storage`` and
    ``BackendDelegateInlineData.data``; any power of two is accepted.
    Raises :class:`EncodeError` for bad input.
    """
    alignments = resolve_alignments(constant_tensor_alignment, delegate_alignment)
    chunks, _size = encode_chunks(program, alignments)
    return b"".join(chunks)
