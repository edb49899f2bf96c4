"""Which ``encode_program`` options write a decoded .pte back as the same bytes.

A .pte does not record the options it was written with, but they leave
traces, and :func:`infer_options` reads them where they are, in time linear
in the file:

- ``segment_alignment``: the segment base offset and the segment offsets are
  rounded up to it (named blobs to their own alignment too);
- ``constant_tensor_alignment``: the constants are padded to it, so their
  offsets show it;
- both FlatBuffer alignments (``constant_tensor_alignment``,
  ``delegate_alignment``): the extended header is padded to the larger (its
  zero bytes, with the FlatBuffer's own leading padding, which is shorter
  than that alignment, tell its size), and each force-aligned vector
  (``Buffer.storage``, ``BackendDelegateInlineData.data``; empty ones too in
  the flatbuffers layout) starts at a position its alignment divides;
- the layout: flatc adds a table's fields biggest first, the flatbuffers
  runtime in field order, so the root table's field offsets tell which wrote
  it.

The defaults are preferred where they fit, and the answer is checked by
encoding again: at most :data:`MAX_CHECKS` candidates per layout, the likely
layout first.

What cannot be recovered: an alignment that left no trace (any value that
gives the same bytes is as good), and the exact bytes of a file laid out by
any other FlatBuffers writer (its meaning is read, but re-encoding writes
flatc's layout).
"""

from __future__ import annotations

import math
import operator
import struct
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, cast

from ...engine.errors import EncodeError
from ...schemas.program.codec import PROGRAM
from ..common.payload import DataEntry, NamedDataOutput
from .header import LENGTH as HEADER_LENGTH
from .write import write_program
from .read import PteFile

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from .types import InferredOptions

__all__ = ["infer_options", "options_to_json_form", "guess_layout", "MAX_CHECKS"]

_DEFAULT_SEGMENT_ALIGNMENT = 128
_DEFAULT_FORCE_ALIGN = 16  # the schema's force_align, and the default tensor alignment
_MAX_ALIGNMENT = 1 << 24
_MAX_FLATBUFFER_ALIGNMENT = 1 << 30
_DEFAULT_LAYOUT = "flatc"
_LAYOUTS = (_DEFAULT_LAYOUT, "flatbuffers")
#: Candidates checked by encoding, per layout.
MAX_CHECKS = 3

_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U16 = struct.Struct("<H")


def _round_up(value: int, alignment: int) -> int:
    return value + -value % alignment


def _powers(limit: int = _MAX_ALIGNMENT) -> List[int]:
    return [1 << k for k in range(limit.bit_length()) if 1 << k <= limit]


def _lowest_bit(value: int, limit: int) -> int:
    """The largest power of two dividing ``value`` (``limit`` for 0)."""
    return min(value & -value, limit) if value else limit


def _segment_alignment(pte: PteFile) -> Tuple[int, Dict[int, int]]:
    """The segment alignment that places the segments where they are, and the
    alignment each named-data segment needs beyond it."""
    header, stored = pte.header, pte.stored
    if header is None or not header.segment_base_offset or stored is None:
        return _DEFAULT_SEGMENT_ALIGNMENT, {}
    named = {entry.segment_index for entry in stored.named_data or []}
    table = stored.segments or []
    for candidate in [_DEFAULT_SEGMENT_ALIGNMENT] + _powers():
        if _round_up(header.program_size, candidate) != header.segment_base_offset:
            continue
        extra: Dict[int, int] = {}
        end = 0
        for index, segment in enumerate(table):
            at = _round_up(end, candidate)
            if at != segment.offset and index in named and segment.offset and \
                    segment.offset % candidate == 0:
                # the named blob asked for more: the largest power of two its offset allows
                alignment = segment.offset & -segment.offset
                if _round_up(end, math.lcm(alignment, candidate)) == segment.offset:
                    extra[index] = alignment
                    at = segment.offset
            if at != segment.offset:
                break
            end = segment.offset + segment.size
        else:
            return candidate, extra
    return _DEFAULT_SEGMENT_ALIGNMENT, {}


def _tensor_alignments(pte: PteFile) -> List[int]:
    """The constant alignments that pad the constants in their segment as the
    file has them (all, when no padding shows)."""
    stored = pte.stored
    offsets = stored.constant_segment.offsets if stored and stored.constant_segment else None
    sizes = [len(b.storage or b"") for b in pte.program.constant_buffer or []]
    if not offsets or len(sizes) != len(offsets) or not any(sizes[:-1]):
        return _powers(_MAX_FLATBUFFER_ALIGNMENT)
    found = []
    for candidate in _powers(_MAX_FLATBUFFER_ALIGNMENT):
        if all(offsets[i + 1] == _round_up(offsets[i] + sizes[i], candidate)
               for i in range(len(offsets) - 1)):
            found.append(candidate)
        elif found:
            break  # a larger alignment pads at least as much: none further fits
    return found


def _header_size(pte: PteFile, view: memoryview) -> Optional[int]:
    """The extended header's size, padded to the larger FlatBuffer alignment.

    After its 32 bytes come zeros: its padding (H - 32 bytes), then the
    FlatBuffer's own leading padding, which is shorter than its alignment
    (at most H), before the root table's vtable. So Z zero bytes mean the
    power of two H with H - 32 <= Z < 2H - 32."""
    if pte.header is None:
        return None
    start = 8 + HEADER_LENGTH
    end = min(pte.header.program_size, len(view))
    zeros = 0
    step = 4096
    while start + zeros < end:  # in chunks: the header may be padded to megabytes
        chunk = view[start + zeros:min(end, start + zeros + step)].tobytes()
        rest = chunk.lstrip(b"\0")
        zeros += len(chunk) - len(rest)
        if rest:
            break
        step = min(step * 4, 1 << 24)
    size = HEADER_LENGTH
    while size * 2 - HEADER_LENGTH <= zeros:
        size *= 2
    return size


def _field_position(view: memoryview, table: int, slot: int) -> Optional[int]:
    """Where field ``slot`` of the table at ``table`` is (None: absent)."""
    vtable = table - _I32.unpack_from(view, table)[0]
    if not 0 <= vtable <= len(view) - 4:
        return None
    if _U16.unpack_from(view, vtable)[0] <= 4 + 2 * slot:
        return None
    offset = _U16.unpack_from(view, vtable + 4 + 2 * slot)[0]
    return table + offset if offset else None


def _slot(table: str, name: str) -> int:
    return next(f.slot for f in PROGRAM.schema.tables[table] if f.name == name)


def _vector_starts(pte: PteFile, view: memoryview, holder: str, table: str, field: str
                   ) -> List[Tuple[int, int]]:
    """(where the items start, item count) of the byte vector ``field`` of each
    ``table`` in the root's ``holder`` vector, from the file's bytes (which
    the reader has checked)."""
    found: List[Tuple[int, int]] = []
    try:
        root = _U32.unpack_from(view, 0)[0]
        at = _field_position(view, root, _slot("Program", holder))
        if at is None:
            return found
        vector = at + _U32.unpack_from(view, at)[0]
        slot = _slot(table, field)
        for i in range(_U32.unpack_from(view, vector)[0]):
            item = vector + 4 + 4 * i
            item += _U32.unpack_from(view, item)[0]
            at = _field_position(view, item, slot)
            if at is not None:
                data = at + _U32.unpack_from(view, at)[0]
                found.append((data + 4, _U32.unpack_from(view, data)[0]))
    except struct.error:  # cannot happen in a file the reader accepted; no trace then
        return []
    return found


def guess_layout(data: Any) -> str:
    """The layout the root table's fields suggest ("flatc" when they do not
    tell): flatc adds fields of one size highest slot first, so their offsets
    grow with the slot; the flatbuffers runtime adds them in slot order, so
    they shrink. ``data`` is a .pte or FlatBuffer the reader has accepted."""
    view = memoryview(data).cast("B") if not isinstance(data, memoryview) else data
    try:
        root = _U32.unpack_from(view, 0)[0]
        offsets = [at for at in (_field_position(view, root, f.slot)
                                 for f in PROGRAM.schema.tables["Program"]) if at is not None]
    except struct.error:
        return _DEFAULT_LAYOUT
    if len(offsets) > 1 and all(a > b for a, b in zip(offsets, offsets[1:])):
        return "flatbuffers"
    return _DEFAULT_LAYOUT


def _inline_blobs(pte: PteFile) -> bool:
    """Whether the file keeps a non-empty delegate blob inline (the writer
    was told not to extract them)."""
    stored = pte.stored
    inline = (stored.backend_delegate_data if stored else None) or []
    return any(d.processed is not None and d.processed.location == 0
               and 0 <= d.processed.index < len(inline)
               and len(inline[d.processed.index].data or b"")
               for plan in (stored.execution_plan if stored else None) or []
               for d in plan.delegates or [])


def _blob_options(pte: PteFile, named_extra: Dict[int, int]) -> Dict[str, Any]:
    options: Dict[str, Any] = {}
    if pte.mutable_data is not None:
        options["mutable_data"] = pte.mutable_data
    if pte.named_data is not None:
        segment_of = {}
        for entry in (pte.stored.named_data if pte.stored else None) or []:
            segment_of[entry.key] = entry.segment_index
        entries = {key: DataEntry(operator.index(e.buffer_index), named_extra.get(segment_of.get(key, -1), 1))
                   for key, e in pte.named_data.pte_data.items()}
        options["named_data"] = NamedDataOutput(pte.named_data.buffers, entries)
    return options


def infer_options(pte: PteFile, data: Any = None) -> Tuple[InferredOptions, bool]:
    """``encode_program`` options (blobs included) that write ``pte`` back as
    the bytes it was decoded from (``data``, by default ``pte.data``), and
    whether they were checked to do so.

    The options are read from where the file puts things (see this module's
    docstring), then checked by encoding ``pte.program`` again: a few times
    at most, so the time is a small multiple of one encode. ``layout`` is
    among the options only when it is not flatc's. When no candidate gives
    back the same bytes (a file from another writer), the most likely options
    are returned with ``False``.
    """
    if data is None:
        data = pte.data
    view = memoryview(data)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    segment_alignment, named_extra = _segment_alignment(pte)
    base: Dict[str, Any] = {"extract_delegate_segments": not _inline_blobs(pte),
                            "segment_alignment": segment_alignment}
    base.update(_blob_options(pte, named_extra))
    first: Optional[Dict[str, Any]] = None
    likely = guess_layout(view)
    header = _header_size(pte, view)
    for layout in sorted(_LAYOUTS, key=lambda name: name != likely):
        for tensor, delegate in _alignment_candidates(pte, view, layout, header):
            options = dict(base, constant_tensor_alignment=tensor, delegate_alignment=delegate)
            if layout != _DEFAULT_LAYOUT:
                options["layout"] = layout
            if first is None:
                first = options
            if _reproduces(pte, options, view):
                return cast("InferredOptions", options), True
    return cast("InferredOptions", first or base), False


def _choices(values: Sequence[int], bound: int, header: Optional[int], vectors: bool
             ) -> List[Optional[int]]:
    """The values of one FlatBuffer alignment worth checking, most likely
    first: those of ``values`` (the ones the other traces allow) that the
    positions of its vectors (``bound``) and the header's size allow, the
    default (None for 16) first. Without vectors of its own the alignment
    shows only in the header's size: the default, or the header's size."""
    allowed = [v for v in values if v <= bound and (header is None or v <= header)]
    out: List[Optional[int]] = []
    if _DEFAULT_FORCE_ALIGN in allowed:
        out.append(None)
    if vectors:  # the largest the positions allow first (a smaller one pads less)
        out += [v for v in sorted(allowed, reverse=True) if v != _DEFAULT_FORCE_ALIGN]
    else:
        if header is not None and header > HEADER_LENGTH and header in allowed:
            out.append(header)
        if not out:
            small = [v for v in allowed if v <= HEADER_LENGTH]
            out += [max(small)] if small else allowed[:1]
    return out or [None]


def _alignment_candidates(pte: PteFile, view: memoryview, layout: str, header: Optional[int]
                          ) -> Iterator[Tuple[Optional[int], Optional[int]]]:
    """Up to :data:`MAX_CHECKS` (constant_tensor_alignment, delegate_alignment)
    pairs for ``layout``, most likely first, each consistent with every trace:
    the constants' padding, the header's size (``header``, from
    :func:`_header_size`) and the positions of the force-aligned vectors."""
    aligned_empty = layout != _DEFAULT_LAYOUT  # the flatbuffers runtime aligns empty vectors too
    # The FlatBuffer's size is a multiple of the largest alignment used in it.
    size = len(view) if pte.header is None else pte.header.program_size - (header or 0)
    fields = []
    traced = []
    for holder, table, field, values in (
            ("constant_buffer", "Buffer", "storage", _tensor_alignments(pte)),
            # Below 4 the alignment of a byte vector leaves no trace (its
            # items follow its 4-aligned length): 1 stands for 1, 2 and 4.
            ("backend_delegate_data", "BackendDelegateInlineData", "data",
             [1] + _powers(_MAX_FLATBUFFER_ALIGNMENT)[3:])):
        bound, vectors = _lowest_bit(size, _MAX_FLATBUFFER_ALIGNMENT), False
        for start, count in _vector_starts(pte, view, holder, table, field):
            if count or aligned_empty:
                bound, vectors = min(bound, _lowest_bit(start, _MAX_FLATBUFFER_ALIGNMENT)), True
        if not vectors:
            bound = _MAX_FLATBUFFER_ALIGNMENT
        fields.append(_choices(values, bound, header, vectors))
        traced.append(vectors)
    pairs = []
    seen = set()
    for i, tensor in enumerate(fields[0][:2 * MAX_CHECKS]):
        for j, delegate in enumerate(fields[1][:2 * MAX_CHECKS]):
            largest = max(HEADER_LENGTH, tensor or _DEFAULT_FORCE_ALIGN, delegate or _DEFAULT_FORCE_ALIGN)
            if header is not None and largest != header:
                continue
            # An alignment without vectors of its own shows only in the
            # header's size: pairs that differ only there write the same bytes.
            same = (tensor if traced[0] else None, delegate if traced[1] else None, largest)
            if same not in seen:
                seen.add(same)
                pairs.append((i + j, i, tensor, delegate))
    if not pairs:  # traces that disagree (another writer): the defaults, as a guess
        pairs.append((0, 0, None, None))
    pairs.sort(key=lambda pair: pair[:2])
    for _rank, _i, tensor, delegate in pairs[:MAX_CHECKS]:
        yield tensor, delegate


class _Mismatch(Exception):
    """What _Comparer raises at the first byte that differs."""


class _Comparer:
    """A file-like sink that checks what is written against ``view``, chunk by
    chunk, so checking a big file never holds a second copy of it; it stops
    the writing at the first difference."""

    def __init__(self, view: memoryview) -> None:
        self.view = view
        self.at = 0

    def write(self, chunk: Any) -> int:
        part = memoryview(chunk).cast("B")
        n = len(part)
        if self.at + n > len(self.view) or self.view[self.at:self.at + n] != part:
            raise _Mismatch
        self.at += n
        return n


def _reproduces(pte: PteFile, options: Dict[str, Any], view: memoryview) -> bool:
    sink = _Comparer(view)
    try:
        write_program(pte.program, sink, **options)
    except (EncodeError, _Mismatch):
        return False
    return sink.at == len(view)


def options_to_json_form(options: Mapping[str, Any]) -> Dict[str, Any]:
    """The options in the form ``options_from_json`` reads (blobs as base64),
    the layout always said ("flatc" when the options do not name one)."""
    import base64
    out: Dict[str, Any] = {"layout": options.get("layout") or _DEFAULT_LAYOUT}
    out.update((key, options.get(key)) for key in (
        "extract_delegate_segments", "segment_alignment", "constant_tensor_alignment",
        "delegate_alignment"))
    mutable: Optional[Sequence[Any]] = options.get("mutable_data")
    out["mutable_data"] = None if mutable is None else \
        [base64.b64encode(bytes(b)).decode("ascii") for b in mutable]
    named = options.get("named_data")
    out["named_data"] = None if named is None else {
        "buffers": [base64.b64encode(bytes(b)).decode("ascii") for b in named.buffers],
        "pte_data": {key: {"buffer_index": e.buffer_index, "alignment": e.alignment}
                     for key, e in named.pte_data.items()}}
    return out
