"""The types of pte_encoder's inputs, for type checkers.

    from pte_encoder.types import EncodeOptions, ProgramLike

A ``<Table>Like`` (``ProgramLike``, ``TensorLike``, ...; generated from the
schema into ``_program_types.py``) is a read-only Protocol of one table:
``pte_encoder.Program`` and ExecuTorch's ``exir.schema.Program`` both fit
``ProgramLike`` as they are, and so does any object tree with the same
attributes; a str, or an ``ExecutionPlan`` where a ``Program`` belongs, does
not. ``NamedDataStoreLike`` is the shape of the ``named_data`` option
(:class:`pte_encoder.NamedDataOutput`, or ExecuTorch's
``NamedDataStoreOutput``; a ``Blob`` is bytes-like or file-backed),
``MutableBlob`` an item of ``mutable_data``, ``LayoutName`` the ``layout``
option, and ``EncodeOptions`` the keyword arguments ``options_from_json``
returns (all but ``layout``, which the JSON form does not carry), so that
``encode_program(p, **options)`` is checked keyword by keyword. For .ptd
files, ``DataPayloadLike`` is what ``encode_data_file`` takes and
``DataFileOptions`` what ``payload_from_json`` returns with it.

pte_encoder's own modules import this module only while type checking, so
``import pte_encoder`` does not load it.
"""

from __future__ import annotations

from typing import (Any, Literal, Mapping, Optional, Protocol, Sequence, SupportsIndex, TypedDict,
                    Union)

from ._program_types import *  # noqa: F401,F403  (one protocol per table and union)
from ._program_types import BufferLike
from ._program_types import __all__ as _program_all
from .model import ByteVector

#: An item of ``mutable_data``: the blob, or an object holding it in
#: ``storage`` (ExecuTorch passes its ``Buffer``s).
MutableBlob = Union[ByteVector, BufferLike]


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


class DataFileOptions(TypedDict, total=False):
    """:func:`pte_encoder.encode_data_file`'s and
    :func:`pte_encoder.write_data_file`'s keyword arguments, as
    :func:`pte_encoder.payload_from_json` returns them."""

    segment_alignment: int


class EncodeOptions(TypedDict, total=False):
    """:func:`pte_encoder.encode_program`'s and :func:`pte_encoder.write_program`'s
    keyword arguments, as :func:`pte_encoder.options_from_json` returns them
    (``layout`` is passed on its own)."""

    mutable_data: Optional[Sequence[MutableBlob]]
    named_data: Optional[NamedDataStoreLike]
    extract_delegate_segments: bool
    segment_alignment: int
    constant_tensor_alignment: Optional[int]
    delegate_alignment: Optional[int]


class InferredOptions(EncodeOptions, total=False):
    """What :func:`pte_encoder.infer_options` finds: :class:`EncodeOptions`
    and, when it is not flatc's, the ``layout``; all of them keyword
    arguments of :func:`pte_encoder.encode_program`."""

    layout: LayoutName


__all__ = [*_program_all, "ByteVector", "LayoutName", "MutableBlob", "FileBackedLike", "Blob",
           "DataEntryLike", "NamedDataStoreLike", "TensorLayoutLike", "PayloadEntryLike",
           "DataPayloadLike", "EncodeOptions", "InferredOptions", "DataFileOptions"]
