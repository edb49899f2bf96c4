"""The types of .pte options, for type checkers (re-exported by ``pte_encoder.types``).

The package's modules import this module only while type checking.
"""

from __future__ import annotations

from typing import Optional, Sequence, TypedDict, Union

from ..common.types import LayoutName
from ...schemas.program.model import ByteVector
from ...schemas.program.types import BufferLike
from ..common.types import NamedDataStoreLike

__all__ = ["MutableBlob", "EncodeOptions", "InferredOptions", "LayoutName"]

#: An item of ``mutable_data``: the blob, or an object holding it in
#: ``storage`` (ExecuTorch passes its ``Buffer``s).
MutableBlob = Union[ByteVector, BufferLike]


class EncodeOptions(TypedDict, total=False):
    """:func:`pte_encoder.encode_program`'s and :func:`pte_encoder.write_program`'s
    keyword arguments, as :func:`pte_encoder.options_from_json` returns them."""

    mutable_data: Optional[Sequence[MutableBlob]]
    named_data: Optional[NamedDataStoreLike]
    extract_delegate_segments: bool
    segment_alignment: int
    constant_tensor_alignment: Optional[int]
    delegate_alignment: Optional[int]
    layout: LayoutName


class InferredOptions(EncodeOptions, total=False):
    """What :func:`pte_encoder.infer_options` finds: :class:`EncodeOptions`
    (``layout`` only when it is not flatc's); all of them keyword arguments
    of :func:`pte_encoder.encode_program`."""
