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

import math
import operator
import struct
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import flat_tensor_model as ft
from ._blobs import FileBlob, blob, check_files, join, short_repr
from ._codecs import FLAT_TENSOR
from ._files import Target, write_file
from .engine.check import check_scalar
from .errors import EncodeError
from .flatbuffer import check_alignment

__all__ = ["encode_data_file", "write_data_file", "check_payload"]

FLAT_TENSOR_VERSION = 0
HEADER_MAGIC = b"FH01"
HEADER_LENGTH = 40
# The header is padded so that the FlatBuffer after it stays 16-aligned.
PADDED_HEADER_LENGTH = HEADER_LENGTH + -HEADER_LENGTH % 16
_HEADER = struct.Struct("<4sIQQQQ")


def _fail(path: str, value: Any, expected: str) -> EncodeError:
    return EncodeError(f"{path}: expected {expected}, got {short_repr(value)}")


def _integers(path: str, value: Any, fmt: str) -> List[int]:
    if isinstance(value, (bytes, bytearray)) and fmt == "B":
        return list(value)
    if not isinstance(value, (list, tuple)):
        raise _fail(path, value, "a list of integers")
    items = []
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        if isinstance(item, bool):
            raise _fail(where, item, "an integer")
        try:
            number = operator.index(item)
        except TypeError:
            raise _fail(where, item, "an integer") from None
        check_scalar(where, number, fmt)
        items.append(number)
    return items


def _layout(path: str, layout: Any) -> Optional[ft.TensorLayout]:
    """ExecuTorch's TensorLayout (or ours) as the FlatBuffer table, checked."""
    if layout is None:
        return None
    values = {}
    for name in ("scalar_type", "sizes", "dim_order"):
        if not hasattr(layout, name):
            raise _fail(path, layout, "None or a TensorLayout (scalar_type, sizes, dim_order)")
        values[name] = getattr(layout, name)
    where = f"{path}.scalar_type"
    scalar_type = values["scalar_type"]
    if isinstance(scalar_type, bool):
        raise _fail(where, scalar_type, "a ScalarType")
    try:
        code = operator.index(scalar_type)
    except TypeError:
        raise _fail(where, scalar_type, "a ScalarType") from None
    if code not in ft.ScalarType._value2member_map_:
        raise _fail(where, scalar_type, f"a ScalarType (one of {sorted(ft.ScalarType._value2member_map_)})")
    return ft.TensorLayout(scalar_type=ft.ScalarType(code),
                           sizes=_integers(f"{path}.sizes", values["sizes"], "i"),
                           dim_order=bytes(_integers(f"{path}.dim_order", values["dim_order"], "B")))


class _Segment:
    """A segment's blob (bytes-like or a FileBlob) and its alignment."""

    __slots__ = ("data", "size", "alignment")

    def __init__(self, data: Any, alignment: int) -> None:
        self.data = data
        self.size = len(data) if isinstance(data, FileBlob) else memoryview(data).nbytes
        self.alignment = alignment


def _extract(payload: Any) -> Tuple[List[_Segment], List[ft.NamedData]]:
    for attribute in ("buffers", "named_data"):
        if not hasattr(payload, attribute):
            raise EncodeError(f"payload: expected a DataPayload (buffers, named_data), got "
                              f"{short_repr(payload)}: it has no {attribute!r}")
    buffers = payload.buffers
    if not isinstance(buffers, Sequence) or isinstance(buffers, (str, bytes, bytearray)):
        raise _fail("buffers", buffers, "a list of buffers")
    named = payload.named_data
    if not isinstance(named, Mapping):
        raise _fail("named_data", named, "a mapping of keys to DataEntry")
    segments: List[_Segment] = []
    segment_of: Dict[int, int] = {}
    entries: List[ft.NamedData] = []
    for key, entry in named.items():
        if not isinstance(key, str):
            raise _fail("named_data", key, "string keys")
        where = f"named_data[{short_repr(key)}]"
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:
            raise _fail(where, key, "a key encodable as UTF-8") from None
        for attribute in ("buffer_index", "alignment"):
            if not hasattr(entry, attribute):
                raise _fail(where, entry, "a DataEntry (buffer_index, alignment, tensor_layout)")
        index = entry.buffer_index
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(buffers):
            raise _fail(f"{where}.buffer_index", index,
                        f"an index into the {len(buffers)} buffers")
        # ExecuTorch takes a missing alignment (None) as 1.
        alignment = entry.alignment
        check_alignment(f"{where}.alignment", alignment)
        layout = _layout(f"{where}.tensor_layout", getattr(entry, "tensor_layout", None))
        if index not in segment_of:
            # The first key naming a buffer gives its segment's alignment.
            segment_of[index] = len(segments)
            segments.append(_Segment(blob(f"buffers[{index}]", buffers[index]), alignment or 1))
        entries.append(ft.NamedData(key=key, segment_index=segment_of[index],
                                    tensor_layout=layout))
    return segments, entries


def _check_segment_alignment(segment_alignment: Any) -> None:
    if segment_alignment is None:
        raise EncodeError("segment_alignment: expected a power of two, got None")
    check_alignment("segment_alignment", segment_alignment)


def _data_file_chunks(payload: Any, segment_alignment: int) -> Tuple[List[Any], int]:
    _check_segment_alignment(segment_alignment)
    segments, entries = _extract(payload)

    table: List[ft.DataSegment] = []
    data: List[Any] = []
    end = 0  # of the segment data so far
    for segment in segments:
        alignment = math.lcm(segment_alignment, segment.alignment)
        offset = end + -end % alignment
        table.append(ft.DataSegment(offset=offset, size=segment.size))
        if offset > end:
            data.append(bytes(offset - end))
        if segment.size:
            data.append(segment.data)
        end = offset + segment.size

    root = ft.FlatTensor(version=FLAT_TENSOR_VERSION, segments=table, named_data=entries)
    chunks, fb_size = FLAT_TENSOR.encode_chunks(root)
    base = fb_size + PADDED_HEADER_LENGTH
    base += -base % segment_alignment
    header = _HEADER.pack(HEADER_MAGIC, HEADER_LENGTH, PADDED_HEADER_LENGTH, fb_size, base, end)
    # chunks[0] is the root offset and chunks[1] the identifier: the header
    # goes after them, and the root moves by the header's size.
    root_offset = struct.unpack("<I", chunks[0])[0] + PADDED_HEADER_LENGTH
    chunks[0:2] = [struct.pack("<I", root_offset), chunks[1],
                   header.ljust(PADDED_HEADER_LENGTH, b"\0")]
    chunks.append(bytes(base - fb_size - PADDED_HEADER_LENGTH))
    chunks += data
    return chunks, base + end


def encode_data_file(payload: Any, *, segment_alignment: int = 128) -> bytes:
    """Encode ``payload`` as a .ptd file, byte for byte as ExecuTorch 1.5.1's
    ``FlatTensorSerializer(FlatTensorConfig(segment_alignment)).serialize``.

    ``payload`` is a :class:`DataPayload` or ExecuTorch's own: ``buffers``
    (bytes-like or file-backed blobs: :class:`FileData`, ``FileBackedData``)
    and ``named_data``, mapping each key to a :class:`DataEntry`
    (``buffer_index``, ``alignment``, ``tensor_layout``). File-backed blobs
    are read in. Raises :class:`EncodeError` for bad input; the payload is
    not modified.
    """
    chunks, _size = _data_file_chunks(payload, segment_alignment)
    return join(chunks)


def write_data_file(payload: Any, file: Target, *, segment_alignment: int = 128) -> int:
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
    chunks, _size = _data_file_chunks(payload, segment_alignment)
    check_files(chunks)
    return write_file(file, chunks, temporary_prefix=".ptd-")


def check_payload(payload: Any, *, segment_alignment: int = 128) -> None:
    """Raise :class:`EncodeError` where :func:`encode_data_file` would, without
    encoding (file-backed blobs are not read)."""
    _check_segment_alignment(segment_alignment)
    _extract(payload)
