"""The flat tensor schema (.ptd files) through the generic engine: bytes
against flatc, meaning against the reference reader (flat_tensor_flatbuffer),
and no interference with the program schema's codec in the same process."""

from __future__ import annotations

import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, List

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pte_encoder as pe
from pte_encoder.schemas.flat_tensor import model as ft
from pte_encoder.schemas.flat_tensor.codec import FLAT_TENSOR
from pte_encoder.schemas.program.codec import PROGRAM
from pte_encoder.engine.flatc_json import to_json
from helpers import CORPUS, CORPUS_CASES, FLATC, ROOT, _TMP, decode_flatbuffer, flatc_binary, normalize
from strategies import TEXT, table

SCHEMA = FLAT_TENSOR.schema


def flatc_ptd(flat_tensor: Any) -> bytes:
    """What ``flatc --binary`` writes for a FlatTensor's JSON form (a .ptd, from
    the schema's file_extension)."""
    with tempfile.TemporaryDirectory(dir=_TMP) as tmp:
        source = Path(tmp) / "data.json"
        source.write_text(to_json(SCHEMA, flat_tensor), encoding="utf-8")
        subprocess.run([FLATC, "--binary", "-o", tmp, str(ROOT / "schema" / "flat_tensor.fbs"),
                        str(source)], check=True, capture_output=True)
        return (Path(tmp) / "data.ptd").read_bytes()


U64 = st.one_of(st.sampled_from([0, 1, 2**32 - 1, 2**32, 2**63, 2**64 - 1]),
                st.integers(0, 2**64 - 1))
LAYOUTS = st.builds(ft.TensorLayout, scalar_type=st.sampled_from(list(ft.ScalarType)),
                    sizes=st.one_of(st.none(), st.lists(st.integers(0, 2**31 - 1), max_size=6)),
                    dim_order=st.one_of(st.none(), st.lists(st.integers(0, 255), max_size=6),
                                        st.binary(max_size=6)))
NAMED = st.builds(ft.NamedData, key=st.one_of(TEXT, st.sampled_from(["layers.3.w", "ß∂ƒ", "权重", ""])),
                  segment_index=st.integers(0, 2**32 - 1),
                  tensor_layout=st.one_of(st.none(), LAYOUTS))
SEGMENTS = st.builds(ft.DataSegment, offset=U64, size=U64)
PAYLOADS = st.builds(ft.FlatTensor, version=st.integers(0, 2**32 - 1),
                     segments=st.one_of(st.none(), st.lists(SEGMENTS, max_size=6)),
                     named_data=st.one_of(st.none(), st.lists(NAMED, max_size=8)))


def check(flat_tensor: Any) -> None:
    # Three times, all alike: a small FlatTensor (short vectors) is written
    # through the writer, then as one subtree by a template compiled for it
    # (Writer.small_table), then by that template.
    encoded = [FLAT_TENSOR.encode(flat_tensor) for _ in range(3)]
    ours = encoded[0]
    assert encoded == [flatc_ptd(flat_tensor)] * 3
    assert ours[4:8] == b"FT01"
    assert decode_flatbuffer(ours, SCHEMA) == normalize("FlatTensor", flat_tensor, SCHEMA)


@given(PAYLOADS)
def test_flat_tensors_match_flatc_and_the_reference_reader(flat_tensor: ft.FlatTensor) -> None:
    check(flat_tensor)


@given(st.one_of(table("FlatTensor", codec=FLAT_TENSOR), table("FlatTensor", dense=True, codec=FLAT_TENSOR)))
def test_schema_derived_flat_tensors_match_flatc(flat_tensor: ft.FlatTensor) -> None:
    check(flat_tensor)


@pytest.mark.parametrize("flat_tensor", [
    ft.FlatTensor(),
    ft.FlatTensor(version=0, segments=[], named_data=[]),
    ft.FlatTensor(segments=[ft.DataSegment(0, 16), ft.DataSegment(128, 2**40)],
                  named_data=[ft.NamedData("a", 0, ft.TensorLayout(ft.ScalarType.FLOAT, [2, 3], [0, 1])),
                              ft.NamedData("b", 0, None),
                              ft.NamedData("ü", 1, ft.TensorLayout(ft.ScalarType.BOOL, [], b""))]),
], ids=["absent", "empty", "shared-segment"])
def test_edge_cases(flat_tensor: ft.FlatTensor) -> None:
    check(flat_tensor)


def test_two_schemas_with_the_same_table_names_do_not_collide() -> None:
    # Both schemas declare NamedData and DataSegment, with other fields: each
    # codec keeps its own templates and layouts.
    program = pe.Program(version=1, segments=[pe.DataSegment(offset=8, size=24)],
                         named_data=[pe.NamedData(key="w", segment_index=3)])
    flat_tensor = ft.FlatTensor(segments=[ft.DataSegment(offset=8, size=24)],
                                named_data=[ft.NamedData(key="w", segment_index=3)])
    expected_program = flatc_binary(pe.program_to_json(program))
    expected_ptd = flatc_ptd(flat_tensor)
    for _ in range(3):
        assert pe.encode_flatbuffer(program) == expected_program
        assert FLAT_TENSOR.encode(flat_tensor) == expected_ptd
    assert PROGRAM.layout("flatc").templates is not FLAT_TENSOR.layout("flatc").templates
    # (a short vector of flat tables is the subtree "[Table]", a run of them in
    # a longer one "*Table": Writer.flat_tables)
    assert {key[0].strip("[]*") for key in FLAT_TENSOR.layout("flatc").templates.shapes} <= set(SCHEMA.tables)


def test_bad_values_are_named_from_the_schema_root() -> None:
    bad = ft.FlatTensor(named_data=[ft.NamedData(key="w", segment_index=-1)])
    with pytest.raises(pe.EncodeError, match=r"^named_data\[0\]\.segment_index: expected an integer in \[0, "):
        FLAT_TENSOR.encode(bad)
    with pytest.raises(pe.EncodeError, match=r"^flat_tensor: expected a FlatTensor object, got 3"):
        FLAT_TENSOR.encode(3)


def test_the_codec_holds_the_model_classes() -> None:
    assert FLAT_TENSOR.models["NamedData"] is ft.NamedData
    assert FLAT_TENSOR.enum_types["ScalarType"] is ft.ScalarType
    assert PROGRAM.models["NamedData"] is pe.NamedData
    assert SCHEMA.namespace == "flat_tensor_flatbuffer" and SCHEMA.file_identifier == b"FT01"
    assert SCHEMA.file_extension == "ptd" and SCHEMA.root_table == "FlatTensor"


def test_threads_encoding_both_schemas_agree_with_one_thread() -> None:
    programs = [pe.program_from_json((CORPUS / c / "flatbuffer.json").read_text()) for c in CORPUS_CASES]

    def layout(j: int, i: int) -> Any:
        return ft.TensorLayout(ft.ScalarType.FLOAT, [j, i], [0, 1]) if j % 2 else None

    tensors = [ft.FlatTensor(version=i, segments=[ft.DataSegment(64 * j, j + i) for j in range(i)],
                             named_data=[ft.NamedData(f"w{j}", j, layout(j, i)) for j in range(i)])
               for i in range(len(programs))]
    jobs = [(pe.encode_flatbuffer, p) for p in programs] + [(FLAT_TENSOR.encode, t) for t in tensors]
    expected = [encode(obj) for encode, obj in jobs]
    failures: List[int] = []

    def work(offset: int) -> None:
        for round in range(20):
            index = (offset + 3 * round) % len(jobs)
            encode, obj = jobs[index]
            if encode(obj) != expected[index]:
                failures.append(index)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
