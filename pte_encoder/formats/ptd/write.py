"""Complete .ptd files (ExecuTorch's external data files): a FlatTensor
FlatBuffer, an extended header and the data segments.

Follows ExecuTorch 1.5.1's ``FlatTensorSerializer.serialize``: each buffer a
key names becomes one segment (keys sharing a buffer share it), placed after
the previous one at the least common multiple of ``segment_alignment`` and
the first naming entry's alignment. The FlatBuffer (made by the flat tensor
codec) lists the segments and the names; the header (``FH01``, 40 bytes
padded to 48, after the file identifier) gives the FlatBuffer's size and
where the segments start: the first multiple of ``segment_alignment`` after
header and FlatBuffer. Blobs travel as views of the caller's buffers, and
file-backed blobs as themselves, until they are joined or written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Sequence, Tuple

from ...schemas.flat_tensor import model as ft
from ..common.blobs import FileBlob, blob, check_files, join_chunks
from ...schemas.flat_tensor.codec import FLAT_TENSOR
from ..common.entries import Entries, check_buffers, checked_entries, count_buffers
from ..common.output import Target, check_target, write_file
from ..common.segments import SegmentData, check_segment_alignment, insert_header, zeros
from ...engine.check import unreadable
from ...engine.errors import EncodeError, describe
from .header import FLAT_TENSOR_VERSION, PADDED_LENGTH, pack_header

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from ..common.types import DataPayloadLike

__all__ = ["encode_data_file", "write_data_file"]


class _Segments:
    """The segments of a .ptd, placed as they are named: the FlatBuffer's
    segment table, the data (padding included) and whether any of it is
    file-backed."""

    def __init__(self, segment_alignment: int) -> None:
        self.table: List[ft.DataSegment] = []
        self.data = SegmentData(segment_alignment)
        self.has_files = False


def _attribute(payload: Any, name: str) -> Any:
    """``payload.buffers`` or ``payload.named_data``, or an EncodeError."""
    try:
        return getattr(payload, name)
    except AttributeError:
        raise EncodeError(f"payload: expected a DataPayload (buffers, named_data), got "
                          f"{describe(payload)}: it has no {name!r}", path="",
                          value=payload, expected="a DataPayload", has_value=True) from None
    except Exception as exc:  # a property that raises: its error, with the place
        raise unreadable(name, exc) from None


def _parts(payload: Any) -> Tuple[Sequence[Any], Any]:
    """The payload's buffers (checked to be a sequence) and named data."""
    buffers, named = _attribute(payload, "buffers"), _attribute(payload, "named_data")
    return check_buffers("buffers", buffers), named


def _entries(named: Any, buffers: Sequence[Any], quick: bool = True) -> Entries:
    """The named data, checked (see _entries.py)."""
    return checked_entries(named, count_buffers("buffers", buffers), where="named_data",
                           buffers="buffers", layouts=True, quick=quick)


def _extract(named: Any, buffers: Sequence[Any], placed: _Segments) -> List[ft.NamedData]:
    """The named data as the FlatBuffer's entries; the segments go to ``placed``."""
    keys, indices, alignments, layouts = _entries(named, buffers)
    segment_of: Dict[int, int] = {}
    # The segments by columns, as the entries come: each is placed, and the
    # tables are made, in one loop once all are known.
    segments: List[int] = []
    blobs: List[Any] = []
    sizes: List[int] = []
    segment_alignments: List[int] = []
    for index, alignment in zip(indices, alignments):
        segment = segment_of.setdefault(index, len(blobs))
        if segment == len(blobs):
            # A new segment: the first key naming a buffer gives its alignment.
            try:  # buffer_at, inline: this runs once per buffer
                blob_ = buffers[index]
            except Exception as exc:
                raise unreadable(f"buffers[{index}]", exc) from None
            if blob_.__class__ is bytes:
                size = len(blob_)
            else:
                blob_ = blob(f"buffers[{index}]", blob_)
                if isinstance(blob_, FileBlob):
                    size = len(blob_)
                    placed.has_files = True
                else:
                    size = memoryview(blob_).nbytes
            blobs.append(blob_)
            sizes.append(size)
            segment_alignments.append(alignment)
        segments.append(segment)
    placed.table += map(ft.DataSegment, placed.data.add_blobs(blobs, sizes, segment_alignments), sizes)
    return list(map(ft.NamedData, keys, segments, layouts))


def _data_file_chunks(payload: Any, segment_alignment: int) -> Tuple[List[Any], int, bool]:
    segment_alignment = check_segment_alignment(segment_alignment)
    buffers, named = _parts(payload)
    placed = _Segments(segment_alignment)
    try:
        root = ft.FlatTensor(version=FLAT_TENSOR_VERSION, segments=placed.table,
                             named_data=_extract(named, buffers, placed))
        chunks, fb_size = FLAT_TENSOR.encode_chunks(root)
    except EncodeError:
        # The quick check leaves some values to the codec (the range of sizes
        # and dim_order), so the error found may not be the first, nor in the
        # payload's terms: the full check names the first bad entry, if any;
        # else the error stands.
        _entries(named, buffers, quick=False)
        raise
    base = fb_size + PADDED_LENGTH
    base += -base % segment_alignment
    data = placed.data
    insert_header(chunks, pack_header(fb_size, base, data.size))
    chunks += zeros(base - fb_size - PADDED_LENGTH)
    chunks += data.chunks
    return chunks, base + data.size, placed.has_files


def encode_data_file(payload: DataPayloadLike, *, segment_alignment: int = 128) -> bytes:
    """Encode ``payload`` as a .ptd file, byte for byte as ExecuTorch 1.5.1's
    ``FlatTensorSerializer(FlatTensorConfig(segment_alignment)).serialize``.

    ``payload`` is a :class:`DataPayload` or ExecuTorch's own: ``buffers``
    (bytes-like or file-backed blobs: :class:`FileData`, ``FileBackedData``)
    and ``named_data``, mapping each key to a :class:`DataEntry`
    (``buffer_index``, ``alignment``, ``tensor_layout``). File-backed blobs
    are read in. Raises :class:`EncodeError` for bad input; the payload is
    not modified.
    """
    chunks, _size, has_files = _data_file_chunks(payload, segment_alignment)
    return join_chunks(chunks, has_files, what="payload: the .ptd")


def write_data_file(payload: DataPayloadLike, file: Target, *, segment_alignment: int = 128) -> int:
    """Write the bytes :func:`encode_data_file` returns to a path or binary
    file object; return the number of bytes written.

    Blobs go from their own buffers to the file, and file-backed blobs from
    their files to it in pieces, never whole in memory. A path is written as
    :func:`write_program` writes one (atomically for a regular file, nothing
    left on error). Files backing the blobs are checked before writing (there,
    and long enough); a blob that still gives other than ``len()`` bytes
    while it streams raises :class:`EncodeError`: a regular file is then left
    untouched, but a file object keeps what was written before.
    """
    check_target(file)  # a bad file argument is refused before anything is computed
    chunks, _size, has_files = _data_file_chunks(payload, segment_alignment)
    if has_files:
        check_files(chunks)
    return write_file(file, chunks, temporary_prefix=".ptd-")
