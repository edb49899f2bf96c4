"""Read XNNPACK delegate blobs: header, graph, constant data.

Does what ExecuTorch's runtime does before it builds the XNNPACK subgraph
(runtime/XNNHeader.cpp, XNNCompiler.cpp), checking everything it reads: a
blob with ``XH00`` at byte 4 has a header saying where the FlatBuffer and
the constant data are (every offset and size checked against the blob);
without it, the whole blob is a bare FlatBuffer. The FlatBuffer must be
an ``XN01`` one (``XN00``, the older schema the runtime still reads, is
refused: its fields would be lost) and is read by the engine's verifying
reader into this package's model (``pte_encoder.xnnpack``).

The constant data is a ``memoryview`` slice of the input, not a copy: it
stays valid while the input object lives and is not changed.
"""

from __future__ import annotations

from typing import Any, Optional

from ...engine.errors import DecodeError
from ...engine.reader import byte_view
from ...schemas.xnnpack import model
from ...schemas.xnnpack.codec import XNNPACK
from ..common.payload import Record
from .header import MAGIC, XnnpackHeader, read_header

__all__ = ["XnnpackBlob", "decode_xnnpack_blob"]

IDENTIFIER = XNNPACK.schema.file_identifier  # b"XN01"
_OLDER = b"XN00"


class XnnpackBlob(Record):
    """A decoded XNNPACK delegate blob.

    ``graph`` is the XNNPACK graph (``pte_encoder.xnnpack.XNNGraph``);
    ``constant_data`` the bytes after the FlatBuffer (a view of the input;
    empty in what ExecuTorch 1.5.1 writes, whose weights are the program's
    named data); ``header`` the ``XH00`` header, or None for a bare
    FlatBuffer; ``size`` the blob's size in bytes.
    ``encode_xnnpack_blob(b.graph, b.constant_data)`` gives back the blob
    ExecuTorch wrote.
    """

    __slots__ = __match_args__ = ("graph", "constant_data", "header", "size")

    def __init__(self, graph: model.XNNGraph, constant_data: memoryview,
                 header: Optional[XnnpackHeader] = None, size: int = 0) -> None:
        self.graph = graph
        self.constant_data = constant_data
        self.header = header
        self.size = size


def _identifier(view: memoryview, at: int, where: str) -> None:
    found = bytes(view[at + 4:at + 8])
    if found == IDENTIFIER:
        return
    if found == _OLDER:
        message = (f"the FlatBuffer is {_OLDER.decode()} (ExecuTorch's older XNNPACK schema), "
                   f"not {IDENTIFIER.decode()}: not read")
    else:
        message = f"expected {where}, got {found!r}"
    raise DecodeError(f"XNNGraph: {message} (at byte {at + 4})", "", at + 4)


def decode_xnnpack_blob(data: Any) -> XnnpackBlob:
    """The graph and constant data of an XNNPACK delegate blob (bytes,
    bytearray, memoryview or mmap), as :class:`XnnpackBlob`. Raises
    :class:`DecodeError` naming the place (a header field, or the graph's
    field path) and the byte offset in the blob."""
    view = byte_view(data)
    size = len(view)
    if size < 8:
        raise DecodeError(f"an XNNPACK blob is at least 8 bytes, got {size}", "", 0)
    header = read_header(view)
    if header is None:
        _identifier(view, 0, f"{MAGIC.decode()} (a blob's header) or {IDENTIFIER.decode()} (a bare "
                    "FlatBuffer) at byte 4")
        start, end, constant = 0, size, view[size:]
    else:
        start = header.flatbuffer_offset
        end = start + header.flatbuffer_size
        _identifier(view, start, f"the file identifier {IDENTIFIER.decode()!r}")
        cd = header.constant_data_offset
        constant = view[cd:cd + header.constant_data_size]
    try:
        graph: model.XNNGraph = XNNPACK.decode(view[start:end])
    except DecodeError as exc:
        if not start or exc.offset is None:
            raise
        # offsets in the blob, not in the FlatBuffer
        message = str(exc).replace(f"(at byte {exc.offset})", f"(at byte {exc.offset + start})")
        raise DecodeError(message, exc.path, exc.offset + start) from None
    return XnnpackBlob(graph, constant, header, size)
