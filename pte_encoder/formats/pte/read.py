"""Read .pte files: the FlatBuffer, the extended header and the segments.

Does what ExecuTorch 1.5.1's ``deserialize_pte_binary`` does, checking
everything it reads: the extended header (``eh00``) says where the program
ends and the segments start; delegate blobs in segments come back inline
(appended to ``backend_delegate_data``), constants back into
``constant_buffer``, mutable data and named data out beside the program.
The result is the Program as it was handed to the writer, so
``encode_program(f.program, mutable_data=f.mutable_data,
named_data=f.named_data, <same options>)`` gives back the same file.

Where this is more exact than ExecuTorch:

- Constants come back without the padding the writer added after each one
  (to ``constant_tensor_alignment``), when the tensors that use a constant
  say its size (elements times item size) and the bytes cut off are all
  zero; ExecuTorch returns each constant with its padding.
- The program's ``named_data`` is left ``None`` (as the writer was given it)
  rather than ``[]``; entries sharing one segment share one buffer, and
  delegates sharing one segment (what the writers make of identical blobs)
  share one ``backend_delegate_data`` entry (ExecuTorch appends one per
  delegate, so a small file could name a big blob a thousand times).
- Every offset and size is checked (ExecuTorch slices past the end
  silently): a segment outside the file, segments that overlap (both
  writers place them one after another), constant offsets that go
  backwards or past their segment, references to missing segments or to
  missing inline delegate data (with or without segments), and an
  ``eh00`` header whose length or sizes are impossible (ExecuTorch ignores
  a header with a short length) raise :class:`DecodeError`. These errors
  name the field path and the values; the FlatBuffer's own errors also name
  the byte offset.

Blobs (constants, delegate data, mutable and named data, every ``[ubyte]``
vector) are ``memoryview`` slices of the input, not copies: they stay valid
while the input object lives (for :func:`read_program`, the file's mmap,
which stays open as long as any of them does, unless ``copy=True``).
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, TypeVar, Union

from ...schemas.program import model
from ...schemas.program.codec import PROGRAM
from ..common.mapped import map_file
from ...engine.reader import byte_view
from ...engine.errors import DecodeError
from ..common.payload import DataEntry, NamedDataOutput, Record
from .header import ExtendedHeader, read_header

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from ..common.types import ReadableBuffer

__all__ = ["decode_program", "read_program", "PteFile", "ExtendedHeader"]


# Bytes per element of each ScalarType, for constant sizes; the packed
# sub-byte types (QUINT4X2, QUINT2X4) are left out: their size is not
# elements times a whole number of bytes.
_ITEM_SIZES = {
    model.ScalarType.BYTE: 1, model.ScalarType.CHAR: 1, model.ScalarType.SHORT: 2,
    model.ScalarType.INT: 4, model.ScalarType.LONG: 8, model.ScalarType.HALF: 2,
    model.ScalarType.FLOAT: 4, model.ScalarType.DOUBLE: 8, model.ScalarType.BOOL: 1,
    model.ScalarType.QINT8: 1, model.ScalarType.QUINT8: 1, model.ScalarType.QINT32: 4,
    model.ScalarType.BFLOAT16: 2, model.ScalarType.BITS16: 2,
    model.ScalarType.FLOAT8E5M2: 1, model.ScalarType.FLOAT8E4M3FN: 1,
    model.ScalarType.FLOAT8E5M2FNUZ: 1, model.ScalarType.FLOAT8E4M3FNUZ: 1,
    model.ScalarType.UINT16: 2, model.ScalarType.UINT32: 4, model.ScalarType.UINT64: 8,
}


class PteFile(Record):
    """A decoded .pte: the program as it was handed to the writer, the blobs
    that lived beside it, and where everything was in the file.

    ``stored`` is the program as stored in the file (segments listed,
    constants and delegate blobs referenced); it shares unchanged parts with
    ``program``. ``segment_roles`` says what each segment of
    ``stored.segments`` holds: "constants", "mutable data", "delegate <id>",
    "named data <key>", ... ``data`` is the whole input, as decoded.
    """

    __slots__ = __match_args__ = ("program", "mutable_data", "named_data", "header", "stored",
                                  "segment_roles", "size", "data")

    def __init__(self, program: model.Program, mutable_data: Optional[List[memoryview]] = None,
                 named_data: Optional[NamedDataOutput] = None,
                 header: Optional[ExtendedHeader] = None, stored: Optional[model.Program] = None,
                 segment_roles: Optional[List[List[str]]] = None, size: int = 0,
                 data: Optional[memoryview] = None) -> None:
        self.program = program
        self.mutable_data = mutable_data
        self.named_data = named_data
        self.header = header
        self.stored = stored
        self.segment_roles: List[List[str]] = [] if segment_roles is None else segment_roles
        self.size = size
        self.data = data


_T = TypeVar("_T")


def _replaced(obj: _T, **changes: Any) -> _T:
    """A shallow copy of the model object ``obj`` with ``changes`` made (the
    stored program's objects are shared, never changed)."""
    new = copy.copy(obj)
    for name, value in changes.items():
        setattr(new, name, value)
    return new


def _fail(path: str, message: str) -> DecodeError:
    return DecodeError(f"{path}: {message}", path, None)


def _exact_sizes(program: model.Program, limit: int) -> Dict[int, int]:
    """Constant buffer index -> its size in bytes (at most ``limit``), where the
    tensors using it agree."""
    sizes: Dict[int, int] = {}
    disputed = set()
    for plan in program.execution_plan or []:
        for value in plan.values or []:
            tensor = value.val
            if not isinstance(tensor, model.Tensor) or not tensor.data_buffer_idx:
                continue
            info = tensor.extra_tensor_info
            if info is not None and info.location == model.TensorDataLocation.EXTERNAL:
                continue
            item = _ITEM_SIZES.get(tensor.scalar_type)
            if item is None or tensor.sizes is None or any(s < 0 for s in tensor.sizes):
                disputed.add(tensor.data_buffer_idx)
                continue
            nbytes = item
            for s in tensor.sizes:
                nbytes *= s
                if nbytes > limit:  # no constant is that big: stop before the product grows
                    break
            if sizes.setdefault(tensor.data_buffer_idx, nbytes) != nbytes:
                disputed.add(tensor.data_buffer_idx)
    for index in disputed:
        sizes.pop(index, None)
    return sizes


def _split(path: str, offsets: Sequence[int], segment: memoryview) -> List[memoryview]:
    """The blobs of a segment holding several, each up to where the next starts."""
    out = []
    for i, start in enumerate(offsets):
        end = offsets[i + 1] if i + 1 < len(offsets) else len(segment)
        if not start <= end <= len(segment):
            raise _fail(f"{path}.offsets[{i}]", f"expected an offset from "
                        f"{offsets[i - 1] if i else 0} to {end if end <= len(segment) else len(segment)} "
                        f"inside the {len(segment)}-byte segment, got {start}")
        out.append(segment[start:end])
    return out


def _segment(path: str, index: int, segments: List[memoryview]) -> memoryview:
    if not 0 <= index < len(segments):
        raise _fail(path, f"expected a segment index below {len(segments)}, got {index}")
    return segments[index]


def decode_program(data: ReadableBuffer) -> PteFile:
    """Decode a whole .pte file (bytes, bytearray, memoryview or mmap).

    Returns a :class:`PteFile`: the Program with its segments moved back in
    (delegate blobs inline, constants in ``constant_buffer``), the mutable
    data and named data, and the file's layout. Raises :class:`DecodeError`
    for anything out of place.
    """
    view = byte_view(data)
    if len(view) < 8:
        raise DecodeError(f"a .pte file is at least 8 bytes, got {len(view)}", "", 0)
    header = read_header(view)
    program_size = header.program_size if header else len(view)
    stored = PROGRAM.decode(view, size=program_size)
    pte = PteFile(program=stored, header=header, stored=stored, size=len(view), data=view)
    table = stored.segments or []
    pte.segment_roles = [[] for _ in table]
    if header is None or header.segment_base_offset == 0:
        _check_inline_delegates(stored)
        return pte  # as ExecuTorch: no segments to restore, the program as stored
    base = header.segment_base_offset
    end = base + header.segment_data_size if header.segment_data_size else len(view)
    region = view[base:end]
    segments = []
    end = 0
    for i, segment in enumerate(table):
        if segment.offset + segment.size > len(region):
            raise _fail(f"segments[{i}]", f"{segment.size} bytes at {segment.offset} run past "
                        f"the {len(region)} bytes of segment data")
        if segment.size and segment.offset < end:
            # Both writers place segments in table order, apart; overlapping
            # ones would let a small file name the same bytes many times.
            raise _fail(f"segments[{i}]", f"{segment.size} bytes at {segment.offset} overlap "
                        f"the segment before, which ends at {end} (writers place segments "
                        "one after another)")
        end = max(end, segment.offset + segment.size)
        segments.append(region[segment.offset:segment.offset + segment.size])

    program = _replaced(stored, segments=[])
    _restore_delegates(stored, program, segments, pte.segment_roles)
    constant = stored.constant_segment
    if constant is not None and constant.offsets:
        where = "constant_segment"
        blob = _segment(f"{where}.segment_index", constant.segment_index, segments)
        pte.segment_roles[constant.segment_index].append("constants")
        buffers = _split(where, constant.offsets, blob)
        exact = _exact_sizes(stored, len(blob))
        for index, size in exact.items():
            if index < len(buffers) and size < len(buffers[index]):
                tail = buffers[index][size:]
                if tail.tobytes() == bytes(len(tail)):
                    buffers[index] = buffers[index][:size]
        program.constant_buffer = [model.Buffer(storage=b) for b in buffers]
        program.constant_segment = model.SubsegmentOffsets(segment_index=0, offsets=[])
    if stored.mutable_data_segments:
        if len(stored.mutable_data_segments) > 1:
            raise _fail("mutable_data_segments", f"expected at most one (as ExecuTorch "
                        f"writes), got {len(stored.mutable_data_segments)}")
        mutable = stored.mutable_data_segments[0]
        where = "mutable_data_segments[0]"
        blob = _segment(f"{where}.segment_index", mutable.segment_index, segments)
        pte.segment_roles[mutable.segment_index].append("mutable data")
        pte.mutable_data = _split(where, mutable.offsets or [], blob)
        program.mutable_data_segments = None
    if stored.named_data:
        pte.named_data = _restore_named_data(stored, segments, pte.segment_roles)
        program.named_data = None
    pte.program = program
    return pte


def _check_inline_delegates(stored: model.Program) -> None:
    """Every inline delegate reference names an entry of backend_delegate_data
    (a file without segments: nothing else to restore)."""
    count = len(stored.backend_delegate_data or [])
    for p, plan in enumerate(stored.execution_plan or []):
        for d, delegate in enumerate(plan.delegates or []):
            ref = delegate.processed
            if ref is not None and ref.location == model.DataLocation.INLINE \
                    and not 0 <= ref.index < count:
                raise _fail(f"execution_plan[{p}].delegates[{d}].processed.index",
                            f"expected an index into the {count} backend_delegate_data "
                            f"entries, got {ref.index}")


def _restore_delegates(stored: model.Program, program: model.Program,
                       segments: List[memoryview], roles: List[List[str]]) -> None:
    inline = list(stored.backend_delegate_data or [])
    restored: Dict[int, int] = {}  # segment index -> its inline entry (delegates may share one)
    plans = []
    for p, plan in enumerate(stored.execution_plan or []):
        delegates = []
        changed = False
        for d, delegate in enumerate(plan.delegates or []):
            ref = delegate.processed
            where = f"execution_plan[{p}].delegates[{d}].processed"
            if ref is None or ref.location == model.DataLocation.INLINE:
                if ref is not None and not 0 <= ref.index < len(stored.backend_delegate_data or []):
                    raise _fail(f"{where}.index", "expected an index into the "
                                f"{len(stored.backend_delegate_data or [])} "
                                f"backend_delegate_data entries, got {ref.index}")
                delegates.append(delegate)
                continue
            if ref.location != model.DataLocation.SEGMENT:
                raise _fail(f"{where}.location", f"expected INLINE (0) or SEGMENT (1), "
                            f"got {ref.location}")
            blob = _segment(f"{where}.index", ref.index, segments)
            roles[ref.index].append(f"delegate {delegate.id}")
            if ref.index not in restored:  # one entry per segment, however many delegates name it
                restored[ref.index] = len(inline)
                inline.append(model.BackendDelegateInlineData(data=blob))
            reference = model.BackendDelegateDataReference(
                location=model.DataLocation.INLINE, index=restored[ref.index])
            delegates.append(_replaced(delegate, processed=reference))
            changed = True
        plans.append(_replaced(plan, delegates=delegates) if changed else plan)
    program.execution_plan = plans if stored.execution_plan is not None else None
    if len(inline) != len(stored.backend_delegate_data or []):
        program.backend_delegate_data = inline


def _restore_named_data(stored: model.Program, segments: List[memoryview],
                        roles: List[List[str]]) -> NamedDataOutput:
    buffers: List[memoryview] = []
    buffer_of: Dict[int, int] = {}
    entries: Dict[str, DataEntry] = {}
    for i, entry in enumerate(stored.named_data or []):
        where = f"named_data[{i}]"
        if entry.key is None:
            raise _fail(f"{where}.key", "missing")
        blob = _segment(f"{where}.segment_index", entry.segment_index, segments)
        if entry.key in entries and buffer_of.get(entry.segment_index) != \
                entries[entry.key].buffer_index:
            raise _fail(f"{where}.key", f"{entry.key!r} names two different segments")
        if entry.segment_index not in buffer_of:
            buffer_of[entry.segment_index] = len(buffers)
            buffers.append(blob)
        roles[entry.segment_index].append(f"named data {entry.key}")
        # alignment 1, as ExecuTorch: the file does not record it (see infer_options)
        entries[entry.key] = DataEntry(buffer_of[entry.segment_index], 1)
    return NamedDataOutput(buffers, entries)


def read_program(path: Union[str, "os.PathLike[str]"], *, copy: bool = False) -> PteFile:
    """Decode the .pte file at ``path``, mapping it into memory (not reading it).

    The blobs of the result are views of the mapping, which stays open as
    long as any of them (or the result) is alive. The mapping shows the file
    as it is: a file rewritten in place meanwhile changes the blobs, and one
    truncated meanwhile kills the process with SIGBUS when a blob past its
    new end is touched. With ``copy=True`` the file is read instead, and the
    blobs are views of bytes the result owns. An empty file is refused.
    """
    return decode_program(map_file(path, copy=copy))
