"""ExecuTorch's own objects (here: an independent mirror of them) work as they are."""

from __future__ import annotations

import array
import copy

import pytest

import executorch_mirror as et
import pte_encoder as pe
from helpers import CORPUS, CORPUS_CASES, load_options


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_executorch_objects_encode_like_the_model(case: str) -> None:
    text = (CORPUS / case / "flatbuffer.json").read_text()
    options = load_options(case)
    mirror = et.program_from_json(text)
    before = copy.deepcopy(mirror)
    out = pe.encode_flatbuffer(mirror,
                               constant_tensor_alignment=options["constant_tensor_alignment"],
                               delegate_alignment=options["delegate_alignment"])
    assert out == (CORPUS / case / "flatbuffer.bin").read_bytes()
    assert repr(mirror) == repr(before)


def test_double_holding_infinity_strings() -> None:
    ours = pe.Program(execution_plan=[pe.ExecutionPlan(values=[
        pe.EValue(pe.Double(float("inf"))), pe.EValue(pe.Double(float("-inf")))])])
    theirs = pe.Program(execution_plan=[pe.ExecutionPlan(values=[
        pe.EValue(et.Double(float("inf"))), pe.EValue(et.Double(float("-inf")))])])
    assert theirs.execution_plan[0].values[0].val.double_val == "inf"  # type: ignore
    assert pe.encode_flatbuffer(ours) == pe.encode_flatbuffer(theirs)


@pytest.mark.parametrize("blob", [
    b"\x01\x02\x03\x04\x05", bytearray(b"\x01\x02\x03\x04\x05"),
    memoryview(b"\x01\x02\x03\x04\x05"), [1, 2, 3, 4, 5], (1, 2, 3, 4, 5),
    array.array("B", [1, 2, 3, 4, 5]), memoryview(b"\x00\x01\x02\x03\x04\x05")[1:],
])
def test_any_bytes_like_blob(blob: object) -> None:
    expected = pe.encode_flatbuffer(pe.Program(constant_buffer=[pe.Buffer(b"\x01\x02\x03\x04\x05")]))
    assert pe.encode_flatbuffer(pe.Program(constant_buffer=[pe.Buffer(blob)])) == expected  # type: ignore


def test_wider_buffers_are_written_as_their_bytes() -> None:
    words = array.array("I", [1, 2])
    out = pe.encode_flatbuffer(pe.Program(constant_buffer=[pe.Buffer(words)]))  # type: ignore
    assert out == pe.encode_flatbuffer(pe.Program(constant_buffer=[pe.Buffer(words.tobytes())]))


def test_enums_may_be_plain_ints() -> None:
    as_enum = pe.Tensor(scalar_type=pe.ScalarType.FLOAT, shape_dynamism=pe.TensorShapeDynamism.DYNAMIC_BOUND)
    as_int = pe.Tensor(scalar_type=6, shape_dynamism=1)  # type: ignore[arg-type]
    encode = lambda t: pe.encode_flatbuffer(pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(t)])]))  # noqa: E731
    assert encode(as_enum) == encode(as_int)
