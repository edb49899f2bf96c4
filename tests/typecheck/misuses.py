"""Misuses of pte_encoder's typed API: mypy --strict reports each line whose
comment is E: and a part of the message, and no other line.

Checked by tests/test_typing.py with the pinned and the newest mypy.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import List, Optional

import executorch_bundled_mirror as bp
import executorch_mirror as et
import executorch_xnnpack_mirror as ext
import pte_encoder as pe
from pte_encoder import xnnpack as xnn
from pte_encoder.types import EncodeOptions, IntLike, KernelTypesLike, TensorLike

program = pe.Program()
options = pe.options_from_json("{}")

pe.encode_program("not a program")  # E: incompatible type "str"
pe.encode_program(pe.ExecutionPlan())  # E: incompatible type "ExecutionPlan"
pe.write_program(et.ExecutionPlan("", et.ContainerMetadata("", ""), [], [], [], [], [], [], []), "x")  # E: incompatible type "ExecutionPlan"
pe.encode_flatbuffer(pe.Tensor())  # E: incompatible type "Tensor"
pe.program_to_json({"version": 0})  # E: incompatible type "dict
pe.program_to_json(None)  # E: incompatible type "None"
pe.write_program(program, open("x.pte", "w"))  # E: incompatible type "TextIOWrapper
pe.write_program(program, io.StringIO())  # E: incompatible type "StringIO"

pe.encode_program(program, segment_alignmnet=64)  # E: Unexpected keyword argument "segment_alignmnet"
pe.encode_program(program, segment_alignment="64")  # E: incompatible type "str"
pe.encode_program(program, constant_tensor_alignment=16.0)  # E: incompatible type "float"
pe.encode_program(program, extract_delegate_segments=None)  # E: incompatible type "None"
pe.encode_flatbuffer(program, segment_alignment=64)  # E: Unexpected keyword argument "segment_alignment"
pe.encode_flatbuffer(program, **options)  # E: Extra argument
misspelt: EncodeOptions = {"segment_alignmnet": 64}  # E: Extra key "segment_alignmnet"
wrong: EncodeOptions = {"delegate_alignment": "16"}  # E: Incompatible types
pe.encode_program(program, layout="flatbufers")  # E: Argument "layout" to "encode_program" has incompatible type
pe.encode_flatbuffer(program, layout=None)  # E: Argument "layout" to "encode_flatbuffer" has incompatible type "None"
pe.encode_program(program, **{"segment_alignment": "64"})  # E: incompatible type "**dict[str, str]"

pe.encode_program(program, mutable_data=["blob"])  # E: List item 0 has incompatible type "str"
pe.encode_program(program, mutable_data=b"blob")  # E: incompatible type "bytes"
pe.encode_program(program, named_data={"w": b"x"})  # E: incompatible type "dict
pe.NamedDataOutput(buffers=["x"])  # E: List item 0 has incompatible type "str"
pe.NamedDataOutput(pte_data={"w": 0})  # E: Dict entry 0 has incompatible type "str": "int"
pe.encode_program(program, named_data=pe.DataPayload())  # E: incompatible type "DataPayload"
pe.encode_program(program, mutable_data=[pe.FileData("w.bin")])  # E: List item 0 has incompatible type "FileData"

payload = pe.DataPayload()
pe.encode_data_file(program)  # E: incompatible type "Program"
pe.encode_data_file(pe.NamedDataOutput())  # E: incompatible type "NamedDataOutput"
pe.write_data_file("payload.json", "x.ptd")  # E: incompatible type "str"
pe.write_data_file(payload, open("x.ptd", "w"))  # E: incompatible type "TextIOWrapper
pe.encode_data_file(payload, segment_alignmnet=64)  # E: Unexpected keyword argument "segment_alignmnet"
pe.encode_data_file(payload, **options)  # E: Extra argument
pe.DataPayload(buffers=["w"])  # E: List item 0 has incompatible type "str"
pe.DataPayload(named_data={"w": pe.TensorLayout(0, [1], [0])})  # E: Dict entry 0 has incompatible type
pe.DataEntry(0, 1, tensor_layout=pe.TensorLayout(0, "2x2", [0]))  # E: Argument 2 to "TensorLayout" has incompatible type "str"
pe.DataEntry(0, 1, tensor_layout=LooseLayout())  # E: incompatible type "LooseLayout"


@dataclass
class LooseLayout:
    scalar_type: int = 6
    sizes: str = "2x2"  # a str where a list of ints belongs
    dim_order: Optional[List[int]] = None


@dataclass
class LooseEValue:
    val: str  # a str where a Tensor (or another KernelTypes member) belongs


@dataclass
class LoosePlan:
    name: Optional[str] = None
    container_meta_type: Optional[et.ContainerMetadata] = None
    values: List[LooseEValue] = field(default_factory=list)
    inputs: Optional[List[int]] = None
    outputs: Optional[List[int]] = None
    chains: Optional[List[et.Chain]] = None
    operators: Optional[List[et.Operator]] = None
    delegates: Optional[List[et.BackendDelegate]] = None
    non_const_buffer_sizes: Optional[List[int]] = None
    non_const_buffer_device: Optional[List[et.NonConstBufferDevice]] = None


@dataclass
class LooseProgram:
    version: int = 0
    execution_plan: List[LoosePlan] = field(default_factory=list)
    constant_buffer: Optional[List[et.Buffer]] = None
    backend_delegate_data: Optional[List[et.BackendDelegateInlineData]] = None
    segments: Optional[List[et.DataSegment]] = None
    constant_segment: Optional[et.SubsegmentOffsets] = None
    mutable_data_segments: Optional[List[et.SubsegmentOffsets]] = None
    named_data: Optional[List[et.NamedData]] = None


@dataclass
class LooseTensor:
    scalar_type: int = 0
    storage_offset: int = 0
    sizes: str = "2x2"  # a str where a list of ints belongs
    dim_order: Optional[bytes] = None
    requires_grad: bool = False
    data_buffer_idx: int = 0
    allocation_info: Optional[et.AllocationDetails] = None
    layout: int = 0
    shape_dynamism: int = 0
    extra_tensor_info: Optional[et.ExtraTensorInfo] = None


pe.encode_program(LooseProgram())  # E: incompatible type "LooseProgram"
a_tensor: TensorLike = LooseTensor()  # E: Incompatible types in assignment
a_value: KernelTypesLike = "x"  # E: Incompatible types in assignment
an_int: IntLike = et.Double(1.0)  # E: Incompatible types in assignment
pe.EValue(val="x")  # E: incompatible type "str"
pe.Program(execution_plan=[pe.Tensor()])  # E: List item 0 has incompatible type "Tensor"
et.Tensor(et.ScalarType.FLOAT, 0, "2", [0], False, 0, 0, None, et.TensorShapeDynamism.STATIC)  # E: incompatible type "str"

inferred, reproduced = pe.infer_options(pe.read_program("x.pte"))
inferred["layout"] = "flatbufers"  # E: Value of "layout" has incompatible type
inferred["segment_alignmnet"] = 64  # E: has no key "segment_alignmnet"
pe.encode_flatbuffer(program, **inferred)  # E: Extra argument

pe.decode_program(123)  # E: incompatible type "int"
pe.decode_program("x.pte")  # E: incompatible type "str"
pe.decode_flatbuffer([1, 2, 3])  # E: incompatible type "list[int]"
pe.decode_data_file(None)  # E: incompatible type "None"
pe.analyze_data_file(123)  # E: incompatible type "int"
pe.read_program(b"x.pte")  # E: incompatible type "bytes"
pe.read_program("x.pte", copy="yes")  # E: incompatible type "str"
pe.read_data_file("x.ptd", True)  # E: Too many positional arguments

# ETDumps: the model lives in pte_encoder.etdump (its Tensor is not the program's)
import pte_encoder.etdump as etd  # noqa: E402
etd.debug_tensor(pe.Tensor(), b"")  # E: incompatible type "pte_encoder.schemas.program.model.Tensor"
etd.debug_tensors(etd.Tensor(), b"")  # E: incompatible type "Tensor"; expected
pe.read_etdump(3)  # E: incompatible type "int"
dumped: pe.Program = pe.decode_etdump(b"")  # E: Incompatible types in assignment
etd.summarize_profile(etd.ETDump(), pe.ExecutionPlan())  # E: incompatible type "ExecutionPlan"
# XNNPACK blobs
xnn.encode_xnnpack_blob(program)  # E: incompatible type "Program"
xnn.encode_xnnpack_blob(ext.XNode(ext.XNNAdd(0, 1, 2, 0), 0))  # E: incompatible type "XNode"
pe.encode_xnnpack_blob(xnn.XNNGraph(), constant_data="weights")  # E: incompatible type "str"
pe.encode_xnnpack_blob(xnn.XNNGraph(), [1, 2])  # E: incompatible type "list[int]"
xnn.XNode(xnode_union=xnn.XNNTensorValue())  # E: incompatible type "XNNTensorValue"
xnn.XNNAdd(input1_id="0")  # E: incompatible type "str"
xnn.XNNGraph(xnodes=[xnn.XNNAdd()])  # E: List item 0 has incompatible type "XNNAdd"
blob_graph: pe.Program = pe.decode_xnnpack_blob(b"").graph  # E: Incompatible types in assignment
xnn.decode_xnnpack_blob(b"").constant_data.decode()  # E: "memoryview
xnn.graph_from_json(42)  # E: incompatible type "int"
bundled = pe.bundled.BundledProgram()
pe.encode_bundled_program(program)  # E: incompatible type "Program"
pe.encode_bundled_program(b"bytes")  # E: incompatible type "bytes"
pe.encode_bundled_program(bundled, layout="flatbufers")  # E: Argument "layout" to "encode_bundled_program" has incompatible type
pe.write_bundled_program(bundled, 3)  # E: incompatible type "int"
pe.write_bundled_program(bundled, io.StringIO())  # E: incompatible type "StringIO"
pe.write_bundled_program(bundled, "x.bpte", segment_alignment=64)  # E: Unexpected keyword argument "segment_alignment"
pe.bundled.BundledMethodTestCase(inputs=[pe.bundled.Tensor()])  # E: List item 0 has incompatible type "Tensor"
pe.bundled.Value(pe.Tensor())  # E: incompatible type "pte_encoder.schemas.program.model.Tensor"
pe.encode_bundled_program(bp.BundledProgram(2, [], "program"))  # E: Argument 3 to "BundledProgram" has incompatible type "str"
pe.encode_bundled_program(bp.BundledMethodTestSuite("forward", []))  # E: incompatible type "BundledMethodTestSuite"
not_bundled: bytes = pe.decode_bundled_program(b"")  # E: Incompatible types in assignment
