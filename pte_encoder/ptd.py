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

import operator
import struct
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import flat_tensor_model as ft
from ._blobs import FileBlob, blob, check_files, join
from ._codecs import FLAT_TENSOR
from ._files import Target, check_target, write_file
from .engine.check import check_scalar
from .errors import EncodeError, describe, fail, key_text
from .flatbuffer import MAX_SEGMENT_ALIGNMENT, check_alignment
from .pte import zeros

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from .types import DataPayloadLike

__all__ = ["encode_data_file", "write_data_file", "check_payload"]

FLAT_TENSOR_VERSION = 0
HEADER_MAGIC = b"FH01"
HEADER_LENGTH = 40
# The header is padded so that the FlatBuffer after it stays 16-aligned.
PADDED_HEADER_LENGTH = HEADER_LENGTH + -HEADER_LENGTH % 16
_HEADER = struct.Struct("<4sIQQQQ")


def _fail(path: str, value: Any, expected: str) -> EncodeError:
    return fail(path, value, expected, root="payload")


_RANGES = {"i": (-2**31, 2**31), "B": (0, 256)}


def _integers(path: str, value: Any, fmt: str) -> Any:
    """A list of plain ints in range as it is (checked in C: the types as a
    set, the range by min and max); anything else item by item, naming the
    first bad one."""
    if value.__class__ in (list, tuple):
        low, high = _RANGES[fmt]
        if not value or (set(map(type, value)) == {int} and low <= min(value) and max(value) < high):
            return value
    elif fmt == "B" and isinstance(value, (bytes, bytearray)):
        return value
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


_SCALAR_TYPES = {member.value: member for member in ft.ScalarType}


def _layout(path: str, layout: Any) -> Optional[ft.TensorLayout]:
    """ExecuTorch's TensorLayout (or ours) as the FlatBuffer table, checked."""
    if layout is None:
        return None
    try:
        scalar_type, sizes, dim_order = layout.scalar_type, layout.sizes, layout.dim_order
    except AttributeError:
        raise _fail(path, layout, "None or a TensorLayout (scalar_type, sizes, dim_order)") from None
    member = _SCALAR_TYPES.get(scalar_type) if scalar_type.__class__ is not bool else None
    if member is None:
        where = f"{path}.scalar_type"
        if isinstance(scalar_type, bool):
            raise _fail(where, scalar_type, "a ScalarType")
        try:
            code = operator.index(scalar_type)
        except TypeError:
            raise _fail(where, scalar_type, "a ScalarType") from None
        member = _SCALAR_TYPES.get(code)
        if member is None:
            raise _fail(where, scalar_type, f"a ScalarType (one of {sorted(_SCALAR_TYPES)})")
    dim_order = _integers(f"{path}.dim_order", dim_order, "B")
    return ft.TensorLayout(scalar_type=member, sizes=_integers(f"{path}.sizes", sizes, "i"),
                           dim_order=dim_order if isinstance(dim_order, bytes) else bytes(dim_order))


def _entry(key: Any, entry: Any, count: int) -> Tuple[int, int, Optional[ft.TensorLayout]]:
    """One named data entry, checked value by value: its buffer index, its
    alignment and its layout as the FlatBuffer table; :class:`EncodeError`
    naming the first bad value."""
    if not isinstance(key, str):
        raise _fail("named_data", key, "string keys")
    where = f"named_data[{key_text(key)}]"
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail(where, key, "a key encodable as UTF-8") from None
    try:
        index, alignment = entry.buffer_index, entry.alignment
    except AttributeError:
        raise _fail(where, entry, "a DataEntry (buffer_index, alignment, tensor_layout)") from None
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
        raise _fail(f"{where}.buffer_index", index, f"an index into the {count} buffers")
    # ExecuTorch takes a missing alignment (None) as 1.
    alignment = check_alignment(f"{where}.alignment", alignment, MAX_SEGMENT_ALIGNMENT)
    layout = _layout(f"{where}.tensor_layout", getattr(entry, "tensor_layout", None))
    return int(index), alignment or 1, layout


_INT = {int}


class _Layout:
    """The segments of a .ptd, placed as they are named: the FlatBuffer's
    segment table, the segment data as chunks (padding included), its end,
    and whether any chunk is file-backed."""

    def __init__(self, segment_alignment: int) -> None:
        self.segment_alignment = segment_alignment
        self.table: List[ft.DataSegment] = []
        self.data: List[Any] = []
        self.end = 0
        self.has_files = False
        # Padding between segments comes in few sizes: each small one is
        # made once per file; large ones are views of one shared block.
        self.pads: Dict[int, bytes] = {}


def _extract(payload: Any, layout: _Layout) -> List[ft.NamedData]:
    """The named data as the FlatBuffer's entries; their segments go to ``layout``."""
    for attribute in ("buffers", "named_data"):
        if not hasattr(payload, attribute):
            raise EncodeError(f"payload: expected a DataPayload (buffers, named_data), got "
                              f"{describe(payload)}: it has no {attribute!r}", path="",
                              value=payload, expected="a DataPayload", has_value=True)
    buffers = payload.buffers
    if not isinstance(buffers, Sequence) or isinstance(buffers, (str, bytes, bytearray)):
        raise _fail("buffers", buffers, "a list of buffers")
    named = payload.named_data
    if not isinstance(named, Mapping):
        raise _fail("named_data", named, "a mapping of keys to DataEntry")
    count = len(buffers)
    segment_of: Dict[int, int] = {}
    entries: List[ft.NamedData] = []
    # Locals: this loop runs once per key, and there may be many thousands.
    NamedData, DataSegment, pads = ft.NamedData, ft.DataSegment, layout.pads
    scalar_types, ints = _SCALAR_TYPES, _INT
    table, data, end, segment_alignment = layout.table, layout.data, 0, layout.segment_alignment
    for key, entry in named.items():
        # The common entry is checked in a few steps and its layout goes to
        # the codec as it is; anything else (or anything wrong) is checked
        # value by value, which names the first bad one. Keys are checked for
        # UTF-8 by the codec (see _encode); sizes out of range fail there too.
        try:
            index, alignment, tensor_layout = entry.buffer_index, entry.alignment, entry.tensor_layout
            common = key.__class__ is str and index.__class__ is int and 0 <= index < count \
                and alignment.__class__ is int and 0 < alignment <= MAX_SEGMENT_ALIGNMENT \
                and not alignment & (alignment - 1)
            if common and tensor_layout is not None:
                scalar_type, sizes, dim_order = \
                    tensor_layout.scalar_type, tensor_layout.sizes, tensor_layout.dim_order
                common = scalar_type.__class__ is not bool and scalar_type in scalar_types \
                    and sizes.__class__ is list and (not sizes or set(map(type, sizes)) == ints) \
                    and (dim_order.__class__ is bytes or dim_order.__class__ is list and (
                        not dim_order or set(map(type, dim_order)) == ints))
        except (AttributeError, TypeError):  # not an entry or a layout; an unhashable type
            common = False
        if not common:
            index, alignment, tensor_layout = _entry(key, entry, count)
        segment = segment_of.get(index)
        if segment is None:
            # A new segment: the first key naming a buffer gives its alignment.
            # Both alignments are powers of two: their lcm is the larger.
            blob_ = buffers[index]
            if blob_.__class__ is bytes:
                size = len(blob_)
            else:
                blob_ = blob(f"buffers[{index}]", blob_)
                if isinstance(blob_, FileBlob):
                    size = len(blob_)
                    layout.has_files = True
                else:
                    size = memoryview(blob_).nbytes
            offset = end + -end % (alignment if alignment > segment_alignment else segment_alignment)
            if offset > end:
                pad = pads.get(offset - end)
                if pad is not None:
                    data.append(pad)
                elif offset - end <= 4096:
                    pad = pads[offset - end] = bytes(offset - end)
                    data.append(pad)
                else:
                    data += zeros(offset - end)
            if size:
                data.append(blob_)
            end = offset + size
            segment = segment_of[index] = len(table)
            table.append(DataSegment(offset, size))
        entries.append(NamedData(key, segment, tensor_layout))
    layout.end = end
    return entries


def _encode(payload: Any, root: ft.FlatTensor) -> Tuple[List[Any], int]:
    try:
        return FLAT_TENSOR.encode_chunks(root)
    except EncodeError:
        # Name the place in the payload's terms if the entries say where
        # (a key that is not UTF-8); else the codec's message stands.
        for key, entry in payload.named_data.items():
            _entry(key, entry, len(payload.buffers))
        raise


def _check_segment_alignment(segment_alignment: Any) -> int:
    alignment = check_alignment("segment_alignment", segment_alignment, MAX_SEGMENT_ALIGNMENT)
    if alignment is None:
        raise _fail("segment_alignment", None, "a power of two")
    return alignment


def _data_file_chunks(payload: Any, segment_alignment: int) -> Tuple[List[Any], int, bool]:
    segment_alignment = _check_segment_alignment(segment_alignment)
    layout = _Layout(segment_alignment)
    entries = _extract(payload, layout)
    root = ft.FlatTensor(version=FLAT_TENSOR_VERSION, segments=layout.table, named_data=entries)
    chunks, fb_size = _encode(payload, root)
    base = fb_size + PADDED_HEADER_LENGTH
    base += -base % segment_alignment
    header = _HEADER.pack(HEADER_MAGIC, HEADER_LENGTH, PADDED_HEADER_LENGTH, fb_size, base, layout.end)
    # chunks[0] is the root offset and chunks[1] the identifier: the header
    # goes after them, and the root moves by the header's size.
    root_offset = struct.unpack("<I", chunks[0])[0] + PADDED_HEADER_LENGTH
    chunks[0:2] = [struct.pack("<I", root_offset), chunks[1],
                   header.ljust(PADDED_HEADER_LENGTH, b"\0")]
    chunks += zeros(base - fb_size - PADDED_HEADER_LENGTH)
    chunks += layout.data
    return chunks, base + layout.end, layout.has_files


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
    return join(chunks, has_files, what="payload: the .ptd")


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


def check_payload(payload: Any, *, segment_alignment: int = 128) -> None:
    """Raise :class:`EncodeError` where :func:`encode_data_file` would, without
    encoding (file-backed blobs are not read)."""
    _check_segment_alignment(segment_alignment)
    _extract(payload, _Layout(segment_alignment))
