"""Write XNNPACK delegate blobs: the graph's FlatBuffer between the ``XH00``
header and the constant data, as ExecuTorch 1.5.1's
``serialize_xnnpack_binary(graph, constant_data)`` writes them.

ExecuTorch writes the graph as dataclass JSON and runs ``flatc --binary``
on it; here the engine writes the same bytes (flatc's layout) from the
graph's objects: ExecuTorch's ``XNNGraph`` dataclasses as they are (union
members recognised by class name), or this package's model
(``pte_encoder.xnnpack``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Union

from ...engine.check import MAX_VECTOR_BYTES
from ...engine.errors import EncodeError, bad_value
from ...engine.values import holds_pointers
from ...schemas.xnnpack.codec import XNNPACK
from .header import pack_header, padded

if TYPE_CHECKING:
    from ...schemas.xnnpack.types import XNNGraphLike

__all__ = ["encode_xnnpack_blob", "ConstantData"]

#: The constant data a blob carries after its FlatBuffer (any bytes-like
#: object; ExecuTorch passes a bytearray, empty in 1.5.1).
ConstantData = Union[bytes, bytearray, memoryview]

# Past this the header's uint64 cannot say the size (never reached in practice).
_MAX_CONSTANT_DATA = 2**64 - 1


def _constant_view(value: Any) -> memoryview:
    """``constant_data`` as a flat byte view (no copy), or EncodeError."""
    try:
        view = memoryview(value)
    except (TypeError, ValueError):  # ValueError: a released memoryview
        raise bad_value("constant_data", value, "a bytes-like object") from None
    if view.format != "B" and holds_pointers(view.format):
        raise bad_value("constant_data", value, "a bytes-like object of data, not of pointers")
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    elif view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    if view.nbytes > _MAX_CONSTANT_DATA:
        raise EncodeError(f"constant_data: {view.nbytes} bytes, more than the header can say",
                          path="constant_data")
    return view


def encode_xnnpack_blob(graph: XNNGraphLike, constant_data: ConstantData = b"") -> bytes:
    """The XNNPACK delegate blob of ``graph`` (an ``XNNGraph``: ExecuTorch's
    dataclasses or ``pte_encoder.xnnpack``'s model) and ``constant_data``
    (bytes-like, appended as it is), byte for byte what ExecuTorch 1.5.1's
    ``serialize_xnnpack_binary(graph, constant_data)`` returns.

    Raises :class:`EncodeError` naming the first bad value
    (``xnodes[3].xnode_union.input1_id: expected an integer in [0, 4294967295],
    got -1``); the inputs are read once and never changed.
    """
    view = _constant_view(constant_data)
    chunks, size = XNNPACK.encode_chunks(graph)
    try:
        return b"".join([pack_header(size, view.nbytes), *chunks, bytes(padded(size) - size), view])
    except MemoryError:
        total = padded(size) + view.nbytes + 32
        raise EncodeError(f"the blob would be {total} bytes: out of memory", value=total,
                          has_value=True) from None


# (MAX_VECTOR_BYTES bounds the FlatBuffer, so its offsets fit the header's uint32s.)
assert padded(MAX_VECTOR_BYTES) + 32 < 2**32
