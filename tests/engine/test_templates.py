"""The templates that write flat subtrees (pte_encoder/engine/templates.py): the cases
where what is already written changes a subtree's bytes, and the caches."""

from __future__ import annotations

import threading
from typing import Any, List

import pytest

import pte_encoder as pe
from pte_encoder.schemas.program.codec import PROGRAM
from pte_encoder.engine import templates as _templates
from helpers import CORPUS, CORPUS_CASES, flatc_binary


def program_of(values: List[pe.EValue]) -> pe.Program:
    template = pe.ExecutionPlan(name="forward", values=values, inputs=[], outputs=[])
    return pe.Program(version=0, execution_plan=[template])


def same_as_flatc(program: pe.Program) -> None:
    assert pe.encode_flatbuffer(program) == flatc_binary(pe.program_to_json(program))


def empty_tensor(**fields: Any) -> pe.EValue:
    return pe.EValue(pe.Tensor(**fields))


def test_a_vtable_written_inside_a_subtree_is_shared_by_a_later_table_of_it() -> None:
    # AllocationDetails and ExtraTensorInfo with every field at its default
    # have the same empty vtable: the second table of the subtree points at
    # the one the first wrote.
    same_as_flatc(program_of([empty_tensor(allocation_info=pe.AllocationDetails(),
                                           extra_tensor_info=pe.ExtraTensorInfo())]))


@pytest.mark.parametrize("before", [pe.Null(), pe.Int(0), pe.Int(7), pe.Bool(True)])
def test_a_shape_meets_vtables_written_before_it_in_any_combination(before: Any) -> None:
    # The same subtree shape, first with none of its vtables written, then
    # after another value wrote one of them (or a vtable of another length,
    # which moves where the next table starts modulo 8).
    tensor = dict(allocation_info=pe.AllocationDetails(), extra_tensor_info=pe.ExtraTensorInfo(),
                  sizes=[1, 2, 3])
    values = [empty_tensor(**tensor), pe.EValue(before), empty_tensor(**tensor),
              pe.EValue(before), empty_tensor(**tensor, dim_order=[0, 1, 2])]
    same_as_flatc(program_of(values))
    same_as_flatc(program_of(values[1:]))


def test_interleaved_writers_keep_their_own_vtables() -> None:
    # Each shape remembers its template for one writer; a program encoded
    # between two uses of the same shapes must not leak its vtables.
    first = program_of([empty_tensor(sizes=[i], dim_order=[0]) for i in range(1, 5)])
    second = program_of([pe.EValue(pe.Int(i)) for i in range(4)] + first.execution_plan[0].values)
    expected = [flatc_binary(pe.program_to_json(p)) for p in (first, second)]
    for _ in range(3):
        assert [pe.encode_flatbuffer(p) for p in (first, second)] == expected


def test_a_shape_first_in_one_buffer_and_later_in_another() -> None:
    # A writer with no vtable yet skips the decisions (Shape.fresh): the same
    # shapes, first in one buffer and after other tables in the next, in turn.
    values = [empty_tensor(sizes=[2], dim_order=[0], allocation_info=pe.AllocationDetails()),
              pe.EValue(pe.Int(5))]
    first = program_of(values)
    later = program_of([pe.EValue(pe.Double(1.5)), pe.EValue(pe.Bool(True))] + values)
    later.execution_plan[0].name = "f" * 5
    expected = [flatc_binary(pe.program_to_json(p)) for p in (first, later)]
    for _ in range(3):
        assert [pe.encode_flatbuffer(p) for p in (first, later)] == expected
        assert pe.encode_flatbuffer(first) == expected[0]


def test_threads_encoding_different_programs_agree_with_one_thread() -> None:
    programs = []
    for case in CORPUS_CASES:
        programs.append(pe.program_from_json((CORPUS / case / "flatbuffer.json").read_text()))
    expected = [pe.encode_flatbuffer(p) for p in programs]
    failures: List[str] = []

    def work(offset: int) -> None:
        for round in range(20):
            index = (offset + round) % len(programs)
            if pe.encode_flatbuffer(programs[index]) != expected[index]:
                failures.append(CORPUS_CASES[index])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


@pytest.mark.parametrize("layout", ["flatc", "flatbuffers"])
def test_the_shape_cache_may_be_emptied_at_any_time(monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    templates = PROGRAM.layout(layout).templates
    monkeypatch.setattr(templates, "max_shapes", 3)
    for case in CORPUS_CASES:
        program = pe.program_from_json((CORPUS / case / "flatbuffer.json").read_text())
        # encode_flatbuffer with the corpus options is checked elsewhere; the
        # schema's alignments are enough to compare two encodings here.
        cached = pe.encode_flatbuffer(program, layout=layout)
        templates.shapes.clear()
        assert pe.encode_flatbuffer(program, layout=layout) == cached
        assert len(templates.shapes) <= 3


def _method_program(values: int) -> pe.Program:
    """A program of one method of ``values`` Int values (a small table)."""
    template = pe.ExecutionPlan(name="forward", container_meta_type=pe.ContainerMetadata("", ""),
                            values=[pe.EValue(pe.Int(i + 1)) for i in range(values)],
                            inputs=[0], outputs=[values - 1], chains=[], operators=[], delegates=[],
                            non_const_buffer_sizes=[0])
    return pe.Program(version=0, execution_plan=[template], constant_buffer=[], backend_delegate_data=[],
                      segments=[])


@pytest.mark.parametrize("layout", ["flatc", "flatbuffers"])
def test_the_plans_kept_are_bounded_by_their_values(monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    """Shapes count, but so does what their templates pack: a process writing many
    different medium programs (a template of up to SMALL_VALUES each) starts the
    cache again once the templates kept pack max_planned_values values."""
    templates = PROGRAM.layout(layout).templates
    monkeypatch.setattr(templates, "max_planned_values", 200)
    templates.shapes.clear()
    templates.planned_values = 0
    for n in range(40, 60):
        program = _method_program(n)
        first = pe.encode_flatbuffer(program, layout=layout)
        assert pe.encode_flatbuffer(program, layout=layout) == first  # the second compiles its templates
        assert templates.planned_values < 200 + 400  # one method template packs under 400 values here
    assert templates.planned_values > 0


@pytest.mark.parametrize("length", [0, 1, _templates.SHORT_VECTOR, _templates.SHORT_VECTOR + 1, 1000])
def test_vectors_short_and_long(length: int) -> None:
    values = [pe.EValue(pe.IntList(items=list(range(length)))),
              pe.EValue(pe.DoubleList(items=[0.5] * length)),
              pe.EValue(pe.TensorList(items=tuple(range(length)))),
              pe.EValue(pe.BoolList(items=[True] * length))]
    same_as_flatc(program_of(values))


@pytest.mark.parametrize("layout", ["flatc", "flatbuffers"])
@pytest.mark.parametrize("length", [0, 1, 2, 3, _templates.FLAT_VECTOR, _templates.FLAT_VECTOR + 1])
def test_short_vectors_of_flat_tables_are_one_subtree_from_their_second_sight(
        layout: str, length: int) -> None:
    # Mixed values (vtables shared between items, and with an earlier one)
    # and segments, operators, named data: the first encoding writes them
    # item by item, the second compiles one template per vector of 1 to
    # FLAT_VECTOR items, later ones use it; all alike, and flatc's in its layout.
    # (The method has a chain too long to be a small table: its vectors are
    # written by the writer, not inside the method's subtree.)
    kinds = [pe.Int(3), empty_tensor(sizes=[1, 2], dim_order=[0, 1]).val, pe.Null(), pe.Int(0),
             pe.String(string_val="abc"), empty_tensor(allocation_info=pe.AllocationDetails()).val]
    values = [pe.EValue(kinds[i % len(kinds)]) for i in range(length)]
    long_chain = pe.Chain(inputs=[], outputs=[],
                          instructions=[pe.Instruction(pe.FreeCall(i)) for i in range(_templates.FLAT_VECTOR + 1)])
    template = pe.ExecutionPlan(name="m", values=values, inputs=[], outputs=[], chains=[long_chain],
                            operators=[pe.Operator(name="aten::add" * i, overload="out") for i in range(length)])
    program = pe.Program(version=0, execution_plan=[template],
                         segments=[pe.DataSegment(offset=i, size=7 * i) for i in range(length)],
                         named_data=[pe.NamedData(key="k" * i, segment_index=i) for i in range(length)])
    templates = PROGRAM.layout(layout).templates
    templates.shapes.clear()
    templates.seen.clear()
    out = [pe.encode_flatbuffer(program, layout=layout) for _ in range(3)]
    assert out[0] == out[1] == out[2]
    if layout == "flatc":
        same_as_flatc(program)
    vectors = {key[0] for key in templates.shapes if key[0].startswith("[")}
    assert vectors == ({"[EValue]", "[Operator]", "[DataSegment]", "[NamedData]"}
                       if 0 < length <= _templates.FLAT_VECTOR else set())


def small_method(values: int = 3, instructions: int = 2, frames: int = 2) -> pe.ExecutionPlan:
    trace = [pe.FrameList(items=[pe.Frame(filename="f.py", lineno=i, name="g" * i) for i in range(frames)])
             for _ in range(instructions)]
    calls = [pe.Instruction(pe.KernelCall(op_index=0, args=[0, 1])) for _ in range(instructions)]
    chain = pe.Chain(inputs=[0], outputs=[1], instructions=calls, stacktrace=trace)
    delegate = pe.BackendDelegate(id="backend", processed=pe.BackendDelegateDataReference(index=1),
                                  compile_specs=[pe.CompileSpec(key="k", value=b"v")])
    return pe.ExecutionPlan(name="m", values=[pe.EValue(pe.Int(i)) for i in range(values)], inputs=[0],
                            outputs=[1], chains=[chain], operators=[pe.Operator(name="aten::add", overload="")],
                            delegates=[delegate], non_const_buffer_sizes=[0, 16])


BIG = _templates.FLAT_VECTOR + 1


@pytest.mark.parametrize("layout", ["flatc", "flatbuffers"])
@pytest.mark.parametrize("template, small, not_small", [
    (small_method(), {"ExecutionPlan"}, set()),
    (small_method(values=0, instructions=0, frames=0), {"ExecutionPlan"}, set()),
    # too many values: its chains and delegates are small tables on their own
    (small_method(values=BIG), {"Chain", "BackendDelegate"}, {"ExecutionPlan"}),
    (small_method(instructions=BIG), {"BackendDelegate"}, {"ExecutionPlan", "Chain"}),
    (small_method(frames=BIG), {"BackendDelegate"}, {"ExecutionPlan", "Chain", "FrameList"}),
    # over SMALL_VALUES flat values: neither the method nor its values vector is one subtree
    (pe.ExecutionPlan(name="m", values=[pe.EValue(pe.IntList(list(range(16))))
                                        for _ in range(_templates.SMALL_VALUES // 16 + 1)]),
     set(), {"ExecutionPlan", "[EValue]"}),
    (pe.ExecutionPlan(name="m", values=tuple(small_method().values)), set(), {"ExecutionPlan"}),  # a tuple
])
def test_small_tables_are_one_subtree_from_their_second_sight(layout: str, template: Any, small: Any,
                                                               not_small: Any) -> None:
    # A method whose table vectors are all short lists (Schema.small_tables),
    # with at most SMALL_VALUES flat values, is written item by item the
    # first time, then as one subtree; otherwise its chains and delegates may
    # be, each on its own. The bytes are the same, and flatc's in its layout.
    program = pe.Program(version=0, execution_plan=[template, template])
    templates = PROGRAM.layout(layout).templates
    templates.shapes.clear()
    templates.seen.clear()
    out = [pe.encode_flatbuffer(program, layout=layout) for _ in range(3)]
    assert out[0] == out[1] == out[2]
    if layout == "flatc":
        same_as_flatc(program)
    tables = {key[0] for key in templates.shapes}
    assert small <= tables and not tables & not_small, tables


def test_the_first_buffer_of_a_codec_writes_small_tables_through_the_writer() -> None:
    # Most processes write one buffer: its small methods are not read as
    # subtrees at all (not even noted as met); from the second buffer on they
    # are, and the third writes them with one template each. The bytes never change.
    from pte_encoder.schemas.program import encoders as _program_encoders, model
    from pte_encoder.engine.codec import Codec
    schema = PROGRAM.schema
    codec = Codec(schema, _program_encoders.build, {t: getattr(model, t) for t in schema.tables},
                  {e: getattr(model, e) for e in schema.enums})
    templates = codec.layout("flatc").templates
    program = pe.Program(version=0, execution_plan=[small_method()])
    expected = pe.encode_flatbuffer(program)
    met = []
    for _ in range(3):
        assert codec.encode(program) == expected
        met.append({key[0] for key in templates.seen} | {key[0] for key in templates.shapes})
    assert "ExecutionPlan" not in met[0]
    assert "ExecutionPlan" in met[1] and "ExecutionPlan" in met[2]


@pytest.mark.parametrize("layout", ["flatc", "flatbuffers"])
def test_every_cache_of_the_codec_stays_within_its_bound(monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    # Tiny bounds: the caches start again as they fill, and the bytes do not change.
    from pte_encoder.engine import codec as codec_module, writer as writer_module
    laid = PROGRAM.layout(layout)
    programs = [pe.program_from_json((CORPUS / case / "flatbuffer.json").read_text()) for case in CORPUS_CASES]
    expected = [pe.encode_flatbuffer(p, layout=layout) for p in programs]
    monkeypatch.setattr(codec_module, "MAX_PACKERS", 2)
    monkeypatch.setattr(writer_module, "MAX_VECTOR_PACKERS", 2)
    monkeypatch.setattr(laid.templates, "max_shapes", 2)
    # The bounds hold from the next miss on: start from empty caches.
    for cache in (laid.templates.shapes, laid.templates.seen, PROGRAM._vectors, laid._table_packings,
                  *(laid.packers(table) for table in PROGRAM.schema.tables)):
        cache.clear()  # type: ignore[attr-defined]
    for program, out in zip(programs, expected):
        for _ in range(3):  # (vectors of flat tables get templates from their second sight)
            assert pe.encode_flatbuffer(program, layout=layout) == out
        assert len(laid.templates.shapes) <= 2 and len(laid.templates.seen) <= 2
        assert len(PROGRAM._vectors) <= 2 and len(laid._table_packings) <= 2
        assert all(len(laid.packers(table)) <= 2 for table in PROGRAM.schema.tables)


@pytest.mark.parametrize("layout", ["flatc", "flatbuffers"])
@pytest.mark.parametrize("value, shared", [
    (lambda: empty_tensor(sizes=[1, 2, 3], dim_order=[0, 1, 2]), True),  # aligned to 4 inside
    (lambda: pe.EValue(pe.IntList(items=[1, 2])), False),  # holds 8-byte items
])
def test_a_subtree_aligned_to_4_shares_its_plans_across_start_modulo_8(
        layout: str, value: Any, shared: bool) -> None:
    # One value in programs whose method names have every length modulo 8:
    # the value starts at 0 or at 4 modulo 8, each time in a fresh buffer
    # (its vtables not written yet). A subtree aligned to at most 4 is
    # compiled once for both starts; one holding 8-byte items once per start.
    # The bytes stay the writer's (flatc's here; the flatbuffers layout's
    # against its own writer in test_layouts).
    # (Counted: the templates of the EValue alone. The one-value vector is met
    # first item by item, then as the subtree "[EValue]", which has templates of
    # its own: Writer.flat_tables.)
    laid = PROGRAM.layout(layout)
    laid.templates.shapes.clear()
    laid.templates.seen.clear()
    learnt: List[Any] = []
    learn = _templates.Templates.learn

    def counting(self: Any, templates: Any, key: Any, *args: Any) -> Any:
        if key[0] == "EValue":
            learnt.append(key)
        return learn(self, templates, key, *args)

    programs = []
    for length in range(8):
        program = program_of([value()])
        program.execution_plan[0].name = "x" * length
        programs.append(program)
    try:
        _templates.Templates.learn = counting  # type: ignore[method-assign]
        encoded = [pe.encode_flatbuffer(program, layout=layout) for program in programs]
    finally:
        _templates.Templates.learn = learn  # type: ignore[method-assign]
    starts = {key[2] for key in laid.templates.shapes if key[0] == "EValue"}
    assert starts == {0, 4}
    assert len(learnt) == (1 if shared else 2)
    laid.templates.shapes.clear()  # compiled afresh for each start: the same bytes
    for program, expected in zip(programs, encoded):
        laid.templates.shapes.clear()
        assert pe.encode_flatbuffer(program, layout=layout) == expected
        if layout == "flatc":
            same_as_flatc(program)
