"""Bad input: one exception class, a message naming the place, no mutation."""

from __future__ import annotations

import mmap
import re
from typing import Any, List, Tuple

import pytest
from hypothesis import given, strategies as st

import pte_encoder as pe
from pte_encoder._codecs import PROGRAM
from strategies import programs


def plan_with(value: object) -> pe.Program:
    tensor = pe.Tensor(sizes=[1, 2], dim_order=[0, 1])
    values = [pe.EValue(pe.Int(i)) for i in range(12)] + [pe.EValue(tensor)]
    program = pe.Program(execution_plan=[pe.ExecutionPlan(values=values)])
    tensor.sizes = [1, value]  # type: ignore[list-item]
    return program


@pytest.mark.parametrize("value, expected", [
    (2**31, r"an integer in \[-2147483648, 2147483647\], got 2147483648"),
    ("2", "an integer, got '2'"),
    (1.5, "an integer, got 1.5"),
    (None, "an integer, got None"),
])
def test_message_names_place_value_and_expectation(value: object, expected: str) -> None:
    with pytest.raises(pe.EncodeError) as info:
        pe.encode_flatbuffer(plan_with(value))
    assert str(info.value).startswith("execution_plan[0].values[12].val.sizes[1]: expected ")
    assert re.search(expected, str(info.value))


def test_negative_uint() -> None:
    program = pe.Program(version=-1)
    with pytest.raises(pe.EncodeError, match=r"^version: expected an integer in \[0, 4294967295\], got -1$"):
        pe.encode_flatbuffer(program)


def test_missing_attribute() -> None:
    class NoVersion:
        execution_plan = None

    with pytest.raises(pe.EncodeError, match="^version: missing"):
        pe.encode_flatbuffer(NoVersion())


def test_unknown_union_member() -> None:
    class Complex:
        real = 1.0

    program = pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(Complex())])])  # type: ignore
    with pytest.raises(pe.EncodeError, match=r"^execution_plan\[0\]\.values\[0\]\.val: expected one of Null, Int"):
        pe.encode_flatbuffer(program)


def test_wrong_table_type() -> None:
    with pytest.raises(pe.EncodeError, match=r"^execution_plan\[0\]: expected a ExecutionPlan object, got 'x'"):
        pe.encode_flatbuffer(pe.Program(execution_plan=["x"]))  # type: ignore[list-item]


def test_bool_must_be_bool() -> None:
    program = pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(pe.Bool(2))])])  # type: ignore
    with pytest.raises(pe.EncodeError, match=r"values\[0\]\.val\.bool_val: expected a bool, got 2"):
        pe.encode_flatbuffer(program)


def test_string_must_be_text() -> None:
    program = pe.Program(execution_plan=[pe.ExecutionPlan(name=b"forward")])  # type: ignore
    with pytest.raises(pe.EncodeError, match=r"^execution_plan\[0\]\.name: expected a str, got b'forward'"):
        pe.encode_flatbuffer(program)
    program = pe.Program(execution_plan=[pe.ExecutionPlan(name="\ud800")])
    with pytest.raises(pe.EncodeError, match="encodable as UTF-8"):
        pe.encode_flatbuffer(program)


def test_byte_out_of_range() -> None:
    program = pe.Program(execution_plan=[pe.ExecutionPlan(values=[
        pe.EValue(pe.Tensor(dim_order=[0, 256]))])])
    with pytest.raises(pe.EncodeError, match=r"val\.dim_order\[1\]: expected an integer in \[0, 255\], got 256"):
        pe.encode_flatbuffer(program)


@pytest.mark.parametrize("alignment", [0, 3, 24, -8, 2.0, "16", True])
def test_bad_alignments(alignment: object) -> None:
    with pytest.raises(pe.EncodeError, match="^delegate_alignment: expected a power of two"):
        pe.encode_flatbuffer(pe.Program(), delegate_alignment=alignment)  # type: ignore[arg-type]


def test_over_two_gib_is_refused_without_copying() -> None:
    huge = mmap.mmap(-1, 2**31)  # untouched pages: no real memory
    try:
        program = pe.Program(constant_buffer=[pe.Buffer(huge)])  # type: ignore[arg-type]
        with pytest.raises(pe.EncodeError, match="over the format's limit"):
            pe.encode_flatbuffer(program)
    finally:
        huge.close()


def _slots(obj: Any, table: str) -> List[Tuple[Any, str, str]]:
    """Every (object, attribute, kind) in a program tree."""
    found = []
    for f in PROGRAM.schema.tables[table]:
        name, kind, elem = f.name, f.kind, str(f.elem)
        found.append((obj, name, kind))
        value = getattr(obj, name)
        if value is None:
            continue
        if kind == "TABLE":
            found += _slots(value, elem)
        elif kind == "UNION":
            found += _slots(value, type(value).__name__)
        elif kind == "TABLE_VECTOR":
            for item in value:
                found += _slots(item, elem)
    return found


JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
    st.binary(max_size=5), st.lists(st.one_of(st.integers(), st.text(max_size=2), st.none()), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.builds(object), st.builds(pe.Null), st.builds(pe.Int), st.builds(pe.Program),
)


@given(programs(flatc_safe=False), st.data())
def test_junk_anywhere_gives_only_encode_error(program: pe.Program, data: st.DataObject) -> None:
    slots = _slots(program, "Program")
    obj, name, _kind = slots[data.draw(st.integers(0, len(slots) - 1))]
    setattr(obj, name, data.draw(JUNK))
    before = repr(program)
    try:
        pe.encode_flatbuffer(program)
    except pe.EncodeError as exc:
        assert re.match(r"^[\w.\[\]]+: ", str(exc)), str(exc)
    assert repr(program) == before
