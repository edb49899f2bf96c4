"""XNNPACK delegate blobs, written and read: the XNNPACK graph's model and
the blob's functions, in one namespace (its tables' names, such as
``Buffer``, clash with the program's).

    from pte_encoder import xnnpack as xnn

    blob = xnn.encode_xnnpack_blob(graph)          # ExecuTorch's XNNGraph, or this model
    back = xnn.decode_xnnpack_blob(blob)           # back.graph, back.constant_data

``encode_xnnpack_blob(graph, constant_data=b"")`` writes what ExecuTorch
1.5.1's ``serialize_xnnpack_binary`` writes, byte for byte;
``decode_xnnpack_blob`` reads a blob (or a bare ``XN01`` FlatBuffer) into
an :class:`XnnpackBlob`; ``graph_to_json`` / ``graph_from_json`` are
ExecuTorch's dataclass JSON form of the graph. Union members are classes
of their own (``XNNAdd``, ``XNNGelu``, ...), each a subclass of the table
it shares with other members, as in ExecuTorch's dataclasses.
"""

from .formats.xnnpack.header import XnnpackHeader
from .formats.xnnpack.json import graph_from_json, graph_to_json
from .formats.xnnpack.read import XnnpackBlob, decode_xnnpack_blob
from .formats.xnnpack.write import ConstantData, encode_xnnpack_blob
from .schemas.xnnpack.model import *  # noqa: F401,F403  (the graph's model: tables, enums, unions)
from .schemas.xnnpack.model import __all__ as _model_all

__all__ = ["encode_xnnpack_blob", "decode_xnnpack_blob", "XnnpackBlob", "XnnpackHeader",
           "ConstantData", "graph_to_json", "graph_from_json", *_model_all]
