"""An independent mirror of ExecuTorch 1.5.1's ``exir.schema`` classes.

Same class names, attribute names, field order and annotations as
ExecuTorch's dataclasses (and its named-data classes), written here, so tests
prove that pte_encoder takes ExecuTorch's objects as they are, at run time and
for mypy (tests/typing/), without depending on ExecuTorch.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Dict, List, Optional, Sequence, Union


class ScalarType(IntEnum):
    BYTE = 0
    CHAR = 1
    SHORT = 2
    INT = 3
    LONG = 4
    HALF = 5
    FLOAT = 6
    DOUBLE = 7
    BOOL = 11
    QINT8 = 12
    QUINT8 = 13
    QINT32 = 14
    BFLOAT16 = 15
    QUINT4X2 = 16
    QUINT2X4 = 17
    BITS16 = 22
    FLOAT8E5M2 = 23
    FLOAT8E4M3FN = 24
    FLOAT8E5M2FNUZ = 25
    FLOAT8E4M3FNUZ = 26
    UINT16 = 27
    UINT32 = 28
    UINT64 = 29


class TensorShapeDynamism(IntEnum):
    STATIC = 0
    DYNAMIC_BOUND = 1
    DYNAMIC_UNBOUND = 2


class TensorDataLocation(IntEnum):
    SEGMENT = 0
    EXTERNAL = 1


class DeviceType(IntEnum):
    CPU = 0
    CUDA = 1


class DataLocation(IntEnum):
    INLINE = 0
    SEGMENT = 1


@dataclass
class AllocationDetails:
    memory_id: int
    memory_offset_low: int
    memory_offset_high: int


@dataclass
class ExtraTensorInfo:
    mutable_data_segments_idx: int = 0
    fully_qualified_name: Optional[str] = None
    location: TensorDataLocation = TensorDataLocation.SEGMENT
    device_type: DeviceType = DeviceType.CPU
    device_index: int = 0


@dataclass
class Tensor:
    scalar_type: ScalarType
    storage_offset: int
    sizes: List[int]
    dim_order: List[int]
    requires_grad: bool
    layout: int
    data_buffer_idx: int
    allocation_info: Optional[AllocationDetails]
    shape_dynamism: TensorShapeDynamism
    extra_tensor_info: Optional[ExtraTensorInfo] = None


@dataclass
class Null:
    pass


@dataclass
class Int:
    int_val: int


@dataclass
class Bool:
    bool_val: bool


@dataclass
class Double:
    """Like ExecuTorch's: infinities are kept as the strings "inf" and "-inf"."""

    double_val: Union[float, str]

    def __init__(self, double_val: Union[float, str]) -> None:
        if double_val == float("inf"):
            double_val = "inf"
        elif double_val == float("-inf"):
            double_val = "-inf"
        self.double_val = double_val


@dataclass
class String:
    string_val: str


@dataclass
class ContainerMetadata:
    encoded_inp_str: str
    encoded_out_str: str


@dataclass
class IntList:
    items: List[int]


@dataclass
class DoubleList:
    items: List[float]


@dataclass
class BoolList:
    items: List[bool]


@dataclass
class TensorList:
    items: List[int]


@dataclass
class OptionalTensorList:
    items: List[int]


KernelTypes = Union[Int, Double, Bool, String, Tensor, IntList, BoolList, DoubleList, TensorList,
                    Null, OptionalTensorList]


@dataclass
class EValue:
    val: KernelTypes


@dataclass
class Buffer:
    storage: bytes


@dataclass
class BackendDelegateInlineData:
    data: bytes


@dataclass
class KernelCall:
    op_index: int
    args: List[int]


@dataclass
class DelegateCall:
    delegate_index: int
    args: List[int]


@dataclass
class MoveCall:
    move_from: int
    move_to: int


@dataclass
class JumpFalseCall:
    cond_value_index: int
    destination_instruction: int


@dataclass
class FreeCall:
    value_index: int


InstructionArguments = Union[KernelCall, DelegateCall, MoveCall, JumpFalseCall, FreeCall]


@dataclass
class Instruction:
    instr_args: InstructionArguments


@dataclass
class Frame:
    filename: str
    lineno: int
    name: str
    context: str


@dataclass
class FrameList:
    items: List[Frame]


@dataclass
class BackendDelegateDataReference:
    location: DataLocation
    index: int


@dataclass
class CompileSpec:
    key: str
    value: bytes


@dataclass
class BackendDelegate:
    id: str
    processed: BackendDelegateDataReference
    compile_specs: List[CompileSpec]


@dataclass
class Chain:
    inputs: List[int]
    outputs: List[int]
    instructions: List[Instruction]
    stacktrace: Optional[List[FrameList]]


@dataclass
class Operator:
    name: str
    overload: str


@dataclass
class NonConstBufferDevice:
    buffer_idx: int = 0
    device_type: DeviceType = DeviceType.CPU
    device_index: int = 0


@dataclass
class ExecutionPlan:
    name: str
    container_meta_type: ContainerMetadata
    values: List[EValue]
    inputs: List[int]
    outputs: List[int]
    chains: List[Chain]
    operators: List[Operator]
    delegates: List[BackendDelegate]
    non_const_buffer_sizes: List[int]
    non_const_buffer_device: Optional[List[NonConstBufferDevice]] = None


@dataclass
class DataSegment:
    offset: int
    size: int


@dataclass
class SubsegmentOffsets:
    segment_index: int
    offsets: List[int]


@dataclass
class NamedData:
    key: str
    segment_index: int


@dataclass
class Program:
    version: int
    execution_plan: List[ExecutionPlan]
    constant_buffer: List[Buffer]
    backend_delegate_data: List[BackendDelegateInlineData]
    segments: List[DataSegment]
    constant_segment: SubsegmentOffsets
    mutable_data_segments: Optional[List[SubsegmentOffsets]] = None
    named_data: Optional[List[NamedData]] = None


# The named data of ExecuTorch's serializer (exir/_serialize and
# exir/tensor_layout.py), shaped the same way.

@dataclass
class TensorLayout:
    scalar_type: ScalarType
    sizes: List[int]
    dim_order: List[int]


@dataclass
class DataEntry:
    buffer_index: int
    alignment: int
    tensor_layout: Optional[TensorLayout]


class FileBackedData:
    """A blob ExecuTorch keeps in a file until it is written (not bytes-like)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __len__(self) -> int:
        return os.path.getsize(self.path)

    def to_bytes(self) -> bytes:
        with open(self.path, "rb") as f:
            return f.read()

    def write_to_file(self, outfile: io.BufferedIOBase) -> None:
        outfile.write(self.to_bytes())


CordBuffer = Union[bytes, FileBackedData]


@dataclass
class NamedDataStoreOutput:
    buffers: List[CordBuffer] = field(default_factory=list)
    pte_data: Dict[str, DataEntry] = field(default_factory=dict)
    external_data: Dict[str, Dict[str, DataEntry]] = field(default_factory=dict)


@dataclass
class DataPayload:
    buffers: Sequence[CordBuffer]
    named_data: Dict[str, DataEntry]


# Which table each field holds, to rebuild a program from its JSON form.
_CHILD = {
    "execution_plan": "ExecutionPlan", "container_meta_type": "ContainerMetadata",
    "values": "EValue", "chains": "Chain", "instructions": "Instruction",
    "stacktrace": "FrameList", "operators": "Operator", "delegates": "BackendDelegate",
    "processed": "BackendDelegateDataReference", "compile_specs": "CompileSpec",
    "constant_buffer": "Buffer", "backend_delegate_data": "BackendDelegateInlineData",
    "segments": "DataSegment", "constant_segment": "SubsegmentOffsets",
    "mutable_data_segments": "SubsegmentOffsets", "named_data": "NamedData",
    "allocation_info": "AllocationDetails", "extra_tensor_info": "ExtraTensorInfo",
    "non_const_buffer_device": "NonConstBufferDevice",
}
_BYTES = {("Buffer", "storage"), ("BackendDelegateInlineData", "data"), ("CompileSpec", "value")}
_ENUMS = {"scalar_type": ScalarType, "shape_dynamism": TensorShapeDynamism,
          "location": DataLocation}


def _build(cls_name: str, data: Any) -> Any:
    if isinstance(data, list):
        return [_build(cls_name, item) for item in data]
    if data is None:
        return None
    kwargs = {}
    for key, value in data.items():
        if key.endswith("_type") and isinstance(value, str):
            continue
        if isinstance(data.get(key + "_type"), str):
            kwargs[key] = _build(data[key + "_type"], value)
        elif key in _CHILD:
            kwargs[key] = _build(_CHILD[key], value)
        elif (cls_name, key) in _BYTES:
            kwargs[key] = bytes(value)
        elif key in _ENUMS and cls_name in ("Tensor", "BackendDelegateDataReference"):
            try:
                kwargs[key] = _ENUMS[key](value)
            except ValueError:
                kwargs[key] = value
        else:
            kwargs[key] = value
    return globals()[cls_name](**kwargs)


def program_from_json(text: str) -> Program:
    """The mirror's Program for ExecuTorch's JSON form of one."""
    program: Program = _build("Program", json.loads(text))
    return program
