"""Synthetic programs shaped like real exports, of a chosen number of values."""

from __future__ import annotations

import random
import struct
from typing import Any, List, Optional

import pte_encoder as pe

_OPERATORS = [("aten::add", "out"), ("aten::mul", "out"), ("aten::convolution", "out"),
              ("aten::permute_copy", "out"), ("aten::view_copy", "out"), ("aten::addmm", "out"),
              ("aten::relu", "out"), ("aten::sum", "IntList_out"), ("aten::cat", "out"),
              ("aten::max_pool2d_with_indices", "out")]


def _tensor(rng: random.Random, offset: int) -> pe.Tensor:
    rank = rng.randint(1, 4)
    return pe.Tensor(
        scalar_type=pe.ScalarType.FLOAT, storage_offset=0,
        sizes=[rng.randint(1, 512) for _ in range(rank)], dim_order=list(range(rank)),
        requires_grad=False, layout=0, data_buffer_idx=0,
        allocation_info=pe.AllocationDetails(memory_id=1, memory_offset_low=offset,
                                              memory_offset_high=0),
        shape_dynamism=pe.TensorShapeDynamism.STATIC, extra_tensor_info=None)


def _value(rng: random.Random, index: int) -> pe.EValue:
    kind = rng.random()
    if kind < 0.55:
        return pe.EValue(_tensor(rng, index * 64))
    if kind < 0.75:
        return pe.EValue(pe.Int(int_val=rng.randint(-4, 4096)))
    if kind < 0.87:
        return pe.EValue(pe.IntList(items=[rng.randint(0, index) for _ in range(rng.randint(1, 4))]))
    if kind < 0.92:
        return pe.EValue(pe.Bool(bool_val=rng.random() < 0.5))
    if kind < 0.96:
        return pe.EValue(pe.Double(double_val=rng.choice([0.0, 1e-5, 0.5, 1.0, float("inf")])))
    return pe.EValue(pe.Null())


def synthetic_program(values: int, seed: int = 0) -> pe.Program:
    """One method with ``values`` values, a kernel call per four values, and
    a few constants."""
    rng = random.Random(seed)
    evalues = [_value(rng, i) for i in range(values)]
    calls = [pe.Instruction(pe.KernelCall(
        op_index=rng.randrange(len(_OPERATORS)),
        args=[rng.randrange(values) for _ in range(rng.randint(3, 6))]))
        for _ in range(max(1, values // 4))]
    template = pe.ExecutionPlan(
        name="forward",
        container_meta_type=pe.ContainerMetadata(encoded_inp_str="[1, {}]", encoded_out_str="[1, {}]"),
        values=evalues, inputs=[0], outputs=[values - 1],
        chains=[pe.Chain(inputs=[], outputs=[], instructions=calls, stacktrace=None)],
        operators=[pe.Operator(name=n, overload=o) for n, o in _OPERATORS],
        delegates=[], non_const_buffer_sizes=[0, values * 64])
    constants = [pe.Buffer(storage=b"")] + [pe.Buffer(storage=rng.randbytes(4096))
                                            for _ in range(max(1, values // 1000))]
    return pe.Program(version=0, execution_plan=[template], constant_buffer=constants,
                      backend_delegate_data=[], segments=[],
                      constant_segment=pe.SubsegmentOffsets(segment_index=0, offsets=[]))


# Programs shaped like the exports issue 13 names: stack traces on every
# instruction, delegate-only, many operators, many small methods, tiny, and
# heavy on strings and int lists. Each is deterministic for its arguments.

_FRAMES = [
    ("/usr/lib/python3/site-packages/torch/nn/modules/linear.py", 125, "forward",
     "return F.linear(input, self.weight, self.bias)"),
    ("/usr/lib/python3/site-packages/torch/nn/modules/conv.py", 554, "_conv_forward",
     "return F.conv2d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)"),
    ("/home/user/models/attention.py", 88, "forward",
     "scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)"),
    ("/home/user/models/block.py", 41, "forward", "x = x + self.attn(self.norm1(x))"),
    ("/home/user/models/model.py", 17, "forward", "return self.head(self.blocks(x))"),
]


def _plan(name: str, evalues: List[pe.EValue], instructions: List[pe.Instruction],
          operators: List[pe.Operator], stacktrace: Optional[List[pe.FrameList]] = None,
          delegates: Optional[List[pe.BackendDelegate]] = None) -> pe.ExecutionPlan:
    return pe.ExecutionPlan(
        name=name,
        container_meta_type=pe.ContainerMetadata(
            encoded_inp_str='[1, {"type": "builtins.tuple", "context": "null", "children_spec": '
                            '[{"type": null, "context": null, "children_spec": []}]}]',
            encoded_out_str='[1, {"type": null, "context": null, "children_spec": []}]'),
        values=evalues, inputs=[0], outputs=[len(evalues) - 1],
        chains=[pe.Chain(inputs=[0], outputs=[len(evalues) - 1], instructions=instructions,
                         stacktrace=stacktrace)],
        operators=operators, delegates=delegates or [],
        non_const_buffer_sizes=[0, 64 * len(evalues)])


def _program(templates: List[pe.ExecutionPlan], constants: int = 0, seed: int = 0,
             **extra: Any) -> pe.Program:
    rng = random.Random(seed)
    return pe.Program(version=0, execution_plan=templates,
                      constant_buffer=[pe.Buffer(storage=b"")] + [
                          pe.Buffer(storage=rng.randbytes(256)) for _ in range(constants)],
                      backend_delegate_data=extra.pop("backend_delegate_data", []),
                      segments=extra.pop("segments", []),
                      constant_segment=pe.SubsegmentOffsets(segment_index=0, offsets=[]), **extra)


def _kernel_calls(rng: random.Random, values: int, count: int, operators: int) -> List[pe.Instruction]:
    return [pe.Instruction(pe.KernelCall(op_index=rng.randrange(operators),
                                         args=[rng.randrange(values) for _ in range(rng.randint(2, 5))]))
            for _ in range(count)]


def stacktrace_program(values: int = 22, frames: int = 3, seed: int = 0) -> pe.Program:
    """One method whose every instruction carries a FrameList of ``frames``
    Frames (filename, lineno, name, context), as exports with debug
    information have."""
    rng = random.Random(seed)
    evalues = [_value(rng, i) for i in range(values)]
    calls = _kernel_calls(rng, values, max(1, values // 2), len(_OPERATORS))
    trace = [pe.FrameList(items=[pe.Frame(filename=f, lineno=line + rng.randrange(3), name=n, context=c)
                                 for f, line, n, c in rng.sample(_FRAMES, frames)])
             for _ in calls]
    operators = [pe.Operator(name=n, overload=o) for n, o in _OPERATORS]
    return _program([_plan("forward", evalues, calls, operators, stacktrace=trace)], constants=2)


def delegate_program(values: int = 3, specs: int = 4, named: int = 6, seed: int = 0) -> pe.Program:
    """A whole model lowered to one XNNPACK-like delegate: a few values, one
    DelegateCall, compile specs, the processed blob inline, named data keys."""
    rng = random.Random(seed)
    evalues = [pe.EValue(_tensor(rng, i * 256)) for i in range(values)]
    delegate = pe.BackendDelegate(
        id="XnnpackBackend",
        processed=pe.BackendDelegateDataReference(location=pe.DataLocation.INLINE, index=0),
        compile_specs=[pe.CompileSpec(key=f"spec_{i}", value=rng.randbytes(rng.choice([1, 4, 8, 32])))
                       for i in range(specs)])
    call = pe.Instruction(pe.DelegateCall(delegate_index=0, args=list(range(values))))
    template = _plan("forward", evalues, [call], [], delegates=[delegate])
    return _program([template], backend_delegate_data=[pe.BackendDelegateInlineData(data=rng.randbytes(2048))],
                    segments=[pe.DataSegment(offset=0, size=0)] + [
                        pe.DataSegment(offset=4096 * i, size=4096) for i in range(named)],
                    named_data=[pe.NamedData(key=rng.randbytes(32).hex(), segment_index=i + 1)
                                for i in range(named)])


def many_operators_program(operators: int = 300, seed: int = 0) -> pe.Program:
    """A large operator table (many distinct op names and overloads), one
    kernel call per operator."""
    rng = random.Random(seed)
    values = operators * 2
    evalues = [_value(rng, i) for i in range(values)]
    ops = [pe.Operator(name=f"aten::{rng.choice(['add', 'mul', 'conv', 'linear', 'gelu'])}_{i}",
                       overload=rng.choice(["out", "Tensor_out", "Scalar_out", "IntList_out", ""]))
           for i in range(operators)]
    calls = [pe.Instruction(pe.KernelCall(op_index=i, args=[rng.randrange(values) for _ in range(4)]))
             for i in range(operators)]
    return _program([_plan("forward", evalues, calls, ops)], constants=4)


def many_methods_program(methods: int = 40, values: int = 6, seed: int = 0) -> pe.Program:
    """Many small methods (getters, small helpers), each a few values and calls."""
    rng = random.Random(seed)
    templates = []
    for m in range(methods):
        evalues = [_value(rng, i) for i in range(values)]
        templates.append(_plan(f"method_{m}", evalues, _kernel_calls(rng, values, 2, 3),
                           [pe.Operator(name=n, overload=o) for n, o in _OPERATORS[:3]]))
    return _program(templates)


def tiny_program(values: int = 1) -> pe.Program:
    """1 to 3 values: a constant getter, an identity, a single add."""
    evalues = [pe.EValue(pe.Int(int_val=7)), pe.EValue(pe.Tensor(
        scalar_type=pe.ScalarType.FLOAT, sizes=[1], dim_order=[0], data_buffer_idx=0,
        allocation_info=pe.AllocationDetails(memory_id=1))), pe.EValue(pe.Null())][:values]
    calls = [pe.Instruction(pe.KernelCall(op_index=0, args=list(range(values))))] if values > 1 else []
    return _program([_plan("forward", evalues, calls,
                           [pe.Operator(name="aten::add", overload="out")] if calls else [])])


def strings_intlists_program(values: int = 400, seed: int = 0) -> pe.Program:
    """Values mostly Strings of assorted lengths and IntLists of assorted
    lengths, as programs with many symbolic shapes or string arguments have."""
    rng = random.Random(seed)
    words = ["mean", "sum", "none", "reflect", "replicate", "constant", "floor", "trunc", "tanh",
             "bilinear", "nearest", "zeros", "border"]
    evalues = []
    for i in range(values):
        kind = rng.random()
        if kind < 0.4:
            evalues.append(pe.EValue(pe.String(string_val="_".join(rng.choices(words, k=rng.randint(1, 5))))))
        elif kind < 0.85:
            evalues.append(pe.EValue(pe.IntList(items=[rng.randrange(i + 1) for _ in range(rng.randint(1, 12))])))
        else:
            evalues.append(pe.EValue(_tensor(rng, i * 64)))
    calls = _kernel_calls(rng, values, values // 4, len(_OPERATORS))
    return _program([_plan("forward", evalues, calls, [pe.Operator(name=n, overload=o) for n, o in _OPERATORS])])


def small_tensor_payload(count: int, seed: int = 0) -> pe.DataPayload:
    """A .ptd payload of ``count`` small float tensors (a few to a few hundred
    bytes each, 16-aligned, each with its layout), one key per tensor, as a
    model with many small weights and biases exports them."""
    rng = random.Random(seed)
    buffers: List[bytes] = []
    named = {}
    for index in range(count):
        rank = rng.randint(1, 3)
        sizes = [rng.randint(1, 6) for _ in range(rank)]
        elements = 1
        for size in sizes:
            elements *= size
        buffers.append(rng.randbytes(4 * elements))
        named[f"layers.{index // 4}.{('weight', 'bias', 'scale', 'zero_point')[index % 4]}"] = \
            pe.DataEntry(index, 16, pe.TensorLayout(pe.ScalarType.FLOAT, sizes, list(range(rank))))
    return pe.DataPayload(buffers, named)


def synthetic_xnnpack_graph(et: Any, nodes: int, seed: int = 0) -> Any:
    """An XNNPACK graph as ExecuTorch's XNNPACK backend lowers a network, in
    ExecuTorch's dataclasses (``et``: tests/executorch_xnnpack_mirror.py):
    blocks of a convolution with a fused ReLU, a fully connected layer, an
    add, a reshape and a GELU; fp32 values (dims of rank 4), weights and
    biases as constants named by their sha256 (entry 0 reserved), one in
    four weights quantized per channel (64 float32 scales) or per group.
    About ``nodes`` nodes and twice as many values."""
    rng = random.Random(seed)
    values: List[Any] = []
    constants = [et.ConstantDataOffset(0, 0)]
    fp32 = et.XNNDatatype.xnn_datatype_fp32

    def value(dims: List[int], constant: bool = False, flags: int = 0, quantized: bool = False) -> int:
        index = len(values)
        buffer = 0
        if constant:
            buffer = len(constants)
            constants.append(et.ConstantDataOffset(2**64 - 1, 4 * max(1, dims[0]) * 64,
                                                   f"{rng.getrandbits(256):064x}"))
        tensor = et.XNNTensorValue(fp32, len(dims), dims, buffer, 0 if flags else 2**32 - 1, flags, index)
        if quantized:
            scales = [float(struct.unpack("<f", struct.pack("<f", rng.uniform(1e-3, 1e-1)))[0])
                      for _ in range(64)]
            quant = (et.PerChannelQuant(scales, 0, 0, 0) if rng.random() < 0.5 else
                     et.PerChannelGroupQuant(scales, 0, 32, None, 0, 0))
            tensor.datatype = et.XNNDatatype.xnn_datatype_qcint8
            values.append(et.XValue(et.XNNQuantizedTensorValue(tensor, quant)))
        else:
            values.append(et.XValue(tensor))
        return index

    x = value([1, 64, 56, 56], flags=1)
    xnodes: List[Any] = []
    handle = 0
    while len(xnodes) < nodes:
        handle += 1
        kind = len(xnodes) % 5
        if kind == 0:
            w, b = value([64, 3, 3, 64], True, quantized=rng.random() < 0.25), value([64], True)
            out = value([1, 64, 56, 56])
            xnodes.append(et.XNode(et.XNNConv2d(1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 64, 64, 1, 0, 0, x, w, b, out, 0),
                                   handle, et.OutputMinMax(0, "+inf")))
        elif kind == 1:
            w, b = value([64, 64], True, quantized=rng.random() < 0.25), value([64], True)
            out = value([1, 64, 56, 56])
            xnodes.append(et.XNode(et.XNNFullyConnected(x, w, b, out, 0), handle))
        elif kind == 2:
            out = value([1, 64, 56, 56])
            xnodes.append(et.XNode(et.XNNAdd(x, xnodes[-1].xnode_union.output_id, out, 0), handle))
        elif kind == 3:
            out = value([1, 64, 3136])
            xnodes.append(et.XNode(et.XNNStaticReshape(3, [1, 64, 3136], x, out, 0), handle))
        else:
            out = value([1, 64, 56, 56])
            xnodes.append(et.XNode(et.XNNGelu(x, out, 0), handle))
        x = out
    last = values[x].xvalue_union
    last.flags, last.external_id = 2, 1
    return et.XNNGraph("0", xnodes, values, 2, [0], [x], constants)
