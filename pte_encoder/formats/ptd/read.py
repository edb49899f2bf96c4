"""Read .ptd files (ExecuTorch's external data files): header, FlatTensor, segments.

Does what ExecuTorch 1.5.1's ``FlatTensorSerializer.deserialize`` does,
checking everything it reads: the ``FH01`` header after the file identifier
says how long the FlatBuffer is and where the segments start; each segment
becomes one buffer (buffer ``i`` is segment ``i``), and each named entry a
:class:`DataEntry` pointing at its segment, with its tensor layout.

Where this differs from ExecuTorch:

- The file does not record the alignment each entry was written with, nor
  the ``segment_alignment``. ExecuTorch answers 1 for every entry; here they
  are inferred from where the segments are: the segment alignment is 128
  (ExecuTorch's default) if the file is consistent with it, else the largest
  that is, and each entry gets the smallest alignment under which the writer
  puts its segment where it is (1 when the segment alignment explains it).
  So for a file ExecuTorch or :func:`~pte_encoder.encode_data_file` wrote,
  ``encode_data_file(f.payload, segment_alignment=f.segment_alignment)``
  gives back the same bytes (``f`` from :func:`analyze_data_file`; with the
  default 128, ``encode_data_file(decode_data_file(data)) == data``).
- Every offset and size is checked (ExecuTorch slices past the end
  silently): a header whose length or sizes are impossible, a segment
  outside the segment data, segments that overlap, a key naming a missing segment, a key given
  twice (ExecuTorch keeps the last) and a missing key raise
  :class:`DecodeError`, as a missing or damaged header does (ExecuTorch
  raises ``RuntimeError``) and a version newer than 0 (ExecuTorch raises
  ``NotImplementedError``).

Blobs are ``memoryview`` slices of the input, not copies: they stay valid
while the input object lives and is not changed (for :func:`read_data_file`,
the file's mmap, which stays open as long as any of them does, unless
``copy=True``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union

from ...schemas.flat_tensor import model as ft
from ...schemas.program import model
from ...schemas.flat_tensor.codec import FLAT_TENSOR
from ..common.mapped import map_file
from ..common.payload import DataEntry, DataPayload, Record, TensorLayout
from .header import FLAT_TENSOR_VERSION, DataFileHeader, read_header
from ...engine.reader import byte_view
from ...engine.errors import DecodeError

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from ..common.types import ReadableBuffer

__all__ = ["decode_data_file", "read_data_file", "analyze_data_file", "PtdFile",
           "DataFileHeader"]

# The newest FlatTensor version ExecuTorch 1.5.1 reads (the one it writes).
NEWEST_VERSION = FLAT_TENSOR_VERSION
DEFAULT_SEGMENT_ALIGNMENT = 128  # FlatTensorConfig's default
MAX_ALIGNMENT = 2**32  # the largest the writers accept after the FlatBuffer


class PtdFile(Record):
    """A decoded .ptd: the payload, and where everything was in the file.

    ``stored`` is the FlatTensor table as stored (segments and names, blobs
    not included); ``segment_alignment`` the segment alignment the file was
    written with, as inferred (see the module's docstring: with the payload's
    inferred entry alignments it gives back the file); ``segment_keys`` the
    keys naming each segment of ``stored.segments``; ``blobs`` each
    segment's bytes, a view of the input (the payload's buffers).
    """

    __slots__ = __match_args__ = ("payload", "header", "stored", "segment_alignment",
                                  "segment_keys", "blobs", "size")

    def __init__(self, payload: DataPayload, header: DataFileHeader, stored: ft.FlatTensor,
                 segment_alignment: int = DEFAULT_SEGMENT_ALIGNMENT,
                 segment_keys: Optional[List[List[str]]] = None,
                 blobs: Optional[List[memoryview]] = None, size: int = 0) -> None:
        self.payload = payload
        self.header = header
        self.stored = stored
        self.segment_alignment = segment_alignment
        self.segment_keys: List[List[str]] = [] if segment_keys is None else segment_keys
        self.blobs: List[memoryview] = [] if blobs is None else blobs
        self.size = size


def _fail(path: str, message: str, offset: Optional[int] = None) -> DecodeError:
    where = f" (at byte {offset})" if offset is not None else ""
    return DecodeError(f"{path}: {message}{where}", path, offset)


def _aligned(offset: int, alignment: int) -> int:
    return offset + -offset % alignment


def _entry_alignments(segments: Sequence[ft.DataSegment], alignment: int
                      ) -> Optional[List[int]]:
    """The smallest alignment of each segment's first entry under which the
    writer (with ``alignment`` as segment alignment) puts every segment where
    it is, or None if no alignments do."""
    found = []
    end = 0
    for segment in segments:
        # the writer aligns to lcm(alignment, entry's) = the larger (powers of two)
        at, entry = _aligned(end, alignment), 1
        while at != segment.offset:
            entry = max(entry, alignment) * 2
            at = _aligned(end, entry)
            if at > segment.offset or entry > MAX_ALIGNMENT:
                return None
        found.append(entry)
        end = segment.offset + segment.size
    return found


def _infer_alignments(header: DataFileHeader, segments: Sequence[ft.DataSegment]
                      ) -> Tuple[int, List[int]]:
    """The segment alignment (128 if it fits, else the largest that does) and
    each segment's entry alignment; (128, all 1) if nothing fits."""
    candidates = [DEFAULT_SEGMENT_ALIGNMENT] + [2**k for k in range(32, -1, -1)]
    for alignment in candidates:
        if _aligned(header.flatbuffer_end, alignment) != header.segment_base_offset:
            continue
        entries = _entry_alignments(segments, alignment)
        if entries is not None:
            return alignment, entries
    return DEFAULT_SEGMENT_ALIGNMENT, [1] * len(segments)


_SCALAR_TYPES = {member.value: member for member in model.ScalarType}


def _layout(layout: Optional[ft.TensorLayout]) -> Optional[TensorLayout]:
    if layout is None:
        return None
    code = int(layout.scalar_type)
    return TensorLayout(scalar_type=_SCALAR_TYPES.get(code, code),
                        sizes=list(layout.sizes or []),
                        dim_order=list(layout.dim_order or b""))


def analyze_data_file(data: ReadableBuffer) -> PtdFile:
    """Decode a whole .ptd file (bytes, bytearray, memoryview or mmap) into a
    :class:`PtdFile`: the payload, the header, the FlatTensor as stored, the
    inferred segment alignment and which keys name each segment. Raises
    :class:`DecodeError` for anything out of place."""
    view = byte_view(data)
    size = len(view)
    identifier = FLAT_TENSOR.schema.file_identifier
    if size < 8:
        raise DecodeError(f"a .ptd file is at least 8 bytes, got {size}", "", 0)
    if bytes(view[4:8]) != identifier:
        raise _fail("FlatTensor", f"expected the file identifier {identifier.decode()!r}, "
                    f"got {bytes(view[4:8])!r}", 4)
    header = read_header(view)
    stored: ft.FlatTensor = FLAT_TENSOR.decode(view, size=header.flatbuffer_end)
    if stored.version > NEWEST_VERSION:
        raise _fail("version", f"expected at most {NEWEST_VERSION} (the newest ExecuTorch "
                    f"1.5.1 reads), got {stored.version}")
    table = stored.segments or []
    base, data_size = header.segment_base_offset, header.segment_data_size
    if table and not base:
        raise _fail("header.segment_base_offset", f"0, but the file lists {len(table)} "
                    "segments", 32)
    buffers: List[memoryview] = []
    end = 0
    for i, segment in enumerate(table):
        if segment.offset > data_size or segment.size > data_size - segment.offset:
            raise _fail(f"segments[{i}]", f"{segment.size} bytes at {segment.offset} run past "
                        f"the {data_size} bytes of segment data")
        if segment.size and segment.offset < end:
            # The writer places segments in table order, apart (the schema
            # says "sorted by offset"); overlapping ones would let a small
            # file name the same bytes many times.
            raise _fail(f"segments[{i}]", f"{segment.size} bytes at {segment.offset} overlap "
                        f"the segment before, which ends at {end} (the writer places segments "
                        "one after another)")
        end = max(end, segment.offset + segment.size)
        start = base + segment.offset
        buffers.append(view[start:start + segment.size])
    segment_alignment, alignments = _infer_alignments(header, table)
    keys: List[List[str]] = [[] for _ in table]
    named: Dict[str, DataEntry] = {}
    for i, entry in enumerate(stored.named_data or []):
        where = f"named_data[{i}]"
        if entry.key is None:
            raise _fail(f"{where}.key", "missing")
        if entry.key in named:
            raise _fail(f"{where}.key", f"{entry.key!r} is given twice (keys are unique "
                        "within a file)")
        if not 0 <= entry.segment_index < len(table):
            raise _fail(f"{where}.segment_index", f"expected a segment index below "
                        f"{len(table)}, got {entry.segment_index}")
        keys[entry.segment_index].append(entry.key)
        named[entry.key] = DataEntry(buffer_index=entry.segment_index,
                                     alignment=alignments[entry.segment_index],
                                     tensor_layout=_layout(entry.tensor_layout))
    return PtdFile(payload=DataPayload(buffers=buffers, named_data=named), header=header,
                   stored=stored, segment_alignment=segment_alignment, segment_keys=keys,
                   blobs=buffers, size=size)


def decode_data_file(data: ReadableBuffer) -> DataPayload:
    """The payload of a .ptd file (bytes, bytearray, memoryview or mmap), as
    ExecuTorch's ``FlatTensorSerializer.deserialize`` returns it: one buffer
    per segment (``memoryview``s of ``data``), each key's
    :class:`DataEntry` with its buffer index, inferred alignment and tensor
    layout. Raises :class:`DecodeError` naming the field path (and byte
    offset) of anything out of place."""
    return analyze_data_file(data).payload


def read_data_file(path: Union[str, "os.PathLike[str]"], *, copy: bool = False) -> DataPayload:
    """Decode the .ptd file at ``path``, mapping it into memory (not reading it).

    The buffers are views of the mapping, which stays open as long as any of
    them is alive. The mapping shows the file as it is: a file rewritten in
    place meanwhile changes the buffers, and one truncated meanwhile kills
    the process with SIGBUS when a buffer past its new end is touched. With
    ``copy=True`` the file is read instead, and the buffers are views of
    bytes the payload owns. An empty file is refused.
    """
    return decode_data_file(map_file(path, copy=copy))
