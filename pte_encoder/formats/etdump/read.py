"""Read ETDump files (.etdp): what ExecuTorch's runtime writes when it runs a
program with event tracing on, and the tensors of its debug buffer.

:func:`decode_etdump` gives, field by field, what ExecuTorch 1.5.1's
``deserialize_from_etdump_flatcc`` gives (``devtools/etdump/serialize.py``:
``flatc --json --size-prefixed``, a JSON parse and its dataclasses), as the
model of schema/etdump.fbs (``pte_encoder.etdump``). The differences:

- the root class is ``ETDump`` (ExecuTorch's is ``ETDumpFlatCC``);
- ``Value.val`` is a ``ValueType`` member (``ValueType.Tensor``; ExecuTorch
  has its name, ``"Tensor"``), and ``Tensor.scalar_type`` a ScalarType of
  this schema with the same numbers as exir's;
- ``delegate_debug_metadata`` is a ``memoryview`` of the input (ExecuTorch:
  ``bytes``);
- ``DebugEvent`` lists its fields in the schema's order (ExecuTorch's
  dataclass puts ``name`` first): construct it by keyword;
- where ExecuTorch fails, this reads: an absent string, table or vector that
  ExecuTorch's dataclass does not mark Optional (``RunData.name``,
  ``Tensor.sizes``, ``DebugEvent.debug_entry``, ...) is ``None`` here, a
  TypeError there; NaN and infinite floats, enum values it does not know
  (kept as ``int``) and ``QUINT4X2``/``QUINT2X4`` (spelt with a capital X
  here and in the schema, not in exir) make its JSON step fail;
- ``Float`` and ``Double`` values are the file's: ExecuTorch's go through
  flatc's JSON, which prints 6 digits after the point for a float and 12
  for a double (1e-160 comes back as 0.0);
- where ExecuTorch reads garbage, this refuses: flatc does not verify, so
  offsets out of bounds, a wrong size prefix or trailing bytes go through
  there; here every offset, length and alignment is checked and anything
  wrong is a :class:`DecodeError`.

Both forms are read: the runtime's, size-prefixed (a uint32 giving the
number of bytes after it, which must be exactly the rest of the file; the
identifier ``ED00`` at bytes 8..12), and the plain one ExecuTorch's own
``serialize_to_etdump_flatcc`` writes (identifier at 4..8).

Times (``start_time``, ``end_time``) are the runtime's ticks: nanoseconds
with the default POSIX platform, other units elsewhere; the file does not
say which.
"""

from __future__ import annotations

import os
import struct
from typing import Any, List, Optional, Union

from ...engine.errors import DecodeError, describe
from ...engine.reader import byte_view
from ...schemas.etdump import model
from ...schemas.etdump.codec import ETDUMP
from ..common.mapped import map_file
from ..common.payload import Record

__all__ = ["decode_etdump", "read_etdump", "is_size_prefixed", "DebugTensor", "debug_tensor",
           "debug_tensors", "read_debug_buffer", "ELEMENT_SIZES"]

IDENTIFIER = ETDUMP.schema.file_identifier  # b"ED00"

# Bytes per element of each scalar type (QUINT4X2/QUINT2X4 pack two or four
# values in a byte, which the runtime counts as one element of one byte).
ELEMENT_SIZES = {
    model.ScalarType.BYTE: 1, model.ScalarType.CHAR: 1, model.ScalarType.SHORT: 2,
    model.ScalarType.INT: 4, model.ScalarType.LONG: 8, model.ScalarType.HALF: 2,
    model.ScalarType.FLOAT: 4, model.ScalarType.DOUBLE: 8, model.ScalarType.BOOL: 1,
    model.ScalarType.QINT8: 1, model.ScalarType.QUINT8: 1, model.ScalarType.QINT32: 4,
    model.ScalarType.BFLOAT16: 2, model.ScalarType.QUINT4X2: 1, model.ScalarType.QUINT2X4: 1,
    model.ScalarType.BITS16: 2, model.ScalarType.FLOAT8E5M2: 1, model.ScalarType.FLOAT8E4M3FN: 1,
    model.ScalarType.FLOAT8E5M2FNUZ: 1, model.ScalarType.FLOAT8E4M3FNUZ: 1,
    model.ScalarType.UINT16: 2, model.ScalarType.UINT32: 4, model.ScalarType.UINT64: 8,
}


def is_size_prefixed(data: Any) -> bool:
    """Whether the ETDump in ``data`` is in the runtime's size-prefixed form
    (identifier at bytes 8..12) rather than the plain one (at 4..8).
    :class:`DecodeError` if it has the identifier in neither place."""
    view = byte_view(data)
    size = len(view)
    at_8 = size >= 12 and bytes(view[8:12]) == IDENTIFIER
    at_4 = size >= 8 and bytes(view[4:8]) == IDENTIFIER
    if at_8 and at_4:
        # A prefixed buffer whose root offset spells "ED00" (808 MB): only if
        # the prefix says so; else the plain form.
        declared: int = struct.unpack_from("<I", view, 0)[0]
        return declared == size - 4
    if at_8 or at_4:
        return at_8
    if size < 8:
        raise DecodeError(f"ETDump: expected at least 8 bytes, got {size}", "", 0)
    found = bytes(view[8:12]) if size >= 12 else b""
    raise DecodeError(f"ETDump: expected the file identifier {IDENTIFIER.decode()!r} at byte 8 "
                      f"(size-prefixed, as the runtime writes it) or 4, got {found!r} and "
                      f"{bytes(view[4:8])!r}", "", 8 if size >= 12 else 4)


def decode_etdump(data: Any) -> model.ETDump:
    """The ETDump in ``data`` (bytes, bytearray, memoryview or mmap), in either
    form (see the module's docstring). Raises :class:`DecodeError` naming the
    field path and byte offset of anything out of place: a file of another
    kind, a truncated one, a size prefix that does not give the rest of the
    file."""
    result: model.ETDump = ETDUMP.decode(data, size_prefixed=is_size_prefixed(data))
    return result


def read_etdump(path: Union[str, "os.PathLike[str]"]) -> model.ETDump:
    """Decode the ETDump file at ``path``, mapping it into memory (not reading
    it): the ``delegate_debug_metadata`` views keep the mapping open while
    they live. ``OSError`` if it cannot be opened; an empty file is a
    :class:`DecodeError`."""
    return decode_etdump(map_file(path))


# -- the debug buffer ------------------------------------------------------------

class DebugTensor(Record):
    """A tensor the runtime copied into its debug buffer: its element type
    (``scalar_type``: a ScalarType, or an ``int`` the schema does not name),
    ``sizes``, ``strides`` (as logged; the bytes are the tensor's memory as
    it was, not rearranged) and ``data``, its bytes: a ``memoryview`` of the
    debug buffer, not a copy. ``numpy.frombuffer(t.data, dtype).reshape(t.sizes)``
    makes an array of it, where numpy is at hand."""

    __slots__ = __match_args__ = ("scalar_type", "sizes", "strides", "data")

    def __init__(self, scalar_type: Union[model.ScalarType, int], sizes: List[int],
                 strides: List[int], data: memoryview) -> None:
        self.scalar_type = scalar_type
        self.sizes = sizes
        self.strides = strides
        self.data = data

    @property
    def nbytes(self) -> int:
        return len(self.data)


def read_debug_buffer(path: Union[str, "os.PathLike[str]"]) -> memoryview:
    """The debug buffer file at ``path`` (what the runtime writes beside the
    ETDump when it logs tensors), mapped into memory, as a memoryview: give
    it to :func:`debug_tensor`. The mapping stays open while any view of it
    lives. ``OSError`` if it cannot be opened; an empty file is a
    :class:`DecodeError`."""
    return byte_view(map_file(path))


def debug_tensor(tensor: model.Tensor, buffer: Any, path: str = "tensor") -> DebugTensor:
    """The bytes of ``tensor`` (a Tensor of a debug event) in the debug
    ``buffer`` (bytes, bytearray, memoryview or mmap; see
    :func:`read_debug_buffer`): ``prod(sizes) * element size`` bytes at its
    ``offset``, as a view of ``buffer``. A tensor of no bytes gives an empty
    view, whatever its offset (the runtime writes -1 for it). Raises
    :class:`DecodeError` (naming ``path``) when the bytes are not all in the
    buffer, the sizes are missing or negative, or the element size of the
    scalar type is not known."""
    if not isinstance(tensor, model.Tensor):
        raise DecodeError(f"{path}: expected an ETDump Tensor, got {type(tensor).__name__}", path)
    view = byte_view(buffer)
    code = tensor.scalar_type
    element = ELEMENT_SIZES.get(code) if isinstance(code, int) else None
    if element is None:
        raise DecodeError(f"{path}.scalar_type: {describe(code)} has no known element size "
                          f"(expected one of {', '.join(t.name for t in ELEMENT_SIZES)})",
                          f"{path}.scalar_type")
    if tensor.sizes is None:
        raise DecodeError(f"{path}.sizes: missing (the runtime always writes them)", f"{path}.sizes")
    for i, size in enumerate(tensor.sizes):
        if not isinstance(size, int) or size < 0:
            raise DecodeError(f"{path}.sizes[{i}]: expected a size of at least 0, got {describe(size)}",
                              f"{path}.sizes[{i}]")
    count = 0 if 0 in tensor.sizes else 1
    for size in tensor.sizes if count else ():
        count *= size
        if count * element > len(view):  # too big already: stop before the number grows
            break
    nbytes = count * element
    offset = tensor.offset
    if nbytes == 0:
        start = 0
    elif not 0 <= offset <= len(view) - nbytes:
        raise DecodeError(f"{path}.offset: {nbytes} bytes at {offset} are not all in the "
                          f"{len(view)}-byte debug buffer", f"{path}.offset")
    else:
        start = offset
    return DebugTensor(code, list(tensor.sizes), list(tensor.strides or []),
                       view[start:start + nbytes])


def debug_tensors(entry: Union[model.DebugEvent, model.Value], buffer: Any) -> List[DebugTensor]:
    """The tensors a debug event (or its ``debug_entry`` Value) logged, with
    their bytes in ``buffer`` (see :func:`debug_tensor`): one for a Tensor,
    one per item of a TensorList, none for other kinds of value."""
    if isinstance(entry, model.DebugEvent):
        value: Optional[model.Value] = entry.debug_entry
        path = "debug_entry"
    elif isinstance(entry, model.Value):
        value, path = entry, "value"
    else:
        raise DecodeError(f"expected an ETDump DebugEvent or Value, got {type(entry).__name__}")
    if value is None:
        return []
    if value.val == model.ValueType.Tensor:
        if value.tensor is None:
            raise DecodeError(f"{path}.tensor: missing, though val is Tensor", f"{path}.tensor")
        return [debug_tensor(value.tensor, buffer, f"{path}.tensor")]
    if value.val == model.ValueType.TensorList:
        tensors = value.tensor_list.tensors if value.tensor_list is not None else None
        if tensors is None:
            raise DecodeError(f"{path}.tensor_list: missing, though val is TensorList",
                              f"{path}.tensor_list")
        return [debug_tensor(t, buffer, f"{path}.tensor_list.tensors[{i}]")
                for i, t in enumerate(tensors)]
    return []
