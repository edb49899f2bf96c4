"""Correct uses of pte_encoder's typed API: mypy --strict accepts every line.

Checked by tests/test_typing.py with the pinned and the newest mypy. The
ExecuTorch objects come from tests/executorch_mirror.py, annotated as
ExecuTorch 1.5.1's exir/schema.py annotates them.
"""

from __future__ import annotations

import io
import mmap
import pathlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import executorch_bundled_mirror as bp
import executorch_mirror as et
import executorch_xnnpack_mirror as ext
import pte_encoder as pe
from pte_encoder import xnnpack as xnn
from pte_encoder.bundled import BundledProgramInput, TensorInput
from pte_encoder.types import (DataEntryLike, EncodeOptions, ExecutionPlanLike, IntLike, IntListLike,
                               KernelTypesLike, MutableBlob, NamedDataStoreLike, ProgramLike,
                               LayoutName, TensorLike, Blob, DataFileOptions, DataPayloadLike)


def our_model() -> pe.Program:
    tensor = pe.Tensor(scalar_type=pe.ScalarType.FLOAT, sizes=[2, 2], dim_order=b"\x00\x01",
                       allocation_info=pe.AllocationDetails(memory_id=1),
                       extra_tensor_info=pe.ExtraTensorInfo(location=pe.TensorDataLocation.EXTERNAL))
    values = [pe.EValue(tensor), pe.EValue(pe.Null()), pe.EValue(pe.Int(3)),
              pe.EValue(pe.Double(0.5)), pe.EValue(pe.DoubleList([1.0])),
              pe.EValue(pe.BoolList([True])), pe.EValue(pe.String("s"))]
    chain = pe.Chain(inputs=[0], outputs=[0], instructions=[
        pe.Instruction(pe.KernelCall(op_index=0, args=[0, 1])), pe.Instruction(pe.FreeCall(0))])
    template = pe.ExecutionPlan(name="forward", values=values, chains=[chain],
                            operators=[pe.Operator("aten::mul", "out")],
                            delegates=[pe.BackendDelegate("b", pe.BackendDelegateDataReference(
                                pe.DataLocation.INLINE, 0), [pe.CompileSpec("k", [1, 2])])],
                            non_const_buffer_sizes=[0, 16])
    program = pe.Program(version=0, execution_plan=[template],
                         constant_buffer=[pe.Buffer(storage=b""), pe.Buffer(storage=bytearray(4))],
                         backend_delegate_data=[pe.BackendDelegateInlineData(memoryview(b"x"))],
                         segments=[])
    pe.encode_flatbuffer(program, constant_tensor_alignment=32, delegate_alignment=None)
    pe.encode_program(program)
    pe.write_program(program, io.BytesIO(), segment_alignment=64)
    pe.program_to_json(program)
    pe.encode_program(pe.program_from_json(pe.program_to_json(program)))
    named = pe.NamedDataOutput(buffers=[b"w", bytearray(2), memoryview(b"v"), [1, 2]],
                               pte_data={"w": pe.DataEntry(0, 16), "v": pe.DataEntry(buffer_index=2)})
    blobs: List[MutableBlob] = [b"x", bytearray(1), memoryview(b""), [1], pe.Buffer(storage=b"")]
    pe.encode_program(program, mutable_data=blobs, named_data=named, extract_delegate_segments=False,
                      segment_alignment=128, constant_tensor_alignment=16, delegate_alignment=64)
    return program


def executorch_tensor() -> et.Tensor:
    return et.Tensor(scalar_type=et.ScalarType.FLOAT, storage_offset=0, sizes=[2, 2], dim_order=[0, 1],
                     requires_grad=False, layout=0, data_buffer_idx=1,
                     allocation_info=et.AllocationDetails(0, 0, 0),
                     shape_dynamism=et.TensorShapeDynamism.STATIC, extra_tensor_info=et.ExtraTensorInfo())


def executorch_objects() -> et.Program:
    values: List[et.EValue] = [
        et.EValue(executorch_tensor()), et.EValue(et.Null()), et.EValue(et.Int(1)),
        et.EValue(et.Bool(True)), et.EValue(et.Double(float("inf"))), et.EValue(et.Double(0.5)),
        et.EValue(et.String("s")), et.EValue(et.IntList([0])), et.EValue(et.DoubleList([1.0])),
        et.EValue(et.BoolList([False])), et.EValue(et.TensorList([0])),
        et.EValue(et.OptionalTensorList([-1]))]
    instructions = [et.Instruction(et.KernelCall(0, [0])), et.Instruction(et.DelegateCall(0, [0])),
                    et.Instruction(et.MoveCall(0, 1)), et.Instruction(et.JumpFalseCall(3, 0)),
                    et.Instruction(et.FreeCall(0))]
    chain = et.Chain(inputs=[0], outputs=[0], instructions=instructions,
                     stacktrace=[et.FrameList([et.Frame("f.py", 1, "f", "x = 1")])])
    template = et.ExecutionPlan(
        name="forward", container_meta_type=et.ContainerMetadata("", ""), values=values,
        inputs=[0], outputs=[0], chains=[chain], operators=[et.Operator("aten::mul", "out")],
        delegates=[et.BackendDelegate("b", et.BackendDelegateDataReference(et.DataLocation.INLINE, 0),
                                      [et.CompileSpec("k", b"v")])],
        non_const_buffer_sizes=[0, 16], non_const_buffer_device=[et.NonConstBufferDevice(1)])
    program = et.Program(version=0, execution_plan=[template], constant_buffer=[et.Buffer(b"")],
                         backend_delegate_data=[et.BackendDelegateInlineData(b"x")], segments=[],
                         constant_segment=et.SubsegmentOffsets(0, []), mutable_data_segments=None,
                         named_data=[et.NamedData("k", 0)])
    pe.encode_flatbuffer(program)
    pe.encode_program(program, mutable_data=[et.Buffer(b"m")])
    pe.write_program(program, "x.pte")
    pe.program_to_json(program)
    as_program: ProgramLike = program
    as_plan: ExecutionPlanLike = template
    as_tensor: TensorLike = executorch_tensor()
    as_value: KernelTypesLike = et.Double("-inf")
    print(as_program, as_plan, as_tensor, as_value)
    return program


@dataclass
class InMemoryNamedDataStoreOutput:
    """ExecuTorch's NamedDataStoreOutput when its buffers are bytes."""

    buffers: List[bytes] = field(default_factory=list)
    pte_data: Dict[str, et.DataEntry] = field(default_factory=dict)
    external_data: Dict[str, Dict[str, et.DataEntry]] = field(default_factory=dict)


def named_data(program: et.Program) -> None:
    layout = et.TensorLayout(et.ScalarType.FLOAT, [2], [0])
    store = InMemoryNamedDataStoreOutput([b"abcd"], {"w": et.DataEntry(0, 64, layout)})
    pe.encode_program(program, named_data=store)
    as_store: NamedDataStoreLike = store
    # ExecuTorch's own store, whose buffers may be file-backed.
    executorch_store = et.NamedDataStoreOutput([b"ab", et.FileBackedData("w.bin")],
                                               {"w": et.DataEntry(1, 16, None)})
    pe.write_program(program, "x.pte", named_data=executorch_store)
    ours = pe.NamedDataOutput([pe.FileData("w.bin", offset=4), b"x"], executorch_store.pte_data)
    pe.encode_program(program, named_data=ours)
    as_entry: DataEntryLike = et.DataEntry(0, 1, None)
    print(as_store, as_entry)


def options(program: pe.Program, other: et.Program, path: Optional[str]) -> None:
    options = pe.options_from_json('{"segment_alignment": 64}')
    pe.encode_program(program, **options)
    pe.write_program(other, path or "x.pte", **options)
    typed: EncodeOptions = {"segment_alignment": 64, "mutable_data": [b"m"], "delegate_alignment": None}
    pe.encode_program(other, **typed)
    pe.write_program(program, io.BytesIO(), **options)
    typed["layout"] = "flatbuffers"
    pe.encode_flatbuffer(other, layout="flatc")
    layout: LayoutName = "flatbuffers"
    pe.encode_program(program, layout=layout)
    flatbuffer_options: EncodeOptions = {"constant_tensor_alignment": 32}
    alignment = flatbuffer_options.get("constant_tensor_alignment")
    pe.encode_flatbuffer(program, constant_tensor_alignment=alignment)


class Index:
    """An integer-like, as numpy's integers are."""

    def __index__(self) -> int:
        return 3


@dataclass
class IntOfIndex:
    int_val: Index


def integer_likes() -> None:
    as_int: IntLike = IntOfIndex(Index())
    as_list: IntListLike = et.IntList(items=[1, 2])
    print(as_int, as_list)


def data_files(path: str) -> None:
    layout = pe.TensorLayout(pe.ScalarType.FLOAT, [2, 2], [0, 1])
    payload = pe.DataPayload(buffers=[bytes(16), pe.FileData(path)],
                             named_data={"w": pe.DataEntry(0, 16, layout), "b": pe.DataEntry(1)})
    pe.encode_data_file(payload, segment_alignment=64)
    pe.write_data_file(payload, path + ".ptd")
    executorch_layout = et.TensorLayout(et.ScalarType.FLOAT, [4], [0])
    executorch_payload = et.DataPayload(
        buffers=[b"abcd", et.FileBackedData(path)],
        named_data={"w": et.DataEntry(0, 64, executorch_layout), "b": et.DataEntry(1, 1, None)})
    pe.encode_data_file(executorch_payload)
    pe.DataEntry(0, 1, executorch_layout)
    pe.encode_data_file(pe.DataPayload([b"ab"], {"w": pe.DataEntry(0, None)}))  # alignment None: 1
    pe.FileData(path, offset=Index(), size=Index())  # integer-likes
    read, options = pe.payload_from_json("{}")
    pe.payload_from_json({"buffers": [], "named_data": {}})
    pe.write_data_file(read, io.BytesIO(), **options)
    typed: DataFileOptions = {"segment_alignment": 4096}
    pe.encode_data_file(executorch_payload, **typed)
    as_payload: DataPayloadLike = executorch_payload
    as_blob: Blob = et.FileBackedData(path)
    print(as_payload, as_blob)

def bundled_programs(path: str, program: bytes) -> None:
    # ExecuTorch's bp_schema objects as they are (dim_order annotated List[bytes], holding ints)
    tensor = bp.Tensor(bp.ScalarType.FLOAT, [2], bytes(8), [0])  # type: ignore[list-item]
    theirs = bp.BundledProgram(2, [bp.BundledMethodTestSuite("forward", [bp.BundledMethodTestCase(
        [bp.Value(tensor), bp.Value(bp.Int(1)), bp.Value(bp.Bool(True)), bp.Value(bp.Double(0.5))],
        [bp.Value(tensor)])])], program)
    data: bytes = pe.encode_bundled_program(theirs)
    pe.write_bundled_program(theirs, path, layout="flatbuffers")
    pe.write_bundled_program(theirs, io.BytesIO())
    # ours, in the pe.bundled namespace
    B = pe.bundled
    ours = B.BundledProgram(version=2, method_test_suites=[B.BundledMethodTestSuite("forward", [
        B.BundledMethodTestCase([B.Value(B.Tensor(B.ScalarType.FLOAT, [2], bytes(8), b"\0")), B.Value()], [])])],
        program=memoryview(program))
    B.encode_bundled_program(ours, layout="flatc")
    back: pe.bundled.BundledProgram = pe.decode_bundled_program(data)
    mapped: pe.bundled.BundledProgram = pe.read_bundled_program(path)
    embedded = back.program
    assert isinstance(embedded, memoryview)  # decoded: a view of the file (the model's type is wider)
    pe.decode_program(embedded)
    as_input: BundledProgramInput = mapped
    as_tensor: TensorInput = tensor
    print(as_input, as_tensor)


@dataclass
class OnDisk:
    """A bundled program whose program stays in a file."""

    version: int
    method_test_suites: List[bp.BundledMethodTestSuite]
    program: pe.FileData


def file_backed(path: str) -> None:
    pe.write_bundled_program(OnDisk(2, [], pe.FileData(path)), path + ".bpte")
    pe.encode_bundled_program(OnDisk(2, [], pe.FileData(path)))


# infer_options gives encode_program's keyword arguments, layout included.
found, exact = pe.infer_options(pe.read_program("x.pte"))
rewritten: bytes = pe.encode_program(pe.read_program("x.pte").program, **found)

# The readers take bytes-like data or an mmap; read_* a path, owned bytes with copy=True.
decoded = pe.decode_program(bytearray(b"x"))
flat = pe.decode_flatbuffer(memoryview(b"x"))
owned = pe.read_program("x.pte", copy=True)
payload_read = pe.read_data_file(pathlib.Path("x.ptd"), copy=True)
with open("x.ptd", "rb") as ptd_file:
    analyzed = pe.analyze_data_file(mmap.mmap(ptd_file.fileno(), 0, access=mmap.ACCESS_READ))
print(decoded, flat, owned, payload_read, analyzed)
with_layout: EncodeOptions = pe.options_from_json('{"layout": "flatbuffers"}')
pe.encode_program(pe.Program(), **with_layout)


def etdumps(path: str) -> None:
    import pte_encoder.etdump as etd
    dump: etd.ETDump = pe.read_etdump(path)
    again: etd.ETDump = pe.decode_etdump(open(path, "rb").read())
    buffer = pe.read_debug_buffer(path + ".bin")
    for run in dump.run_data or []:
        for event in run.events or []:
            if event.debug_event is not None:
                for tensor in pe.debug_tensors(event.debug_event, buffer):
                    shaped: "tuple[etd.ScalarType | int, list[int], memoryview]" = (
                        tensor.scalar_type, tensor.sizes, tensor.data)
                    print(shaped, tensor.nbytes)
            if event.profile_event is not None:
                elapsed: int = event.profile_event.end_time - event.profile_event.start_time
                print(elapsed)
    summary = etd.summarize_profile(again, pe.read_program(path + ".pte").program)
    print(etd.format_profile(path, summary), pe.etdump_to_json(dump))
def xnnpack_blobs(path: str) -> None:
    ours = xnn.XNNGraph(version="0", xnodes=[
        xnn.XNode(xnn.XNNAdd(0, 1, 2, 0), debug_handle=1, output_min_max=xnn.OutputMinMax(0.0, float("inf"))),
        xnn.XNode(xnn.XNNFullyConnected(2, 3, 4, 5, 0), 2)],
        xvalues=[xnn.XValue(xnn.XNNTensorValue(xnn.XNNDatatype.xnn_datatype_fp32, 1, [4], 0, 0, 1, 0)),
                 xnn.XValue(xnn.XNNQuantizedTensorValue(xnn.XNNTensorValue(), xnn.PerTensorQuant(0.5, 0)))],
        constant_data=[xnn.ConstantDataOffset(0, 0, "")])
    data: bytes = xnn.encode_xnnpack_blob(ours, b"weights")
    xnn.encode_xnnpack_blob(ours, bytearray(4))
    pe.encode_xnnpack_blob(ours, memoryview(data))
    theirs = ext.XNNGraph("0", [ext.XNode(ext.XNNGelu(0, 1, 0), 1, ext.OutputMinMax(0, "+inf"))],
                          [ext.XValue(ext.XNNTensorValue(ext.XNNDatatype.xnn_datatype_fp32, 1, [4], 0, 0, 1, 0))],
                          1, [0], [1], [ext.ConstantDataOffset(0, 0)])
    xnn.encode_xnnpack_blob(theirs)
    blob: xnn.XnnpackBlob = pe.decode_xnnpack_blob(data)
    graph: xnn.XNNGraph = blob.graph
    view: memoryview = blob.constant_data
    header: Optional[xnn.XnnpackHeader] = blob.header
    text: str = xnn.graph_to_json(graph)
    xnn.encode_xnnpack_blob(xnn.graph_from_json(text), view)
    member: xnn.XNodeUnion = xnn.XNNGelu(0, 1, 0)
    print(header, member)

