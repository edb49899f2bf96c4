"""Complete .pte files: the FlatBuffer, an extended header and data segments.

Follows ExecuTorch 1.5.1's ``serialize_pte_binary``: constants, mutable data,
delegate blobs and named data move out of the FlatBuffer into segments placed
after it, and an extended header (``eh00``) after the file identifier says
where they start. The caller's program is never modified: the encoder reads a
thin overlay of it that swaps in the changed fields, and blobs travel as views
of the caller's buffers until they are joined or written.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import model
from .errors import EncodeError
from ._files import Target, write_file
from .engine.values import bytes_like
from .flatbuffer import check_alignment, encode_chunks, resolve_alignments

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from .model import ByteVector
    from .types import MutableBlob, NamedDataStoreLike, ProgramLike

__all__ = ["encode_program", "write_program", "DataEntry", "NamedDataOutput"]

DEFAULT_TENSOR_ALIGNMENT = 16
HEADER_MAGIC = b"eh00"
HEADER_LENGTH = 32
_HEADER = struct.Struct("<4sIQQQ")


@dataclass
class DataEntry:
    """Where one named blob's bytes are: an index into ``buffers``, and the
    alignment its segment needs."""

    buffer_index: int
    alignment: int = 1


@dataclass
class NamedDataOutput:
    """Named blobs, shaped like ExecuTorch's ``NamedDataStoreOutput``: each key
    of ``pte_data`` names an entry of ``buffers``; keys may share a buffer."""

    buffers: Sequence[ByteVector] = field(default_factory=list)
    pte_data: Mapping[str, DataEntry] = field(default_factory=dict)


class _Overlay:
    """Reads like ``base``, except for the attributes given here."""

    def __init__(self, base: Any, **changes: Any) -> None:
        self.__dict__.update(changes)
        self._base = base

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)


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
            self.chunks.append(bytes(pad))
            self.size += pad


def _blob(path: str, value: Any) -> Any:
    try:
        return bytes_like(value)
    except (TypeError, ValueError):
        text = repr(value)
        raise EncodeError(f"{path}: expected a bytes-like object, got "
                          f"{text[:77] + '...' if len(text) > 80 else text}") from None


def _list(path: str, value: Any) -> Sequence[Any]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise EncodeError(f"{path}: expected a list, got {type(value).__name__}")
    return value


def _packed(path: str, items: Sequence[Any], alignment: Optional[int]) -> Tuple[_Segment, List[int]]:
    """Blobs back to back, each padded to ``alignment`` except the last."""
    segment, offsets = _Segment(), []
    for index, item in enumerate(items):
        storage = getattr(item, "storage", item)
        offsets.append(segment.add(_blob(f"{path}[{index}]", storage)))
        if alignment and index < len(items) - 1:
            segment.pad_to(alignment)
    return segment, offsets


def _extract_delegates(program: Any, segments: List[_Segment]) -> Tuple[List[Any], List[Any]]:
    """Move non-empty inline delegate blobs into segments, sharing identical ones.

    Returns the execution plans (with the delegates' new references) and the
    inline data left in the FlatBuffer (the empty blobs, one per delegate).
    """
    inline = _list("backend_delegate_data", program.backend_delegate_data)
    by_size: Dict[int, List[Tuple[Any, int]]] = {}
    remaining: List[Any] = []
    seen = set()
    plans = []
    for p, plan in enumerate(_list("execution_plan", program.execution_plan)):
        delegates = []
        for d, delegate in enumerate(_list(f"execution_plan[{p}].delegates", plan.delegates)):
            where = f"execution_plan[{p}].delegates[{d}].processed"
            ref = delegate.processed
            if ref.location != model.DataLocation.INLINE:
                raise EncodeError(f"{where}.location: expected INLINE (0), got {ref.location!r}: "
                                  "the delegate's data is already in a segment")
            if not isinstance(ref.index, int) or not 0 <= ref.index < len(inline):
                raise EncodeError(f"{where}.index: expected an index into the "
                                  f"{len(inline)} backend_delegate_data entries, got {ref.index!r}")
            seen.add(ref.index)
            data = _blob(f"backend_delegate_data[{ref.index}].data", inline[ref.index].data)
            size = data.nbytes if isinstance(data, memoryview) else len(data)
            if size:
                location, index = model.DataLocation.SEGMENT, _shared_segment(data, size, by_size, segments)
            else:
                location, index = model.DataLocation.INLINE, len(remaining)
                remaining.append(inline[ref.index])
            reference = model.BackendDelegateDataReference(location=location, index=index)
            delegates.append(_Overlay(delegate, processed=reference))
        plans.append(_Overlay(plan, delegates=delegates) if delegates else plan)
    unused = sorted(set(range(len(inline))) - seen)
    if unused:
        raise EncodeError(f"backend_delegate_data: entries {unused} are used by no delegate")
    return plans, remaining


def _shared_segment(data: Any, size: int, by_size: Dict[int, List[Tuple[Any, int]]],
                    segments: List[_Segment]) -> int:
    """The segment already holding bytes equal to ``data``, or a new one."""
    view = memoryview(data)
    for other, index in by_size.setdefault(size, []):
        if other == view:
            return index
    segment = _Segment()
    segment.add(data)
    segments.append(segment)
    by_size[size].append((view, len(segments) - 1))
    return len(segments) - 1


def _extract_named_data(program: Any, named_data: Any, segments: List[_Segment]) -> List[model.NamedData]:
    existing = getattr(program, "named_data", None)
    if existing:
        raise EncodeError("named_data: the program already has named data; "
                          "pass named blobs through the named_data option only")
    buffers = _list("named_data.buffers", named_data.buffers)
    segment_of: Dict[int, int] = {}
    entries = []
    for key, entry in named_data.pte_data.items():
        where = f"named_data.pte_data[{key!r}]"
        index = entry.buffer_index
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(buffers):
            raise EncodeError(f"{where}.buffer_index: expected an index into the "
                              f"{len(buffers)} named_data.buffers, got {index!r}")
        if index not in segment_of:
            check_alignment(f"{where}.alignment", entry.alignment)
            segment = _Segment(entry.alignment)
            segment.add(_blob(f"named_data.buffers[{index}]", buffers[index]))
            segment_of[index] = len(segments)
            segments.append(segment)
        entries.append(model.NamedData(key=key, segment_index=segment_of[index]))
    return entries


def _pte_chunks(program: Any, mutable_data: Optional[Sequence[Any]], named_data: Any,
                extract_delegate_segments: bool, segment_alignment: int,
                constant_tensor_alignment: Optional[int],
                delegate_alignment: Optional[int]) -> Tuple[List[Any], int]:
    check_alignment("segment_alignment", segment_alignment)
    if segment_alignment is None:
        raise EncodeError("segment_alignment: expected a power of two, got None")
    tensor_alignment = constant_tensor_alignment or DEFAULT_TENSOR_ALIGNMENT
    alignments = resolve_alignments(tensor_alignment, delegate_alignment)
    for attribute in ("constant_buffer", "segments", "execution_plan", "backend_delegate_data"):
        if not hasattr(program, attribute):
            raise EncodeError(f"{attribute}: missing (a Program needs the attribute {attribute!r})")

    segments: List[_Segment] = []
    changes: Dict[str, Any] = {}
    constants = _list("constant_buffer", program.constant_buffer)
    if constants:
        segment, offsets = _packed("constant_buffer", constants, tensor_alignment)
        changes["constant_segment"] = model.SubsegmentOffsets(len(segments), offsets)
        changes["constant_buffer"] = []
        segments.append(segment)
    if mutable_data is not None:
        segment, offsets = _packed("mutable_data", _list("mutable_data", mutable_data), None)
        if segment.size:
            changes["mutable_data_segments"] = [model.SubsegmentOffsets(len(segments), offsets)]
            segments.append(segment)
    if extract_delegate_segments:
        changes["execution_plan"], changes["backend_delegate_data"] = \
            _extract_delegates(program, segments)
    if named_data is not None:
        changes["named_data"] = _extract_named_data(program, named_data, segments)

    table = list(_list("segments", program.segments))
    data = _Segment()
    for segment in segments:
        alignment = math.lcm(segment.alignment, segment_alignment)
        end = table[-1].offset + table[-1].size if table else 0
        table.append(model.DataSegment(offset=end + -end % alignment, size=segment.size))
        data.pad_to(alignment)
        data.chunks += segment.chunks
        data.size += segment.size
    changes["segments"] = table

    chunks, fb_size = encode_chunks(_Overlay(program, **changes), alignments)
    if data.size == 0:
        return chunks, fb_size
    header_size = HEADER_LENGTH + -HEADER_LENGTH % max(alignments)
    program_size = header_size + fb_size
    base = program_size + -program_size % segment_alignment
    header = _HEADER.pack(HEADER_MAGIC, HEADER_LENGTH, program_size, base, data.size)
    # chunks[0] is the root offset and chunks[1] the identifier: the header
    # goes after them, and the root moves by the header's size.
    root_offset = struct.unpack("<I", chunks[0])[0] + header_size
    chunks[0:2] = [struct.pack("<I", root_offset), chunks[1], header.ljust(header_size, b"\0")]
    chunks.append(bytes(base - program_size))
    chunks += data.chunks
    return chunks, base + data.size


def encode_program(program: ProgramLike, *, mutable_data: Optional[Sequence[MutableBlob]] = None,
                   named_data: Optional[NamedDataStoreLike] = None, extract_delegate_segments: bool = True,
                   segment_alignment: int = 128, constant_tensor_alignment: Optional[int] = None,
                   delegate_alignment: Optional[int] = None) -> bytes:
    """Encode ``program`` as a complete .pte file, as ExecuTorch 1.5.1 writes it.

    ``mutable_data`` is a list of blobs (or of objects with a ``.storage``, as
    ExecuTorch passes them); ``named_data`` is a :class:`NamedDataOutput` or
    ExecuTorch's ``NamedDataStoreOutput``. Constants, mutable data, delegate
    blobs (with ``extract_delegate_segments``) and named blobs go into
    segments aligned to ``segment_alignment``; constants are padded to
    ``constant_tensor_alignment`` (default 16). Raises :class:`EncodeError`
    for bad input; the program is not modified.
    """
    chunks, _size = _pte_chunks(program, mutable_data, named_data, extract_delegate_segments,
                                segment_alignment, constant_tensor_alignment, delegate_alignment)
    return b"".join(chunks)


def write_program(program: ProgramLike, file: Target, *,
                  mutable_data: Optional[Sequence[MutableBlob]] = None,
                  named_data: Optional[NamedDataStoreLike] = None,
                  extract_delegate_segments: bool = True, segment_alignment: int = 128,
                  constant_tensor_alignment: Optional[int] = None,
                  delegate_alignment: Optional[int] = None) -> int:
    """Write the bytes :func:`encode_program` returns to a path or binary file.

    Blobs go from their own buffers to the file, never joined in memory. A
    path is written as ``open(path, "wb")`` would, but a regular file
    atomically: to a temporary file in the same folder, renamed at the end,
    removed on error (see :mod:`pte_encoder._files`). Returns the number of
    bytes written.
    """
    chunks, _size = _pte_chunks(program, mutable_data, named_data, extract_delegate_segments,
                                segment_alignment, constant_tensor_alignment, delegate_alignment)
    return write_file(file, chunks)
