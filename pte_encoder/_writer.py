"""The buffer the generated table encoders (_encoders.py) write into.

flatc builds a FlatBuffer back to front; so does this writer. Each object is
appended to ``chunks`` in the order flatc writes it, and ``size`` counts the
bytes written so far (positions are counted from the end of the buffer, as
flatc does). After each thousand or so tables of a vector, the chunks are
joined, reversed, into one of ``blocks``, which keeps memory near the output
size; a big blob becomes a block of its own, uncopied. Alignment is always
relative to the end, so padding depends only on ``size``.

A table's layout depends on which of its fields are present, on ``size``
modulo 8 when it starts and on the writer's layout policy
(_layout_policy.py: flatc's or the flatbuffers runtime's order of fields,
and how empty vectors align); :func:`new_layout` computes it once per such
key and policy (a pure function: its memo does not change any output).
"""

from __future__ import annotations

import math
import struct
from itertools import count, repeat
from operator import itemgetter, sub
from typing import Any, Callable, Dict, List, Sequence, Tuple

from ._layout_policy import FLATC, LayoutPolicy, Spec

_PADS = [bytes(n) for n in range(64)]
_CHUNKS_PER_BLOCK = 1024
_BIG_BLOB = 1 << 16
_U32 = struct.Struct("<I").pack
_U32_PAIR = struct.Struct("<II").pack
_SIZES = {c: struct.calcsize(c) for c in "?bBhHiIqQfd"}
_VECTORS: Dict[Tuple[str, int], Tuple[Any, int, int]] = {}
_SERIALS = count(1)

# (pack, pick, offsets, vtable, table size, alignment): see new_layout
Layout = Tuple[Callable[..., bytes], Callable[[List[Any]], Any], Tuple[Tuple[int, int], ...],
               bytes, int, int]


class Writer:
    __slots__ = ("chunks", "blocks", "size", "minalign", "vtables", "aligns", "serial", "policy",
                 "layouts", "shapes")

    def __init__(self, aligns: Sequence[int], policy: LayoutPolicy = FLATC) -> None:
        self.chunks: List[Any] = []
        self.blocks: List[Any] = []
        self.size = 0
        self.minalign = 1
        self.vtables: Dict[bytes, int] = {}
        self.aligns = aligns  # force_align of each aligned field, in _encoders.FORCE_ALIGNED order
        self.serial = next(_SERIALS)  # tells this writer's plans from others' (see _plans.put)
        self.policy = policy
        self.layouts = policy.tables  # table -> key -> Layout, for the policy (see new_layout)
        self.shapes = policy.shapes  # the policy's subtree plans (see _plans.put)


def flush(w: Writer) -> None:
    """Join the chunks written since the last block into one block."""
    if w.chunks:
        w.chunks.reverse()
        w.blocks.append(b"".join(w.chunks))
        w.chunks = []


def _pad(w: Writer, count: int) -> None:
    w.chunks.append(_PADS[count] if count < 64 else bytes(count))
    w.size += count


def string(w: Writer, text: str) -> int:
    data = text.encode("utf-8")
    n = len(data)
    pad = -(w.size + n + 1) & 3
    w.chunks.append(b"".join((_U32(n), data, _PADS[pad + 1])))
    w.size += n + 5 + pad
    if w.minalign < 4:
        w.minalign = 4
    return w.size


def empty_vector(w: Writer, align: int = 4) -> int:
    """An empty vector whose items (or forced alignment) align to ``align``."""
    align = w.policy.empty_vector_alignment(align) if align > 4 else 4
    if w.size & (align - 1):
        _pad(w, -w.size & (align - 1))
    w.chunks.append(b"\0\0\0\0")
    w.size += 4
    if w.minalign < align:
        w.minalign = align
    return w.size


def _vector_struct(fmt: str, n: int) -> Tuple[Any, int, int]:
    """(pack, data size, alignment) of a vector of ``n`` items of ``fmt``."""
    size = _SIZES[fmt]
    entry = _VECTORS[(fmt, n)] = (struct.Struct(f"<I{n}{fmt}").pack, n * size, 8 if size == 8 else 4)
    return entry


def scalars(w: Writer, items: Sequence[Any], fmt: str) -> int:
    """A vector of 4- or 8-byte scalars (``fmt`` i, I, q, Q, f, d)."""
    if items.__class__ is not list and not isinstance(items, (list, tuple)):
        raise TypeError("not a list")
    n = len(items)
    if n == 0:
        return empty_vector(w, _SIZES[fmt])
    packer, size, align = _VECTORS.get((fmt, n)) or _vector_struct(fmt, n)
    try:
        data = packer(n, *items)
    except struct.error:
        if fmt != "d" and fmt != "f":
            raise
        data = packer(n, *[to_float(x) for x in items])
    pad = -(w.size + size) & (align - 1)
    if pad:
        _pad(w, pad)
    w.chunks.append(data)
    w.size += size + 4
    if w.minalign < align:
        w.minalign = align
    return w.size


def bools(w: Writer, items: Sequence[Any]) -> int:
    return blob(w, bool_bytes(items), 4)


def bool_bytes(items: Any) -> bytes:
    if not isinstance(items, (list, tuple)) or any(x is not True and x is not False for x in items):
        raise TypeError("not a list of bools")
    return bytes(items)


def byte_vector(w: Writer, value: Any, align: int) -> int:
    """A [ubyte] vector from a bytes-like object or a list of ints."""
    return blob(w, bytes_like(value), align)


def ubytes(value: Any) -> bytes:
    """A [ubyte] vector's bytes, from a bytes-like object or a sequence of ints."""
    return value if value.__class__ is bytes else bytes(bytes_like(value))


def bytes_like(value: Any) -> Any:
    """``value`` as bytes, bytearray or a flat memoryview, copying only lists."""
    if isinstance(value, (bytes, bytearray)):
        return value
    if isinstance(value, (list, tuple)):
        return bytes(value)
    view = memoryview(value)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def blob(w: Writer, data: Any, align: int) -> int:
    """Bytes as a vector whose data is aligned to ``align`` (at least 4)."""
    n = data.nbytes if data.__class__ is memoryview else len(data)
    if n == 0:
        return empty_vector(w, align)
    if align < 4:
        align = 4
    pad = -(w.size + n) & (align - 1)
    if pad:
        _pad(w, pad)
    if n >= _BIG_BLOB:
        flush(w)
        w.blocks.append(data)
    else:
        w.chunks.append(data)
    w.chunks.append(_U32(n))
    w.size += n + 4
    if w.minalign < align:
        w.minalign = align
    return w.size


def tables(w: Writer, items: Sequence[Any], encode: Callable[[Writer, Any], int]) -> int:
    if items.__class__ is not list and not isinstance(items, (list, tuple)):
        raise TypeError("not a list")
    n = len(items)
    if n == 0:
        return empty_vector(w)
    if n == 1:  # one method, one chain, one delegate: common enough to skip the general case
        position = encode(w, items[0])
        if w.size & 3:
            _pad(w, -w.size & 3)
        w.chunks.append(_U32_PAIR(1, w.size + 4 - position))
        w.size += 8
        if w.minalign < 4:
            w.minalign = 4
        return w.size
    if n <= _CHUNKS_PER_BLOCK:
        positions = list(map(encode, repeat(w), items))
    else:  # long vectors in batches, joining chunks into blocks between them
        positions = []
        for first in range(0, n, _CHUNKS_PER_BLOCK):
            positions += map(encode, repeat(w), items[first:first + _CHUNKS_PER_BLOCK])
            flush(w)
    if len(w.chunks) > _CHUNKS_PER_BLOCK:
        flush(w)
    if w.size & 3:
        _pad(w, -w.size & 3)
    base = w.size + 4 * n
    packer = (_VECTORS.get(("I", n)) or _vector_struct("I", n))[0]
    w.chunks.append(packer(n, *map(sub, range(base, base - 4 * n, -4), positions)))
    w.size = base + 4
    if w.minalign < 4:
        w.minalign = 4
    return w.size


def to_float(value: Any) -> float:
    """A double field's value: a number, or ExecuTorch's "inf" / "-inf"."""
    if isinstance(value, str):
        if value == "inf":
            return math.inf
        if value == "-inf":
            return -math.inf
        raise TypeError("not a number")
    if isinstance(value, bool) or not isinstance(value, (float, int)):
        raise TypeError("not a number")
    return float(value)


def finish_table(w: Writer, start: int, layout: Layout, values: List[Any]) -> int:
    """Write a table whose fields ``values`` (by slot) start at ``start``."""
    pack, pick, offsets, vtable, table_size, align = layout
    for slot, end in offsets:
        values[slot] = start + end - values[slot]
    table = start + table_size
    shared = w.vtables.get(vtable)
    if shared is None:
        w.chunks.append(pack(len(vtable), *pick(values)))
        w.chunks.append(vtable)
        w.size = shared = table + len(vtable)
        w.vtables[vtable] = shared
    else:
        w.chunks.append(pack(shared - table, *pick(values)))
        w.size = table
    if w.minalign < align:
        w.minalign = align
    return table


def new_layout(policy: LayoutPolicy, cache: Dict[int, Layout], key: int, spec: Spec) -> Layout:
    """The :data:`Layout` of ``policy.table_layout`` for finish_table, memoised
    in ``cache`` (the writer's ``layouts[table]``, the policy's own)."""
    placed, table_size, vtable, align = policy.table_layout(key, spec)
    parts, at = ["<i"], 4
    for offset, fmt, _slot in placed:
        parts.append(f"{offset - at}x{fmt}" if offset > at else fmt)
        at = offset + _SIZES[fmt]
    if table_size > at:
        parts.append(f"{table_size - at}x")
    pick = picker([slot for _offset, _fmt, slot in placed])
    is_offset = {slot for _bit, slot, _fmt, flag in spec if flag}
    offsets = tuple((slot, table_size - offset) for offset, _fmt, slot in placed if slot in is_offset)
    layout = (struct.Struct("".join(parts)).pack, pick, offsets, vtable, table_size, align)
    cache[key] = layout
    return layout


def picker(indices: List[int]) -> Callable[[List[Any]], Any]:
    """A function returning the items at ``indices`` of a list, as a tuple."""
    if len(indices) >= 2:
        return itemgetter(*indices)
    if indices:
        only = indices[0]
        return lambda values: (values[only],)
    return lambda values: ()
