"""An independent mirror of ExecuTorch 1.5.1's XNNPACK graph dataclasses
(backends/xnnpack/serialization/xnnpack_graph_schema.py).

The same class names, attribute names, field order, defaults and
annotations, written here, so that tests and benchmarks prove that
pte_encoder takes ExecuTorch's ``XNNGraph`` as it is, without ExecuTorch.
As in ExecuTorch, union members named through an alias in the schema are
empty dataclass subclasses of a base named without the schema's
underscore (``class XNNAdd(XNNNode2x1)``), and the base is no member.

No ``from __future__ import annotations`` here, as in ExecuTorch: its JSON
encoder adds ``<field>_type`` only for a field whose annotation is a
*string* naming a Union (``xnode_union: "XNodeUnion"``, ``xvalue_union:
"XValueUnion"``, ``quant_params: "XNNQuantParams"``); with postponed
annotations every field would get one, which flatc refuses.

``graph_from_json(text)`` builds these classes from ExecuTorch's dataclass
JSON (as tests/data/corpus-xnnpack/xnn_mlp/graph0.json holds it).
"""

import json
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Dict, List, Optional, Union

# Base shapes (not union members; the schema names them with a leading
# underscore), then every XNodeUnion member, in ExecuTorch's order.


@dataclass
class XNNNode1x1:
    input_id: int
    output_id: int
    flags: int


@dataclass
class XNNNode2x1:
    input1_id: int
    input2_id: int
    output_id: int
    flags: int


@dataclass
class XNNCat:
    axis: int
    input1_id: int
    input2_id: int
    input3_id: int
    input4_id: int
    output_id: int
    flags: int
    input5_id: int


@dataclass
class XNNNodeConv:
    padding_top: int
    padding_right: int
    padding_bottom: int
    padding_left: int
    kernel_height: int
    kernel_width: int
    subsampling_height: int
    subsampling_width: int
    dilation_height: int
    dilation_width: int
    group_input_channels: int
    group_output_channels: int
    groups: int
    adjustment_height: int
    adjustment_width: int
    input1_id: int
    filter_id: int
    bias_id: int
    output_id: int
    flags: int


@dataclass
class XNNPooling2D:
    padding_top: int
    padding_right: int
    padding_bottom: int
    padding_left: int
    pooling_height: int
    pooling_width: int
    stride_height: int
    stride_width: int
    dilation_height: int
    dilation_width: int
    input_id: int
    output_id: int
    flags: int


@dataclass
class XNNAdd(XNNNode2x1):
    pass


@dataclass
class XNNFullyConnected:
    input1_id: int
    filter_id: int
    bias_id: int
    output_id: int
    flags: int


@dataclass
class XNNSoftmax(XNNNode1x1):
    pass


@dataclass
class XNNSigmoid(XNNNode1x1):
    pass


@dataclass
class XNNStaticTranspose:
    num_dims: int
    perm: List[int]
    input_id: int
    output_id: int
    flags: int


@dataclass
class XNNClamp(XNNNode1x1):
    pass


@dataclass
class XNNConv2d(XNNNodeConv):
    pass


@dataclass
class XNNConvTranspose2d(XNNNodeConv):
    pass


@dataclass
class XNNDiv(XNNNode2x1):
    pass


@dataclass
class XNNStaticResizeBilinear2D:
    new_height: int
    new_width: int
    input_id: int
    output_id: int
    flags: int


@dataclass
class XNNStaticConstantPad:
    pre_paddings: List[int]
    post_paddings: List[int]
    padding_value: float
    input_id: int
    output_id: int
    flags: int


@dataclass
class XNNAvgPooling2d(XNNPooling2D):
    pass


@dataclass
class XNNMinimum(XNNNode2x1):
    pass


@dataclass
class XNNDepthwiseConv2d(XNNNodeConv):
    pass


@dataclass
class XNNMaxPooling2d(XNNPooling2D):
    pass


@dataclass
class XNNMultiply(XNNNode2x1):
    pass


@dataclass
class XNNSubtract(XNNNode2x1):
    pass


@dataclass
class XNNFloor(XNNNode1x1):
    pass


@dataclass
class XNNConvert(XNNNode1x1):
    pass


@dataclass
class XNNGlobalAvgPooling2d(XNNNode1x1):
    pass


@dataclass
class XNNStaticReshape:
    num_dims: int
    new_shape: List[int]
    input_id: int
    output_id: int
    flags: int


@dataclass
class XNNArgMaxPooling2d:
    padding_top: int
    padding_right: int
    padding_bottom: int
    padding_left: int
    pooling_height: int
    pooling_width: int
    input_id: int
    output_value_id: int
    output_index_id: int
    flags: int


@dataclass
class XNNSquareRoot(XNNNode1x1):
    pass


@dataclass
class XNNCeiling(XNNNode1x1):
    pass


@dataclass
class XNNHardswish(XNNNode1x1):
    pass


@dataclass
class XNNLeakyReLU:
    negative_slope: float
    input_id: int
    output_id: int
    flags: int


@dataclass
class XNNMaximum(XNNNode2x1):
    pass


@dataclass
class XNNNegate(XNNNode1x1):
    pass


@dataclass
class XNNSquare(XNNNode1x1):
    pass


@dataclass
class XNNELU:
    alpha: float
    input_id: int
    output_id: int
    flags: int


@dataclass
class XNNAbs(XNNNode1x1):
    pass


@dataclass
class XNNPReLU(XNNNode2x1):
    pass


@dataclass
class XNNConcatenate2(XNNCat):
    pass


@dataclass
class XNNConcatenate3(XNNCat):
    pass


@dataclass
class XNNConcatenate4(XNNCat):
    pass


@dataclass
class XNNConcatenate5(XNNCat):
    pass


@dataclass
class XNNStaticSlice:
    num_dims: int
    offsets: List[int]
    sizes: List[int]
    input_id: int
    output_id: int
    flags: int


@dataclass
class XNNScaledDotProductAttention:
    query_id: int
    key_id: int
    value_id: int
    scale_id: int
    mask_id: int
    output_id: int
    flags: int


@dataclass
class XNNBatchMatrixMultiply(XNNNode2x1):
    pass


@dataclass
class XNNReciprocalSquareRoot(XNNNode1x1):
    pass


@dataclass
class XNNLog(XNNNode1x1):
    pass


@dataclass
class XNNGelu(XNNNode1x1):
    pass


@dataclass
class XNNTanh(XNNNode1x1):
    pass


@dataclass
class XNNExp(XNNNode1x1):
    pass


@dataclass
class XNNSin(XNNNode1x1):
    pass


@dataclass
class XNNCopy(XNNNode1x1):
    pass


@dataclass
class XNNCos(XNNNode1x1):
    pass


# ExecuTorch's order (not the schema's: the JSON names members, so the order
# here does not matter for the bytes).
XNodeUnion = Union[
    XNNAdd,
    XNNFullyConnected,
    XNNSoftmax,
    XNNSigmoid,
    XNNStaticTranspose,
    XNNClamp,
    XNNConv2d,
    XNNConvTranspose2d,
    XNNDiv,
    XNNStaticResizeBilinear2D,
    XNNStaticConstantPad,
    XNNAvgPooling2d,
    XNNMinimum,
    XNNDepthwiseConv2d,
    XNNMaxPooling2d,
    XNNMultiply,
    XNNSubtract,
    XNNFloor,
    XNNConvert,
    XNNGlobalAvgPooling2d,
    XNNStaticReshape,
    XNNArgMaxPooling2d,
    XNNSquareRoot,
    XNNCeiling,
    XNNHardswish,
    XNNLeakyReLU,
    XNNMaximum,
    XNNNegate,
    XNNSquare,
    XNNELU,
    XNNAbs,
    XNNPReLU,
    XNNConcatenate2,
    XNNConcatenate3,
    XNNConcatenate4,
    XNNConcatenate5,
    XNNStaticSlice,
    XNNScaledDotProductAttention,
    XNNBatchMatrixMultiply,
    XNNReciprocalSquareRoot,
    XNNLog,
    XNNGelu,
    XNNTanh,
    XNNExp,
    XNNSin,
    XNNCopy,
    XNNCos,
]


@dataclass
class OutputMinMax:
    # A float, an int, or one of the strings "+inf", "-inf", "inf" (flatc
    # reads them); not a string annotation, so no output_min_type key.
    output_min: Union[float, str]
    output_max: Union[float, str]


@dataclass
class XNode:
    xnode_union: "XNodeUnion"
    debug_handle: int
    output_min_max: Optional[OutputMinMax] = None


class XNNDatatype(IntEnum):
    xnn_datatype_invalid = 0
    xnn_datatype_fp32 = 1
    xnn_datatype_fp16 = 2
    xnn_datatype_qint8 = 3
    xnn_datatype_quint8 = 4
    xnn_datatype_qint32 = 5
    xnn_datatype_qcint8 = 6
    xnn_datatype_qcint32 = 7
    xnn_datatype_qcint4 = 8
    xnn_datatype_qdint8 = 9
    xnn_datatype_qbint4 = 10
    xnn_datatype_qpint8 = 11
    xnn_datatype_int32 = 12
    xnn_datatype_pfp32 = 13
    xnn_datatype_bf16 = 14


@dataclass
class PerChannelQuant:
    scale: List[float]
    channel_dim: int
    # -1 would be refused by flatc (a uint field): ExecuTorch always sets them.
    scale_buffer_idx: int = -1
    num_scales: int = -1


@dataclass
class Buffer:  # the deprecated table; XNNGraph has no field holding it
    storage: bytes


@dataclass
class PerChannelGroupQuant:
    scale: List[float]
    channel_dim: int
    group_size: int = 1
    scale_bf16: Optional[List[float]] = None  # a deprecated field: JSON null unless set
    scale_buffer_idx: int = -1
    num_scales: int = -1


@dataclass
class PerTokenDynamicQuant:
    num_nonbatch_dims: int


@dataclass
class PerTensorQuant:
    scale: float
    zero_point: int


XNNQuantParams = Union[PerChannelQuant, PerTensorQuant, PerTokenDynamicQuant, PerChannelGroupQuant]


@dataclass
class XNNTensorValue:
    datatype: XNNDatatype
    num_dims: int
    dims: List[int]
    constant_buffer_idx: int
    external_id: int
    flags: int
    id_out: int


@dataclass
class XNNQuantizedTensorValue:
    tensor_value: XNNTensorValue
    quant_params: "XNNQuantParams"


XValueUnion = Union[XNNTensorValue, XNNQuantizedTensorValue]


@dataclass
class XValue:
    xvalue_union: "XValueUnion"


@dataclass
class ConstantDataOffset:
    offset: int
    size: int
    named_key: str = ""


@dataclass
class XNNGraph:
    version: str
    xnodes: List[XNode]
    xvalues: List[XValue]
    num_externs: int
    input_ids: List[int]
    output_ids: List[int]
    constant_data: List[ConstantDataOffset]


# The loader: JSON form -> mirror dataclasses.

_CHILD = {"xnodes": "XNode", "xvalues": "XValue", "output_min_max": "OutputMinMax",
          "tensor_value": "XNNTensorValue", "constant_data": "ConstantDataOffset"}


def _build(cls_name: str, data: Any) -> Any:
    if data is None:
        return None
    if isinstance(data, list):
        return [_build(cls_name, item) for item in data]
    kwargs: Dict[str, Any] = {}
    for key, value in data.items():
        if key.endswith("_type") and key[:-5] in data:
            continue
        if isinstance(data.get(key + "_type"), str):
            kwargs[key] = _build(data[key + "_type"], value)
        elif key in _CHILD:
            kwargs[key] = _build(_CHILD[key], value)
        elif key == "datatype":
            try:
                kwargs[key] = XNNDatatype(value)
            except ValueError:
                kwargs[key] = value
        else:
            kwargs[key] = value
    return globals()[cls_name](**kwargs)


def graph_from_json(text: str) -> XNNGraph:
    graph: XNNGraph = _build("XNNGraph", json.loads(text))
    return graph
