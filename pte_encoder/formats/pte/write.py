"""Complete .pte files: the FlatBuffer, an extended header and data segments.

Follows ExecuTorch 1.5.1's ``serialize_pte_binary``: constants, mutable data,
delegate blobs and named data move out of the FlatBuffer into segments placed
after it, and an extended header (``eh00``) after the file identifier says
where they start. The caller's program is never modified: the encoder reads a
thin overlay of it that swaps in the changed fields, and blobs travel as views
of the caller's buffers until they are joined or written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from ...schemas.program import model
from ..common.blobs import blob, check_files
from ..common.blobs import join_chunks
from ...schemas.program.codec import PROGRAM
from ..common.entries import buffer_at, check_buffers, checked_entries, count_buffers
from ..common.output import Target, check_target, write_file
from ..common.segments import SegmentData, check_alignment, check_segment_alignment, insert_header, zeros
from ...engine.check import check_object, check_scalar, check_vector, integer, missing, unreadable
from ...engine.values import bytes_like
from ...engine.errors import EncodeError, describe, bad_value, subpath
from .header import LENGTH as HEADER_LENGTH, pack_header
from .flatbuffer import MAX_FLATBUFFER_ALIGNMENT, check_layout, encode_chunks, resolve_alignments
from ..common.payload import DataEntry, NamedDataOutput

try:  # hashlib's own blake2b, without hashlib's import of OpenSSL (2 ms at import)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover  (an interpreter without the builtin module)
    from hashlib import blake2b

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from ..common.types import LayoutName
    from ...schemas.program.types import ProgramLike
    from ..common.types import NamedDataStoreLike
    from .types import MutableBlob

__all__ = ["encode_program", "write_program", "DataEntry", "NamedDataOutput"]

DEFAULT_TENSOR_ALIGNMENT = 16
_MISSING = object()

# The attributes of the option objects (schema tables have theirs in the schema).
_NAMES = {"NamedDataOutput": ("buffers", "pte_data")}
# The place of the program itself in messages.
_ROOT = PROGRAM.schema.name


class _Overlay:
    """Reads like ``base``, except for the attributes given here."""

    def __init__(self, base: Any, **changes: Any) -> None:
        self.__dict__.update(changes)
        self._base = base

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)


# The field names of the tables snapshot, in the models' order.
_NAMES_OF = {table: tuple(f.name for f in PROGRAM.schema.tables[table])
             for table in ("ExecutionPlan", "BackendDelegate")}


def _snapshot(obj: Any, table: str, path: str, **changes: Any) -> Any:
    """A model object of ``table`` holding ``obj``'s fields, each read once
    (an EncodeError at its place if it cannot be), with ``changes`` made:
    what the encoder then reads instead of ``obj`` (faster than an overlay,
    whose every other attribute goes through ``__getattr__``)."""
    names = _NAMES_OF[table]
    check_object(path, obj, table, _ROOT)
    try:
        values = [changes[name] if name in changes else getattr(obj, name) for name in names]
    except Exception:  # name the place: missing, or a property that raises
        for name in names:
            if name not in changes:
                _field(obj, name, path, table)
        raise EncodeError(f"{path}: cannot be read", path=path) from None
    return PROGRAM.models[table](*values)


class _Segment:
    """A segment's bytes as chunks (views, not copies), and its alignment."""

    def __init__(self, alignment: int = 1) -> None:
        self.chunks: List[Any] = []
        self.size = 0
        self.alignment = alignment

    def add(self, data: Any) -> int:
        """Append ``data``; return the offset where it starts."""
        offset = self.size
        n = data.nbytes if isinstance(data, memoryview) else len(data)
        if n:
            self.chunks.append(data)
            self.size += n
        return offset

    def pad_to(self, alignment: int) -> None:
        pad = -self.size % alignment
        if pad:
            self.chunks += zeros(pad)
            self.size += pad


def _blob(path: str, value: Any) -> Any:
    """``value`` as bytes or a flat contiguous memoryview (non-contiguous
    buffers copied), or an EncodeError at ``path``: the one the FlatBuffer's
    checker gives for a [ubyte] vector (so encode_flatbuffer and
    encode_program say the same of ``[1, 300]`` or of a buffer of pointers)."""
    try:
        return bytes_like(value)
    except (TypeError, ValueError, BufferError):  # ValueError: a released memoryview
        pass
    if value is not None:  # None: not a blob here (ExecuTorch's serializer refuses it too)
        check_vector(path, value, "B")
    raise bad_value(path, value, "a bytes-like object or a list of integers")


def _list(path: str, value: Any) -> Sequence[Any]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise bad_value(path, value, "a list")
    return value


def _field(obj: Any, name: str, path: str, what: str) -> Any:
    """``obj.name``; ``obj`` must be an object (a ``what``) that has it."""
    check_object(path, obj, what, _ROOT)
    value = _read(obj, name, path)
    if value is _MISSING:
        names = _NAMES.get(what) or [f.name for f in PROGRAM.schema.tables[what]]
        raise missing(path, obj, name, what, names, _ROOT)
    return value


def _read(obj: Any, name: str, path: str) -> Any:
    """``obj.name``, or _MISSING; a property that raises is an EncodeError at its place."""
    try:
        return getattr(obj, name, _MISSING)
    except Exception as exc:
        raise unreadable(subpath(path, name), exc) from exc


def _index(path: str, value: Any, count: int, what: str) -> int:
    number = None if isinstance(value, bool) else integer(value, path)
    if number is None or not 0 <= number < count:
        raise bad_value(path, value, f"an index into the {count} {what}")
    return int(number)


def _size(data: Any) -> int:
    return data.nbytes if isinstance(data, memoryview) else len(data)


def _packed(path: str, items: Sequence[Any], alignment: Optional[int],
            table: Optional[str]) -> Tuple[_Segment, List[int]]:
    """Blobs back to back, each padded to ``alignment`` except the last: the
    items themselves, or their ``storage`` (always, if ``table`` is given)."""
    segment, offsets = _Segment(), []
    for index, item in enumerate(items):
        where = f"{path}[{index}]"
        if table is not None:
            item, where = _field(item, "storage", where, table), f"{where}.storage"
        else:
            storage = _read(item, "storage", where)
            if storage is not _MISSING:
                item, where = storage, f"{where}.storage"
        offsets.append(segment.add(_blob(where, item)))
        if alignment and index < len(items) - 1:
            segment.pad_to(alignment)
    return segment, offsets


class _SharedBlobs:
    """Segments for delegate blobs, identical blobs sharing one: found by a
    digest of their bytes (linear time; only digests are kept, the blobs stay
    the caller's), confirmed byte for byte."""

    def __init__(self, segments: List[_Segment]) -> None:
        self.segments = segments
        self.by_digest: Dict[Tuple[int, bytes], List[Tuple[Any, int]]] = {}
        self.compared = 0  # byte-for-byte comparisons made (one per digest match)

    def segment_of(self, data: Any, size: int) -> int:
        """The segment already holding bytes equal to ``data``, or a new one."""
        view = memoryview(data)
        key = (size, blake2b(view, digest_size=16).digest())
        candidates = self.by_digest.setdefault(key, [])
        for other, index in candidates:
            self.compared += 1
            if other == view:
                return index
        segment = _Segment()
        segment.add(data)
        self.segments.append(segment)
        candidates.append((view, len(self.segments) - 1))
        return len(self.segments) - 1


def _delegates(plans_value: Any, inline_value: Any, segments: List[_Segment], extract: bool
               ) -> Tuple[Optional[List[Any]], Any, int]:
    """The execution plans with each delegate's reference as read once, and
    the inline data left in the FlatBuffer.

    With ``extract``, non-empty inline delegate blobs move into segments,
    identical ones sharing one; the inline data left is the empty blobs, one
    per delegate. Without, the inline data stays as it is. Either way an
    inline reference must name an entry of ``backend_delegate_data``.
    Each field of each plan and delegate, each reference's fields and each
    entry's ``data`` are read once: the encoder reads the snapshots made
    here, not the caller's objects again. Returns the plans, the inline
    data and the number of byte comparisons made to share blobs.
    """
    inline = _list("backend_delegate_data", inline_value)
    shared = _SharedBlobs(segments)
    remaining: List[Any] = []
    blobs: Dict[int, Any] = {}  # inline entry -> its data, as read
    seen = set()
    plans = []
    for p, plan in enumerate(_list("execution_plan", plans_value)):
        where_plan = f"execution_plan[{p}]"
        plan = _snapshot(plan, "ExecutionPlan", where_plan)  # every field read once
        plans.append(plan)
        delegates = []
        for d, delegate in enumerate(_list(f"{where_plan}.delegates", plan.delegates)):
            where_delegate = f"{where_plan}.delegates[{d}]"
            where = f"{where_delegate}.processed"
            delegate = _snapshot(delegate, "BackendDelegate", where_delegate)
            delegates.append(delegate)
            ref = delegate.processed
            if ref is None and not extract:  # absent: no reference written (extracting, refused below)
                continue
            location = _field(ref, "location", where, "BackendDelegateDataReference")
            check_scalar(f"{where}.location", location, "b")
            raw_index = _field(ref, "index", where, "BackendDelegateDataReference")
            if location != model.DataLocation.INLINE:
                if extract:
                    raise EncodeError(f"{where}.location: expected INLINE (0), got "
                                      f"{describe(location)}: the delegate's data is already "
                                      "in a segment", path=f"{where}.location", value=location,
                                      expected="INLINE (0)", has_value=True)
                check_scalar(f"{where}.index", raw_index, "I")
                delegate.processed = model.BackendDelegateDataReference(location=location, index=raw_index)
                continue
            used = _index(f"{where}.index", raw_index, len(inline), "backend_delegate_data entries")
            if not extract:
                delegate.processed = model.BackendDelegateDataReference(location=location, index=used)
                continue
            seen.add(used)
            entry = f"backend_delegate_data[{used}]"
            data = blobs.get(used)
            if data is None:
                data = blobs[used] = _blob(f"{entry}.data", _field(
                    inline[used], "data", entry, "BackendDelegateInlineData"))
            size = _size(data)
            if size:
                location, index = model.DataLocation.SEGMENT, shared.segment_of(data, size)
            else:
                location, index = model.DataLocation.INLINE, len(remaining)
                remaining.append(model.BackendDelegateInlineData(data=data))
            delegate.processed = model.BackendDelegateDataReference(location=location, index=index)
        if plan.delegates is not None:
            plan.delegates = delegates
    if not extract:  # the fields as the caller has them (None stays absent)
        return (None if plans_value is None else plans), inline_value, 0
    unused = sorted(set(range(len(inline))) - seen)
    if unused:
        raise EncodeError(f"backend_delegate_data: entries {describe(unused)} are used by no delegate",
                          path="backend_delegate_data")
    return plans, remaining, shared.compared


def _extract_named_data(program: Any, named_data: Any, segments: List[_Segment]) -> List[model.NamedData]:
    existing = _read(program, "named_data", "")
    existing = None if existing is _MISSING else existing
    if existing:
        raise EncodeError("named_data: the program already has named data; "
                          "pass named blobs through the named_data option only", path="named_data")
    buffers = check_buffers("named_data.buffers", _field(named_data, "buffers", "named_data", "NamedDataOutput"))
    pte_data = _field(named_data, "pte_data", "named_data", "NamedDataOutput")
    segment_of: Dict[int, int] = {}
    entries = []
    keys, indices, alignments, _layouts = checked_entries(
        pte_data, count_buffers("named_data.buffers", buffers), where="named_data.pte_data",
        buffers="named_data.buffers", layouts=False)
    for key, index, alignment in zip(keys, indices, alignments):
        if index not in segment_of:  # the first key of a buffer gives its alignment
            segment = _Segment(alignment)
            found = buffer_at("named_data.buffers", buffers, index)
            segment.add(blob(f"named_data.buffers[{index}]", found))
            segment_of[index] = len(segments)
            segments.append(segment)
        entries.append(model.NamedData(key=key, segment_index=segment_of[index]))
    return entries


def _segment_end(table: List[Any]) -> int:
    """Where the program's own last segment ends (new segments go after it);
    the last segment is replaced in ``table`` by its values as read."""
    if not table:
        return 0
    where = f"segments[{len(table) - 1}]"
    offset = _field(table[-1], "offset", where, "DataSegment")
    size = _field(table[-1], "size", where, "DataSegment")
    check_scalar(f"{where}.offset", offset, "Q")
    check_scalar(f"{where}.size", size, "Q")
    table[-1] = model.DataSegment(offset=offset, size=size)
    return int(integer(offset)) + int(integer(size))


def _pte_chunks(*args: Any) -> Tuple[List[Any], int]:
    """Everything checked and laid out, nothing written: the file's chunks and
    size (arguments as :func:`_pte_parts`'s)."""
    try:
        return _pte_parts(*args)
    except EncodeError as exc:
        error = exc
    # Raised without the traceback of the frames that hold views of the
    # caller's buffers (an mmap cannot be closed while any is alive).
    raise error.with_traceback(None)


def _pte_parts(program: Any, mutable_data: Optional[Sequence[Any]], named_data: Any,
               extract_delegate_segments: bool, segment_alignment: int,
               constant_tensor_alignment: Optional[int],
               delegate_alignment: Optional[int], layout: str) -> Tuple[List[Any], int]:
    check_layout(layout)
    segment_alignment = check_segment_alignment(segment_alignment)
    if extract_delegate_segments is not True and extract_delegate_segments is not False:
        raise bad_value("extract_delegate_segments", extract_delegate_segments, "True or False")
    tensor_alignment = check_alignment("constant_tensor_alignment", constant_tensor_alignment,
                                       MAX_FLATBUFFER_ALIGNMENT)
    if tensor_alignment is None:
        tensor_alignment = DEFAULT_TENSOR_ALIGNMENT
    alignments = resolve_alignments(tensor_alignment, delegate_alignment)
    check_object("", program, "Program", _ROOT)
    # Each field the layout looks at is read once, here, and handed to the
    # encoder in the overlay: an object whose attributes change between
    # reads still gets a file of one state.
    changes: Dict[str, Any] = {attribute: _field(program, attribute, "", "Program") for attribute in (
        "constant_buffer", "segments", "execution_plan", "backend_delegate_data")}

    segments: List[_Segment] = []
    constants = _list("constant_buffer", changes["constant_buffer"])
    if constants:
        segment, offsets = _packed("constant_buffer", constants, tensor_alignment, "Buffer")
        changes["constant_segment"] = model.SubsegmentOffsets(len(segments), offsets)
        changes["constant_buffer"] = []
        segments.append(segment)
    if mutable_data is not None:
        segment, offsets = _packed("mutable_data", _list("mutable_data", mutable_data), None, None)
        if segment.size:
            changes["mutable_data_segments"] = [model.SubsegmentOffsets(len(segments), offsets)]
            segments.append(segment)
    changes["execution_plan"], changes["backend_delegate_data"], _compared = _delegates(
        changes["execution_plan"], changes["backend_delegate_data"], segments,
        extract_delegate_segments)
    if named_data is not None:
        changes["named_data"] = _extract_named_data(program, named_data, segments)

    table = list(_list("segments", changes["segments"]))
    data = SegmentData(segment_alignment, _segment_end(table))
    for segment in segments:
        table.append(model.DataSegment(offset=data.add(segment.chunks, segment.size, segment.alignment),
                                       size=segment.size))
    changes["segments"] = table

    chunks, fb_size = encode_chunks(_Overlay(program, **changes), alignments, layout)
    if data.size == 0:
        return chunks, fb_size
    # The header is padded to the FlatBuffer's largest alignment.
    header_size = HEADER_LENGTH + -HEADER_LENGTH % max(alignments)
    program_size = header_size + fb_size
    base = program_size + -program_size % segment_alignment
    insert_header(chunks, pack_header(program_size, base, data.size).ljust(header_size, b"\0"))
    chunks += zeros(base - program_size)
    chunks += data.chunks
    return chunks, base + data.size


def encode_program(program: ProgramLike, *, mutable_data: Optional[Sequence[MutableBlob]] = None,
                   named_data: Optional[NamedDataStoreLike] = None, extract_delegate_segments: bool = True,
                   segment_alignment: int = 128, constant_tensor_alignment: Optional[int] = None,
                   delegate_alignment: Optional[int] = None, layout: LayoutName = "flatc") -> bytes:
    """Encode ``program`` as a complete .pte file, as ExecuTorch 1.5.1 writes it.

    ``mutable_data`` is a list of blobs (or of objects with a ``.storage``, as
    ExecuTorch passes them); ``named_data`` is a :class:`NamedDataOutput` or
    ExecuTorch's ``NamedDataStoreOutput``, whose buffers may be file-backed
    (:class:`FileData`, ExecuTorch's ``FileBackedData``: read in here).
    Constants, mutable data, delegate
    blobs (with ``extract_delegate_segments``) and named blobs go into
    segments aligned to ``segment_alignment``; constants are padded to
    ``constant_tensor_alignment`` (default 16). ``layout`` lays the
    FlatBuffer out as flatc does ("flatc", ExecuTorch 1.1 and earlier) or as
    ExecuTorch 1.5.1's default writer does ("flatbuffers"); see
    :func:`encode_flatbuffer`. Raises :class:`EncodeError` for bad input; the
    program is not modified.
    """
    chunks, _size = _pte_chunks(program, mutable_data, named_data, extract_delegate_segments,
                                segment_alignment, constant_tensor_alignment, delegate_alignment,
                                layout)
    return join_chunks(chunks, what=f"{_ROOT}: the .pte")


def write_program(program: ProgramLike, file: Target, *,
                  mutable_data: Optional[Sequence[MutableBlob]] = None,
                  named_data: Optional[NamedDataStoreLike] = None,
                  extract_delegate_segments: bool = True, segment_alignment: int = 128,
                  constant_tensor_alignment: Optional[int] = None,
                  delegate_alignment: Optional[int] = None, layout: LayoutName = "flatc") -> int:
    """Write the bytes :func:`encode_program` returns to a path or binary file.

    Blobs go from their own buffers to the file, never joined in memory, and
    file-backed named data from its files in pieces (their files are checked
    first; see :func:`write_data_file`). A path is written as ``open(path, "wb")`` would, but a regular file
    atomically: to a temporary file in the same folder, renamed at the end,
    removed on error (see :mod:`pte_encoder._files`). Returns the number of
    bytes written.
    """
    check_target(file)  # a bad file argument is refused before anything is computed
    chunks, _size = _pte_chunks(program, mutable_data, named_data, extract_delegate_segments,
                                segment_alignment, constant_tensor_alignment, delegate_alignment,
                                layout)
    check_files(chunks)
    return write_file(file, chunks)
