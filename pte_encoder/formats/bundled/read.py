"""Bundled programs (.bpte) read back, as ExecuTorch 1.5.1's
``deserialize_from_flatbuffer_to_bundled_program`` reads them (it runs
``flatc --json`` and parses the JSON), checking every byte as the .pte reader
does: anything out of place is a :class:`DecodeError` naming the field path
and byte offset, in time and memory bounded by the input's size.

What comes back, field by field, is what ExecuTorch gives: ``version`` an
int, lists of suites, test cases, inputs and outputs, each ``Value.val`` a
``Tensor``, ``Int``, ``Bool`` or ``Double`` (this package's
:mod:`pte_encoder.bundled` classes, which compare equal to ExecuTorch's by
value), ``sizes`` and ``dim_order`` lists of ints, ``scalar_type`` a
:class:`pte_encoder.bundled.ScalarType` (ExecuTorch: its
``exir.scalar_type.ScalarType``; equal as ints). Where this differs:

- ``program`` and each tensor's ``data`` are ``memoryview`` slices of the
  input, not copies (ExecuTorch: ``bytes``; they compare equal). The program
  goes straight into :func:`pte_encoder.decode_program`.
- Doubles are exact. ExecuTorch reads them back from flatc's text, which
  keeps 12 decimals (1.2345678901234567 becomes 1.234567890123, 4.9e-102
  becomes 0.0), and cannot read infinities or NaN at all.
- What ExecuTorch's reader cannot read is read: an absent vector or string
  is ``None`` (ExecuTorch: TypeError), an empty Value has ``val=None``
  (IndexError), the scalar types QUINT4X2 and QUINT2X4 (spelt differently
  in exir, KeyError) are members, and a scalar type the schema does not
  know is a plain int (KeyError).
- A corrupt file is a DecodeError (flatc may print garbage, or crash).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterable, Optional, Tuple, Union

from ...engine.errors import EncodeError
from ...engine.reader import byte_view
from ...schemas.bundled_program import model
from ...schemas.bundled_program.codec import BUNDLED_PROGRAM
from ..common.blobs import FileBlob
from ..common.mapped import map_file

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from ..common.types import LayoutName

__all__ = ["decode_bundled_program", "read_bundled_program", "infer_layout"]

# Pieces in which written bytes are compared with a file's (infer_layout).
_PIECE = 1 << 20


def _tensors(bundled: model.BundledProgram) -> Iterable[model.Tensor]:
    for suite in bundled.method_test_suites or ():
        for case in suite.test_cases or ():
            for values in (case.inputs, case.expected_outputs):
                for value in values or ():
                    if isinstance(value.val, model.Tensor):
                        yield value.val


def decode_bundled_program(data: Any) -> model.BundledProgram:
    """The bundled program in ``data`` (bytes, bytearray, memoryview or
    mmap), in either layout: its version, the test suites of its methods, and
    the program (a view of ``data``, ready for :func:`decode_program`).
    Raises :class:`DecodeError` naming the field path and byte offset of
    anything out of place (the file identifier included: ``BP08``)."""
    bundled: model.BundledProgram = BUNDLED_PROGRAM.decode(data)
    for tensor in _tensors(bundled):
        if tensor.dim_order is not None:  # as ExecuTorch gives it: a list of ints
            tensor.dim_order = list(tensor.dim_order)
    return bundled


def read_bundled_program(path: Union[str, "os.PathLike[str]"]) -> model.BundledProgram:
    """Decode the .bpte file at ``path``, mapping it into memory (not reading it).

    The program and the tensors' data are views of the mapping, which stays
    open as long as any of them is alive. An empty file is refused.
    """
    return decode_bundled_program(map_file(path))


def _same(chunks: Iterable[Any], view: memoryview) -> bool:
    """Whether ``chunks``, joined, are the bytes of ``view`` (compared a
    piece at a time: nothing large is copied)."""
    at = 0
    for chunk in chunks:
        if isinstance(chunk, FileBlob):  # not from a decoded file
            return False
        part = memoryview(chunk).cast("B")
        size = len(part)
        if at + size > len(view):
            return False
        for start in range(0, size, _PIECE):
            piece = part[start:start + _PIECE]
            if bytes(view[at + start:at + start + len(piece)]) != bytes(piece):
                return False
        at += size
    return at == len(view)


def infer_layout(data: Any, bundled: Optional[model.BundledProgram] = None) -> Optional[LayoutName]:
    """The layout (``"flatc"`` or ``"flatbuffers"``) in which
    :func:`encode_bundled_program` gives back exactly ``data``, a .bpte file;
    None if neither does (another writer, or a file changed after writing).
    ``bundled``: ``data`` decoded, if the caller has it."""
    view = byte_view(data)
    if bundled is None:
        bundled = decode_bundled_program(view)
    layouts: Tuple[LayoutName, ...] = ("flatc", "flatbuffers")
    for layout in layouts:
        try:
            chunks, size = BUNDLED_PROGRAM.encode_chunks(bundled, None, layout)
        except EncodeError:  # a file no writer of this schema writes (a vector over 2 GiB...)
            return None
        if size == len(view) and _same(chunks, view):
            return layout
    return None
