"""The types of the named data and blobs that .pte and .ptd files take, for
type checkers (re-exported by ``pte_encoder.types``).

The package's modules import this module only while type checking.
"""

from __future__ import annotations

import mmap
from typing import Any, Literal, Mapping, Optional, Protocol, Sequence, SupportsIndex, Union

from ...schemas.program.model import ByteVector

__all__ = ["ReadableBuffer", "LayoutName", "FileBackedLike", "Blob", "DataEntryLike", "NamedDataStoreLike", "TensorLayoutLike",
           "PayloadEntryLike", "DataPayloadLike"]

#: What the readers take (``decode_program``, ``decode_data_file``, ...): a
#: file's bytes, or a writable or mapped buffer of them.
ReadableBuffer = Union[bytes, bytearray, memoryview, mmap.mmap]

#: The ``layout`` option: whose bytes to write (flatc's, or the flatbuffers
#: runtime's that ExecuTorch 1.5.1's default writer uses).
LayoutName = Literal["flatc", "flatbuffers"]


class FileBackedLike(Protocol):
    """A blob kept in a file (:class:`pte_encoder.FileData`, ExecuTorch's
    ``FileBackedData``): written by ``write_to_file``, ``len`` bytes long."""

    def write_to_file(self, __file: Any) -> object: ...

    def __len__(self) -> int: ...


#: A named blob, in a .pte's named data or a .ptd payload: bytes-like, or
#: file-backed.
Blob = Union[ByteVector, FileBackedLike]


class DataEntryLike(Protocol):
    """One key of the named data: which buffer, and its segment's alignment
    (None: 1, as ExecuTorch takes it)."""

    @property
    def buffer_index(self) -> SupportsIndex: ...

    @property
    def alignment(self) -> Optional[SupportsIndex]: ...


class NamedDataStoreLike(Protocol):
    """The ``named_data`` option: blobs, and key -> entry naming one of them
    (:class:`pte_encoder.NamedDataOutput`, ExecuTorch's ``NamedDataStoreOutput``)."""

    @property
    def buffers(self) -> Sequence[Blob]: ...

    @property
    def pte_data(self) -> Mapping[str, DataEntryLike]: ...


class TensorLayoutLike(Protocol):
    """How a .ptd blob reads as a tensor (:class:`pte_encoder.TensorLayout`,
    ExecuTorch's ``exir.tensor_layout.TensorLayout``)."""

    @property
    def scalar_type(self) -> SupportsIndex: ...

    @property
    def sizes(self) -> Sequence[SupportsIndex]: ...

    @property
    def dim_order(self) -> Sequence[SupportsIndex]: ...


class PayloadEntryLike(DataEntryLike, Protocol):
    """One key of a .ptd payload: a :class:`DataEntryLike` with its tensor's
    layout (None: not a tensor, or not said)."""

    @property
    def tensor_layout(self) -> Optional[TensorLayoutLike]: ...


class DataPayloadLike(Protocol):
    """What :func:`pte_encoder.encode_data_file` writes
    (:class:`pte_encoder.DataPayload`, ExecuTorch's ``DataPayload``)."""

    @property
    def buffers(self) -> Sequence[Blob]: ...

    @property
    def named_data(self) -> Mapping[str, PayloadEntryLike]: ...
