"""Synthetic programs shaped like real exports, of a chosen number of values."""

from __future__ import annotations

import random

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
    plan = pe.ExecutionPlan(
        name="forward",
        container_meta_type=pe.ContainerMetadata(encoded_inp_str="[1, {}]", encoded_out_str="[1, {}]"),
        values=evalues, inputs=[0], outputs=[values - 1],
        chains=[pe.Chain(inputs=[], outputs=[], instructions=calls, stacktrace=None)],
        operators=[pe.Operator(name=n, overload=o) for n, o in _OPERATORS],
        delegates=[], non_const_buffer_sizes=[0, values * 64])
    constants = [pe.Buffer(storage=b"")] + [pe.Buffer(storage=rng.randbytes(4096))
                                            for _ in range(max(1, values // 1000))]
    return pe.Program(version=0, execution_plan=[plan], constant_buffer=constants,
                      backend_delegate_data=[], segments=[],
                      constant_segment=pe.SubsegmentOffsets(segment_index=0, offsets=[]))
