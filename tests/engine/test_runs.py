"""Long vectors of flat tables (more than FLAT_VECTOR items: Writer.flat_tables):
each item read by its _flat_ reader and written as its own subtree, and runs
of items of one shape written a run at a time, each with one template
(Writer._run, the subtree "*Table"). Bytes against flatc and against the
flatbuffers runtime in both layouts, the templates compiled (and not compiled),
bad input in a long vector, the caches' bounds."""

from __future__ import annotations

import contextlib
from typing import Any, Dict, Iterator, List, Set, Tuple
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pte_encoder as pe
from pte_encoder.schemas.flat_tensor import model as ft
from pte_encoder.schemas.flat_tensor.codec import FLAT_TENSOR
from pte_encoder.schemas.program.codec import PROGRAM
from pte_encoder.engine import templates as plans_module, writer as writer_module
from pte_encoder.engine.writer import Writer
from helpers import flatc_binary
from test_flat_tensor import flatc_ptd
from test_layouts import object_api_ptd, ours, packed

FLAT_VECTOR = plans_module.FLAT_VECTOR
LAYOUTS = ["flatc", "flatbuffers"]


@contextlib.contextmanager
def runs_from(lead: int = writer_module.RUN_LEAD, min_run: int = writer_module.MIN_RUN,
              cap: int = writer_module.RUN_CAP, payback: int = writer_module.RUN_PAYBACK) -> Iterator[None]:
    """The writer's run rules changed for a while: RUN_LEAD 0 starts a run at
    any item, so runs start wherever a test puts them (any start % 8, their
    vtable new or known); payback 0 compiles every run met twice."""
    with mock.patch.multiple(writer_module, RUN_LEAD=lead, MIN_RUN=min_run, RUN_CAP=cap,
                             RUN_PAYBACK=payback):
        yield


def run_keys(layout: str, codec: Any = FLAT_TENSOR) -> Set[Tuple[str, int, Any, int]]:
    """The runs compiled in a layout: (table, count, shape, start % 8)."""
    return {(key[0][1:], key[1][0], key[1][1], key[2]) for key in codec.layout(layout).templates.shapes
            if key[0][0] == "*"}


def clear(layout: str, codec: Any = FLAT_TENSOR) -> None:
    templates = codec.layout(layout).templates
    templates.shapes.clear()
    templates.seen.clear()
    templates.planned_values = 0


def expected_ptd(flat_tensor: ft.FlatTensor, layout: str) -> bytes:
    return flatc_ptd(flat_tensor) if layout == "flatc" else object_api_ptd(flat_tensor)


def check_ptd(flat_tensor: ft.FlatTensor, layout: str, times: int = 3) -> None:
    """Encoded ``times`` times (item by item, then with the templates compiled), always
    the bytes of flatc (layout "flatc") or of the flatbuffers runtime."""
    expected = expected_ptd(flat_tensor, layout)
    for _ in range(times):
        assert FLAT_TENSOR.encode(flat_tensor, layout=layout) == expected


def segment(kind: int, index: int) -> ft.DataSegment:
    """A DataSegment of one of four shapes: both fields, only the size, only
    the offset, neither (4, 20 or 24 bytes: they move later tables' start % 8)."""
    return ft.DataSegment(offset=(64 * index + 1) * (kind in (0, 2)), size=(index + 1) * (kind in (0, 1)))


def named(kind: int, index: int) -> ft.NamedData:
    """A NamedData of one of several shapes (key length, layout and its rank)."""
    rank = kind % 4
    layout = None if kind % 5 == 4 else ft.TensorLayout(ft.ScalarType(kind % 3), [index % 7 + 1] * rank,
                                                         list(range(rank)))
    return ft.NamedData(key="k" * (kind % 6) + f"{index % 1000:03d}", segment_index=index, tensor_layout=layout)


def blocks(spec: List[Tuple[int, int]], make: Any) -> List[Any]:
    """Items in blocks of (shape kind, count), numbered through."""
    items: List[Any] = []
    for kind, count in spec:
        items += [make(kind, len(items) + i) for i in range(count)]
    return items


# -- long vectors of tables that look alike ------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_long_vector_of_alike_tables_is_written_a_run_at_a_time(layout: str) -> None:
    # 2000 segments and named data of one shape each (the first segment's
    # offset is 0): after the first runs, every run of RUN_CAP items is
    # written by one template, compiled in the first buffer (the runs repeat).
    count = 2000
    flat_tensor = ft.FlatTensor(
        version=0, segments=[ft.DataSegment(offset=64 * i, size=4 + i) for i in range(count)],
        named_data=[ft.NamedData(key=f"w{i:04d}", segment_index=i,
                                 tensor_layout=ft.TensorLayout(ft.ScalarType.FLOAT, [2, i + 1], [0, 1]))
                    for i in range(count)])
    clear(layout)
    expected = expected_ptd(flat_tensor, layout)
    assert FLAT_TENSOR.encode(flat_tensor, layout=layout) == expected
    tables = {table for table, _count, _shape, _start in run_keys(layout)}
    assert tables == {"DataSegment", "NamedData"}
    assert {count for _table, count, _shape, _start in run_keys(layout)} == {writer_module.RUN_CAP}
    check_ptd(flat_tensor, layout, times=2)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("lead, min_run, cap", [
    (writer_module.RUN_LEAD, writer_module.MIN_RUN, writer_module.RUN_CAP),  # the writer's rules
    (0, 1, 5),  # any item starts a run, of 1 to 5 items
    (0, 2, 32),
    (1, 8, 9),
])
def test_runs_broken_by_other_shapes_at_every_start(layout: str, lead: int, min_run: int, cap: int) -> None:
    # Runs of every length around the rules' bounds, broken by tables of
    # other shapes and sizes (a segment of 4 bytes moves the next one's
    # start by 4 modulo 8), repeated so that their templates are compiled. With
    # RUN_LEAD 0 a run starts right after the break (its first table is
    # written on its own, to find its templates), so at either start modulo 8.
    lengths = [1, 2, 3, 4, 7, 8, 9, 16, 31, 32, 33, 40, 64, 65]
    spec: List[Tuple[int, int]] = []
    for repeat in range(3):
        for i, length in enumerate(lengths):
            spec += [((i + repeat) % 3, length), (3, 1 + (i + repeat) % 2), (i % 3, length)]
    segments = blocks(spec, segment)
    named_spec = [(kind % 11, length) for kind, length in spec]
    named_data = blocks(named_spec, named)
    flat_tensor = ft.FlatTensor(version=1, segments=segments, named_data=named_data)
    clear(layout)
    with runs_from(lead=lead, min_run=min_run, cap=cap, payback=0):
        check_ptd(flat_tensor, layout)
        starts = {(table, start) for table, _count, _shape, start in run_keys(layout)}
        # (A run of 8-aligned tables starts where its items settle: a
        # segment at 0 moves the next to 4; runs of named data, aligned to 4,
        # start at both, and share their templates.)
        assert {("DataSegment", 4), ("NamedData", 0), ("NamedData", 4)} <= starts, starts


@pytest.mark.parametrize("layout", LAYOUTS)
def test_long_vectors_of_every_length_around_the_bounds(layout: str) -> None:
    # A vector just over FLAT_VECTOR, all alike, and one of a single shape
    # broken once in the middle: written with the writer's rules, and with
    # every run compiled.
    for count in (FLAT_VECTOR + 1, FLAT_VECTOR + 2, 3 * FLAT_VECTOR + 7):
        segments = [segment(0, i) for i in range(count)]
        broken = segments[:count // 2] + [segment(1, 0)] + segments[count // 2:]
        for flat_tensor in (ft.FlatTensor(segments=segments), ft.FlatTensor(segments=broken)):
            clear(layout)
            check_ptd(flat_tensor, layout, times=2)
            with runs_from(payback=0):
                check_ptd(flat_tensor, layout, times=2)


SHAPES = st.lists(st.tuples(st.integers(0, 3), st.integers(1, 40)), min_size=1, max_size=12)


@settings(max_examples=40)
@given(st.data())
def test_generated_long_vectors_match_flatc_and_the_flatbuffers_runtime(data: Any) -> None:
    # Blocks of alike segments and named data, in any order, any lengths,
    # with the writer's rules or eager ones: the bytes of flatc and of the
    # flatbuffers runtime, encoded three times in each layout.
    segment_spec = data.draw(SHAPES)
    named_spec = data.draw(st.lists(st.tuples(st.integers(0, 10), st.integers(1, 40)), max_size=12))
    segments = blocks(segment_spec, segment)
    while len(segments) <= FLAT_VECTOR:
        segments += blocks(segment_spec, segment)
    flat_tensor = ft.FlatTensor(version=0, segments=segments, named_data=blocks(named_spec, named) * 3)
    rules = data.draw(st.sampled_from([{}, {"lead": 0, "min_run": 1, "cap": 3, "payback": 0},
                                       {"lead": 0, "min_run": 4, "cap": 32, "payback": 0},
                                       {"lead": 2, "min_run": 3, "cap": 7, "payback": 1}]))
    with runs_from(**rules):
        for layout in LAYOUTS:
            check_ptd(flat_tensor, layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("table", ["DataSegment", "NamedData"])
@pytest.mark.parametrize("before", [0, 1, 2, 3, 5])
def test_a_run_writing_its_own_vtables_is_written_as_item_by_item(layout: str, table: str,
                                                                   before: int) -> None:
    # The writer never compiles a run whose template writes a vtable (it is met
    # once per buffer): compiled anyway, here on a fresh buffer at every
    # start, it writes the bytes the items do one by one, the first table
    # writing the vtable inline and the others pointing at it.
    laid = FLAT_TENSOR.layout(layout)
    make = segment if table == "DataSegment" else named
    flat = _flat_reader(f"[{table}]", layout)
    for count in (1, 2, 9, 32):
        items = [make(0, i) for i in range(count)]
        written = []
        for as_run in (False, True):
            writer = Writer(laid.templates, FLAT_TENSOR._vectors, FLAT_TENSOR.default_aligns, laid.policy)
            writer.string("s" * before)  # moves the start
            run = []
            for item in items:
                values: List[Any] = []
                shape = flat(item, values)
                run.append(values)
            positions: List[int] = []
            if as_run:
                key = ("*" + table, (count, shape), writer.size & 7)
                with runs_from(min_run=1):
                    writer._run(table, "*" + table, shape, [value for values in run for value in values],
                                count, positions, {key: None}, 10**9)
                assert key in laid.templates.shapes
            else:
                positions = [writer.subtree(table, shape, values) for values in run]
            writer._offsets(positions)
            written.append((writer.join(), positions, writer.minalign))
        assert written[0] == written[1]


def _flat_reader(vector: str, layout: str) -> Any:
    """The generated _flat_ reader of ``vector``'s items in ``layout``, caught
    on its way to Writer.flat_tables."""
    caught: Dict[str, Any] = {}
    real = Writer.flat_tables

    def spy(self: Writer, name: str, items: Any, flat: Any, encode: Any) -> int:
        caught[name] = flat
        return real(self, name, items, flat, encode)

    with mock.patch.object(Writer, "flat_tables", spy):
        # (long vectors: the FlatTensor is not a small table, see Writer.small_table)
        FLAT_TENSOR.encode(ft.FlatTensor(segments=[segment(0, i) for i in range(FLAT_VECTOR + 1)],
                                         named_data=[named(0, i) for i in range(FLAT_VECTOR + 1)]),
                           layout=layout)
    return caught[vector]


# -- what is compiled ------------------------------------------------------------------

@contextlib.contextmanager
def learnt() -> Iterator[List[Any]]:
    """The keys of the templates compiled meanwhile (in any codec and layout)."""
    keys: List[Any] = []
    learn = plans_module.Templates.learn

    def counting(self: Any, templates: Any, key: Any, *args: Any) -> Any:
        keys.append(key)
        return learn(self, templates, key, *args)

    with mock.patch.object(plans_module.Templates, "learn", counting):
        yield keys


@pytest.mark.parametrize("layout", LAYOUTS)
def test_runs_that_never_repeat_compile_nothing_and_a_second_encoding_nothing_more(layout: str) -> None:
    # Runs of 40 named data, each run's key a length of its own: no run
    # template, in the first encoding or any later one. Where runs do repeat
    # (the segments), the first encoding compiles their templates and the later
    # ones nothing at all.
    named_data = blocks([(0, 40)] * 8, lambda kind, i: ft.NamedData(key="k" * (i // 40 + 1), segment_index=i))
    segments = [segment(0, i) for i in range(1000)]
    unique = ft.FlatTensor(named_data=named_data)
    repeating = ft.FlatTensor(named_data=named_data, segments=segments)
    clear(layout)
    with learnt() as keys:
        check_ptd(unique, layout, times=1)
    assert keys and not [key for key in keys if key[0][0] == "*"]
    for flat_tensor in (unique, repeating):
        with learnt() as keys:
            check_ptd(flat_tensor, layout, times=1)
        assert ({key[0] for key in keys} == {"*DataSegment", "DataSegment"}) == (flat_tensor is repeating)
        for _ in range(2):
            with learnt() as keys:
                check_ptd(flat_tensor, layout, times=1)
            assert keys == []
    assert {table for table, _count, _shape, _start in run_keys(layout)} == {"DataSegment"}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_run_plan_is_compiled_only_with_enough_of_the_vector_left(layout: str) -> None:
    # 300 alike segments: their runs repeat, but too few are left after the
    # second to pay for a template (RUN_PAYBACK); 1000 do.
    for count, compiled in ((300, False), (1000, True)):
        clear(layout)
        check_ptd(ft.FlatTensor(segments=[segment(0, i) for i in range(count)]), layout, times=2)
        assert bool(run_keys(layout)) == compiled


# -- bad input ---------------------------------------------------------------------------

def _bad(field: str, index: int, change: Any) -> ft.FlatTensor:
    segments = [segment(0, i) for i in range(1000)]
    named_data = [named(1, i) for i in range(1000)]
    items = segments if field == "segments" else named_data
    items[index] = change(items[index])
    return ft.FlatTensor(version=0, segments=segments, named_data=named_data)


def _with(**fields: Any) -> Any:
    def change(item: Any) -> Any:
        copy = type(item)(**{name: getattr(item, name) for name in type(item).__slots__})
        for name, value in fields.items():
            if name == "sizes":
                copy.tensor_layout = ft.TensorLayout(item.tensor_layout.scalar_type, value,
                                                     item.tensor_layout.dim_order)
            else:
                setattr(copy, name, value)
        return copy
    return change


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("field, index, change, where", [
    ("segments", 700, _with(size=-1), r"segments\[700\]\.size"),
    ("segments", 700, _with(offset=2**64), r"segments\[700\]\.offset"),
    ("segments", 701, _with(offset="64"), r"segments\[701\]\.offset"),
    ("segments", 5, lambda item: None, r"segments\[5\]"),
    ("segments", 999, _with(size=1.5), r"segments\[999\]\.size"),
    ("named_data", 600, _with(sizes=[1, "a"]), r"named_data\[600\]\.tensor_layout\.sizes"),
    ("named_data", 600, _with(key=b"w"), r"named_data\[600\]\.key"),
    ("named_data", 998, _with(segment_index=2**32), r"named_data\[998\]\.segment_index"),
])
def test_bad_input_in_a_long_vector_is_named_as_before(layout: str, field: str, index: int, change: Any,
                                                       where: str) -> None:
    # In a run written item by item (first), then by its template (once the good
    # vector has compiled it): the error the checker gives, naming the item.
    bad = _bad(field, index, change)
    with pytest.raises(pe.EncodeError) as checked:
        FLAT_TENSOR.check(bad)
    assert checked.match("^" + where)
    good = _bad(field, index, lambda item: item)
    clear(layout)
    for _ in range(2):
        with pytest.raises(pe.EncodeError) as raised:
            FLAT_TENSOR.encode(bad, layout=layout)
        assert str(raised.value) == str(checked.value)
        check_ptd(good, layout, times=1)
    assert run_keys(layout)


# -- the caches' bounds -----------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
def test_run_plans_keep_to_the_caches_bounds(monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    templates = FLAT_TENSOR.layout(layout).templates
    flat_tensor = ft.FlatTensor(segments=blocks([(0, 700), (3, 1), (0, 500), (1, 600)], segment),
                                named_data=blocks([(1, 600), (2, 600)], named))
    expected = expected_ptd(flat_tensor, layout)
    for bound in ("max_shapes", "max_planned_values"):
        clear(layout)
        monkeypatch.setattr(templates, bound, 3)
        for _ in range(3):
            assert FLAT_TENSOR.encode(flat_tensor, layout=layout) == expected
            if bound == "max_shapes":
                assert len(templates.shapes) <= 3
        monkeypatch.undo()


# -- the program schema --------------------------------------------------------------------

def long_program() -> pe.Program:
    """A method with long runs of alike values and instructions, broken here and there."""
    values: List[pe.EValue] = []
    for i in range(900):
        if i % 300 == 299:
            values.append(pe.EValue(pe.Double(0.5)))
        elif i % 100 == 50:
            values.append(pe.EValue(pe.Null()))
        else:
            values.append(pe.EValue(pe.Int(i + 1)))
    calls = [pe.Instruction(pe.KernelCall(op_index=1 + i % 2, args=[1, 2, 3] if i % 200 else [1]))
             for i in range(800)]
    template = pe.ExecutionPlan(name="forward", values=values, inputs=[0], outputs=[1],
                            chains=[pe.Chain(inputs=[0], outputs=[1], instructions=calls)],
                            operators=[pe.Operator(name="aten::add", overload="out")] * 3)
    return pe.Program(version=0, execution_plan=[template, template])


def test_long_runs_in_a_program_match_flatc_and_the_flatbuffers_runtime() -> None:
    program = long_program()
    clear("flatc", PROGRAM)
    clear("flatbuffers", PROGRAM)
    expected = flatc_binary(pe.program_to_json(program))
    for _ in range(3):
        assert pe.encode_flatbuffer(program) == expected
    assert {table for table, _count, _shape, _start in run_keys("flatc", PROGRAM)} == {"EValue", "Instruction"}
    assert ours(program) == packed(program)
    assert {table for table, _count, _shape, _start in run_keys("flatbuffers", PROGRAM)} == \
        {"EValue", "Instruction"}
