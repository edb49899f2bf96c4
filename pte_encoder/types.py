"""The types of pte_encoder's inputs, for type checkers.

    from pte_encoder.types import EncodeOptions, ProgramLike

A ``<Table>Like`` (``ProgramLike``, ``TensorLike``, ...; generated from the
schema into ``schemas/program/types.py``) is a read-only Protocol of one table:
``pte_encoder.Program`` and ExecuTorch's ``exir.schema.Program`` both fit
``ProgramLike`` as they are, and so does any object tree with the same
attributes; a str, or an ``ExecutionPlan`` where a ``Program`` belongs, does
not. ``NamedDataStoreLike`` is the shape of the ``named_data`` option
(:class:`pte_encoder.NamedDataOutput`, or ExecuTorch's
``NamedDataStoreOutput``; a ``Blob`` is bytes-like or file-backed),
``MutableBlob`` an item of ``mutable_data``, ``LayoutName`` the ``layout``
option, ``ReadableBuffer`` what the decoders read (bytes-like or mmap),
and ``EncodeOptions`` the keyword arguments ``options_from_json`` returns
(``layout`` included), so that ``encode_program(p, **options)`` is checked keyword by keyword. For .ptd
files, ``DataPayloadLike`` is what ``encode_data_file`` takes and
``DataFileOptions`` what ``payload_from_json`` returns with it.

pte_encoder's own modules import this module only while type checking, so
``import pte_encoder`` does not load it.
"""

from __future__ import annotations

from .formats.common.types import (Blob, LayoutName, ReadableBuffer, DataEntryLike, DataPayloadLike, FileBackedLike,
                                   NamedDataStoreLike, PayloadEntryLike, TensorLayoutLike)
from .formats.ptd.types import DataFileOptions
from .formats.pte.types import EncodeOptions, InferredOptions, MutableBlob
from .schemas.program.model import ByteVector
from .schemas.program.types import *  # noqa: F401,F403  (one protocol per table and union)
from .schemas.program.types import __all__ as _program_all

__all__ = [*_program_all, "ByteVector", "ReadableBuffer", "LayoutName", "MutableBlob", "FileBackedLike", "Blob",
           "DataEntryLike", "NamedDataStoreLike", "TensorLayoutLike", "PayloadEntryLike",
           "DataPayloadLike", "EncodeOptions", "InferredOptions", "DataFileOptions"]
