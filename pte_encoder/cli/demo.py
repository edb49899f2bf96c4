"""A small built-in program: ``forward(x, y) = x * y + x`` on 2x2 float tensors.

Built with the typed model, laid out as ExecuTorch's exporter emits such a
method: out-variant portable kernels (``aten::mul.out``, ``aten::add.out``),
every tensor in planned memory (memory id 1), and constant_buffer[0] the
empty placeholder that non-constant tensors point at.
"""

from __future__ import annotations

from ..schemas.program import model as m

_LEAF = '{"type": null, "context": null, "children_spec": []}'
# The pytree specs torch.export writes for ((x, y), {}) in and one tensor out.
_INPUT_SPEC = ('[1, {"type": "builtins.tuple", "context": "null", "children_spec": ['
               '{"type": "builtins.tuple", "context": "null", "children_spec": ['
               f'{_LEAF}, {_LEAF}]}}, '
               '{"type": "builtins.dict", "context": "[]", "children_spec": []}]}]')
_OUTPUT_SPEC = f"[1, {_LEAF}]"
_TENSOR_BYTES = 2 * 2 * 4


def _planned_tensor(slot: int) -> m.EValue:
    """A 2x2 float tensor at ``slot`` * 16 bytes of planned memory."""
    return m.EValue(m.Tensor(
        scalar_type=m.ScalarType.FLOAT, storage_offset=0, sizes=[2, 2], dim_order=[0, 1],
        requires_grad=False, layout=0, data_buffer_idx=0,
        allocation_info=m.AllocationDetails(memory_id=1, memory_offset_low=slot * _TENSOR_BYTES,
                                            memory_offset_high=0),
        shape_dynamism=m.TensorShapeDynamism.STATIC))


def demo_program() -> m.Program:
    values = [
        _planned_tensor(0),         # 0: x
        _planned_tensor(1),         # 1: y
        _planned_tensor(2),         # 2: x * y
        m.EValue(m.Int(int_val=1)),  # 3: alpha of add
        _planned_tensor(3),         # 4: x * y + x
    ]
    instructions = [
        m.Instruction(m.KernelCall(op_index=0, args=[0, 1, 2, 2])),     # mul.out(x, y, out=2)
        m.Instruction(m.KernelCall(op_index=1, args=[2, 0, 3, 4, 4])),  # add.out(2, x, alpha, out=4)
    ]
    plan = m.ExecutionPlan(
        name="forward",
        container_meta_type=m.ContainerMetadata(encoded_inp_str=_INPUT_SPEC,
                                                encoded_out_str=_OUTPUT_SPEC),
        values=values, inputs=[0, 1], outputs=[4],
        chains=[m.Chain(inputs=[], outputs=[], instructions=instructions, stacktrace=None)],
        operators=[m.Operator(name="aten::mul", overload="out"),
                   m.Operator(name="aten::add", overload="out")],
        delegates=[], non_const_buffer_sizes=[0, 4 * _TENSOR_BYTES])
    return m.Program(
        version=0, execution_plan=[plan], constant_buffer=[m.Buffer(storage=b"")],
        backend_delegate_data=[], segments=[],
        constant_segment=m.SubsegmentOffsets(segment_index=0, offsets=[]))
