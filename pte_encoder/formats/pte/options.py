"""Which ``encode_program`` options write a decoded .pte back as the same bytes.

A .pte does not record the options it was written with, but they leave
traces: the segment base offset and the segment offsets are rounded up to
``segment_alignment`` (named blobs to their own alignment too), constants
are padded to ``constant_tensor_alignment``, and the extended header is
padded to the largest ``force_align`` (``constant_tensor_alignment`` or
``delegate_alignment``). :func:`infer_options` reads those traces, prefers
the defaults where they fit, and checks its answer by encoding again.

The FlatBuffer's layout is found the same way: flatc's (the default) is
tried first, then the flatbuffers runtime's (``layout="flatbuffers"``, what
ExecuTorch 1.5.1 writes by default).

What cannot be recovered: an alignment that left no trace (any value that
gives the same bytes is as good), and the exact bytes of a file laid out by
any other FlatBuffers writer (its meaning is read, but re-encoding writes
flatc's layout).
"""

from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, cast

from ...engine.errors import EncodeError
from ..common.payload import DataEntry, NamedDataOutput
from .header import LENGTH as HEADER_LENGTH
from .write import write_program
from .read import PteFile

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from .types import InferredOptions

__all__ = ["infer_options"]

_DEFAULT_SEGMENT_ALIGNMENT = 128
_DEFAULT_FORCE_ALIGN = 16  # the schema's force_align, and the default tensor alignment
_MAX_ALIGNMENT = 1 << 24
_DEFAULT_LAYOUT = "flatc"
_LAYOUTS = (_DEFAULT_LAYOUT, "flatbuffers")


def _round_up(value: int, alignment: int) -> int:
    return value + -value % alignment


def _powers(limit: int = _MAX_ALIGNMENT) -> List[int]:
    return [1 << k for k in range(limit.bit_length()) if 1 << k <= limit]


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
            if at != segment.offset and index in named and segment.offset % candidate == 0:
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


def _tensor_alignments(pte: PteFile) -> List[Optional[int]]:
    """Constant alignments that pad the constants as the file has them, default first."""
    stored = pte.stored
    offsets = stored.constant_segment.offsets if stored and stored.constant_segment else None
    sizes = [len(b.storage or b"") for b in pte.program.constant_buffer or []]
    found: List[Optional[int]] = []
    for candidate in [_DEFAULT_FORCE_ALIGN] + _powers(1 << 16):
        if offsets and len(sizes) == len(offsets):
            if any(offsets[i + 1] != _round_up(offsets[i] + sizes[i], candidate)
                   for i in range(len(offsets) - 1)):
                continue
        value = None if candidate == _DEFAULT_FORCE_ALIGN else candidate
        if value not in found:
            found.append(value)
    return found or [None]


def _header_sizes(data: Any, pte: PteFile) -> List[int]:
    """Header sizes (32 padded to the largest force_align) the zero bytes allow."""
    if pte.header is None:
        return []
    view = memoryview(data)
    root = int.from_bytes(view[0:4], "little")
    sizes = []
    for alignment in _powers(1 << 16):
        size = HEADER_LENGTH + -HEADER_LENGTH % alignment
        if size in sizes:
            continue
        if 8 + size > root or any(view[8 + HEADER_LENGTH:8 + size]):
            break
        sizes.append(size)
    return sizes


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

    ``layout`` is among the options only when it is not flatc's. When no
    candidate gives back the same bytes (a file from another writer), the
    most likely options are returned with ``False``.
    """
    if data is None:
        data = pte.data
    segment_alignment, named_extra = _segment_alignment(pte)
    base: Dict[str, Any] = {"extract_delegate_segments": not _inline_blobs(pte),
                            "segment_alignment": segment_alignment}
    base.update(_blob_options(pte, named_extra))
    header_sizes = _header_sizes(data, pte) or [HEADER_LENGTH]
    first: Optional[Dict[str, Any]] = None
    view = memoryview(data)
    # flatc's layout first (the default), then the flatbuffers runtime's
    # (ExecuTorch 1.5.1's default writer); options name the layout only
    # when it is not the default.
    for layout in _LAYOUTS:
        for tensor, delegate in _alignment_candidates(pte, header_sizes, layout):
            options = dict(base, constant_tensor_alignment=tensor, delegate_alignment=delegate)
            if layout != _DEFAULT_LAYOUT:
                options["layout"] = layout
            if first is None:
                first = options
            if _reproduces(pte, options, view):
                return cast("InferredOptions", options), True
    return cast("InferredOptions", first or base), False


def _header_size(tensor: Optional[int], delegate: Optional[int]) -> int:
    """The extended header's size: padded to the largest force_align."""
    largest = max(tensor or _DEFAULT_FORCE_ALIGN, delegate or _DEFAULT_FORCE_ALIGN)
    return HEADER_LENGTH + -HEADER_LENGTH % largest


def _alignment_candidates(pte: PteFile, header_sizes: List[int], layout: str
                          ) -> Iterator[Tuple[Optional[int], Optional[int]]]:
    """(constant_tensor_alignment, delegate_alignment) pairs to try, most
    likely first, each once: the tensor alignments the constants allow, with
    the delegate alignment the header's size asks for."""
    tried = set()
    for tensor in _tensor_alignments(pte):
        for header_size in header_sizes:
            largest = header_size if header_size > HEADER_LENGTH else 1
            delegate: Optional[int] = None
            if _header_size(tensor, None) != header_size:
                delegate = largest if largest > (tensor or _DEFAULT_FORCE_ALIGN) else None
            if (tensor, delegate) not in tried:
                tried.add((tensor, delegate))
                yield tensor, delegate
    if layout == _DEFAULT_LAYOUT:
        return
    # The flatbuffers runtime aligns an empty vector to its force_align (above
    # 4), so there a delegate alignment the header does not show can still
    # leave a trace: try those that keep the header's size (1 stands for 1 to
    # 4, None for 16), or any without a header.
    delegates = [1, 8] + _powers(1 << 16)[5:] if pte.header is None else [1, 8, 32]
    for tensor in _tensor_alignments(pte):
        for delegate in delegates:
            if (tensor, delegate) not in tried and (
                    pte.header is None or _header_size(tensor, delegate) in header_sizes):
                tried.add((tensor, delegate))
                yield tensor, delegate


class _Comparer:
    """A file-like sink that checks what is written against ``view``, chunk by
    chunk, so checking a big file never holds a second copy of it."""

    def __init__(self, view: memoryview) -> None:
        self.view = view
        self.at = 0
        self.same = True

    def write(self, chunk: Any) -> int:
        n = len(memoryview(chunk).cast("B"))
        if self.same:
            self.same = self.at + n <= len(self.view) and \
                self.view[self.at:self.at + n] == memoryview(chunk).cast("B")
        self.at += n
        return n


def _reproduces(pte: PteFile, options: Dict[str, Any], view: memoryview) -> bool:
    sink = _Comparer(view)
    try:
        write_program(pte.program, sink, **options)
    except EncodeError:
        return False
    return sink.same and sink.at == len(view)


def options_to_json_form(options: Mapping[str, Any]) -> Dict[str, Any]:
    """The options in the form ``options_from_json`` reads (blobs as base64)."""
    import base64
    out: Dict[str, Any] = {key: options.get(key) for key in (
        "extract_delegate_segments", "segment_alignment", "constant_tensor_alignment",
        "delegate_alignment")}
    mutable: Optional[Sequence[Any]] = options.get("mutable_data")
    out["mutable_data"] = None if mutable is None else \
        [base64.b64encode(bytes(b)).decode("ascii") for b in mutable]
    named = options.get("named_data")
    out["named_data"] = None if named is None else {
        "buffers": [base64.b64encode(bytes(b)).decode("ascii") for b in named.buffers],
        "pte_data": {key: {"buffer_index": e.buffer_index, "alignment": e.alignment}
                     for key, e in named.pte_data.items()}}
    return out
