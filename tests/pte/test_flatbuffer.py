"""encode_flatbuffer against flatc (bytes) and the reference reader (meaning)."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given, strategies as st

import pte_encoder as pe
from helpers import (CORPUS, CORPUS_CASES, decode_flatbuffer, flatc_binary,
                     load_options, normalize)
from strategies import ALIGNMENTS, FLATC_ALIGNMENTS, programs


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_corpus_flatbuffer_is_byte_identical(case: str) -> None:
    options = load_options(case)
    program = pe.program_from_json((CORPUS / case / "flatbuffer.json").read_text())
    out = pe.encode_flatbuffer(program,
                               constant_tensor_alignment=options["constant_tensor_alignment"],
                               delegate_alignment=options["delegate_alignment"])
    assert out == (CORPUS / case / "flatbuffer.bin").read_bytes()


def test_corpus_has_all_eight_cases() -> None:
    assert len(CORPUS_CASES) == 8


@given(programs(), FLATC_ALIGNMENTS, FLATC_ALIGNMENTS)
def test_generated_programs_match_flatc(program: pe.Program, tensor: int, delegate: int) -> None:
    # Three times: a short vector of flat tables, or a small table (a small
    # method, chain or delegate), is written item by item the first time its
    # shape is met, by a template compiled the second time, and by that template
    # from then on (Writer.flat_tables, Writer.small_table).
    ours = [pe.encode_flatbuffer(program, constant_tensor_alignment=tensor, delegate_alignment=delegate)
            for _ in range(3)]
    assert ours == [flatc_binary(pe.program_to_json(program), tensor, delegate)] * 3


@given(programs(flatc_safe=False), ALIGNMENTS, ALIGNMENTS)
def test_generated_programs_decode_to_their_input(program: pe.Program, tensor: int,
                                                   delegate: int) -> None:
    ours = pe.encode_flatbuffer(program, constant_tensor_alignment=tensor,
                                delegate_alignment=delegate)
    assert decode_flatbuffer(ours) == normalize("Program", program)


@given(programs(flatc_safe=False), ALIGNMENTS, ALIGNMENTS)
def test_aligned_vectors_start_aligned(program: pe.Program, tensor: int, delegate: int) -> None:
    from executorch_flatbuffer.Program import Program as Reader
    ours = pe.encode_flatbuffer(program, constant_tensor_alignment=tensor,
                                delegate_alignment=delegate)
    root = Reader.GetRootAs(bytearray(ours), 0)
    blobs = [(root.ConstantBuffer(i), tensor) for i in range(root.ConstantBufferLength())]
    blobs += [(root.BackendDelegateData(i), delegate)
              for i in range(root.BackendDelegateDataLength())]
    for table, alignment in blobs:
        field = table._tab.Offset(4)
        if field and table._tab.VectorLen(field):
            assert table._tab.Vector(field) % (alignment or 16) == 0
            assert len(ours) % (alignment or 16) == 0


def test_negative_zero_is_kept_where_flatc_drops_it() -> None:
    program = pe.Program(execution_plan=[pe.ExecutionPlan(
        values=[pe.EValue(val=pe.Double(double_val=-0.0)), pe.EValue(val=pe.Double(0.0))])])
    ours = pe.encode_flatbuffer(program)
    values = decode_flatbuffer(ours)["execution_plan"][0]["values"]
    assert values[0]["val"][1]["double_val"] == ("float", struct.pack("<d", -0.0).hex())
    assert values[1]["val"][1]["double_val"] == ("float", struct.pack("<d", 0.0).hex())
    flatc = flatc_binary(pe.program_to_json(program))
    assert ours != flatc  # flatc wrote +0.0 by leaving the field out
    assert decode_flatbuffer(flatc)["execution_plan"][0]["values"][0]["val"][1]["double_val"] \
        == ("float", struct.pack("<d", 0.0).hex())


@pytest.mark.parametrize("value", ["inf", "-inf", math.inf, -math.inf, math.nan])
def test_special_doubles_round_trip(value: object) -> None:
    program = pe.Program(execution_plan=[pe.ExecutionPlan(values=[
        pe.EValue(val=pe.Double(double_val=value))])])  # type: ignore[arg-type]
    decoded = decode_flatbuffer(pe.encode_flatbuffer(program))
    got = decoded["execution_plan"][0]["values"][0]["val"][1]["double_val"]
    assert got == ("float", struct.pack("<d", float(value)).hex())  # type: ignore[arg-type]


def test_empty_and_absent_lists_differ() -> None:
    absent = pe.encode_flatbuffer(pe.Program())
    empty = pe.encode_flatbuffer(pe.Program(execution_plan=[]))
    assert decode_flatbuffer(absent)["execution_plan"] is None
    assert decode_flatbuffer(empty)["execution_plan"] == []
    assert absent == flatc_binary(pe.program_to_json(pe.Program()))
    assert empty == flatc_binary(pe.program_to_json(pe.Program(execution_plan=[])))


@given(st.sampled_from([3, 5, 6, 12, 0, -16]))
def test_bad_alignment_is_rejected(alignment: int) -> None:
    with pytest.raises(pe.EncodeError, match="constant_tensor_alignment"):
        pe.encode_flatbuffer(pe.Program(), constant_tensor_alignment=alignment)
