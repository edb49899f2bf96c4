"""The bundled programs ExecuTorch 1.5.1 wrote (tests/data/corpus-bundled),
byte for byte in both layouts, from ExecuTorch's objects and from ours, as
bytes, files and streams; read back as ExecuTorch reads them."""

from __future__ import annotations

import copy
import io
import mmap
from pathlib import Path

import pytest

import executorch_bundled_mirror as bp
import executorch_mirror as et
import pte_encoder as pe
from bundled_helpers import (CASES, CORPUS_BUNDLED, EXPECTED, assert_agrees_with_executorch, corpus,
                             default_writer, executorch_reader, expected, legacy_writer)

LAYOUTS = sorted(EXPECTED)


@pytest.mark.parametrize("case", CASES)
def test_the_rebuilt_executorch_writers_and_reader_reproduce_the_corpus(case: str) -> None:
    # the oracles of the other tests are right on what ExecuTorch really wrote
    bundled = corpus(case)
    assert bundled.program == (CORPUS_BUNDLED / case / "program.pte").read_bytes()
    assert default_writer().encode(bundled) == expected(case, "flatbuffers")
    assert legacy_writer().encode(bundled) == expected(case, "flatc")
    for layout in LAYOUTS:
        assert executorch_reader().decode(expected(case, layout)) == bundled


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES)
def test_executorch_objects_encode_to_the_bytes_executorch_wrote(case: str, layout: str) -> None:
    bundled = corpus(case)
    before = copy.deepcopy(bundled)
    want = expected(case, layout)
    assert pe.encode_bundled_program(bundled, layout=layout) == want
    assert pe.bundled.encode_bundled_program(bundled, layout=layout) == want
    assert bundled == before  # the input is not changed
    if layout == "flatc":
        assert pe.encode_bundled_program(bundled) == want  # the default


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES)
def test_written_to_paths_and_file_objects(case: str, layout: str, tmp_path: Path) -> None:
    bundled = corpus(case)
    want = expected(case, layout)
    path = tmp_path / "out.bpte"
    assert pe.write_bundled_program(bundled, path, layout=layout) == len(want)
    assert path.read_bytes() == want
    stream = io.BytesIO()
    assert pe.write_bundled_program(bundled, stream, layout=layout) == len(want)
    assert stream.getvalue() == want
    assert [p.name for p in tmp_path.iterdir()] == ["out.bpte"]  # no temporary left


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES)
def test_a_file_backed_program_gives_the_same_bytes(case: str, layout: str, tmp_path: Path) -> None:
    bundled = corpus(case)
    want = expected(case, layout)
    program = str(CORPUS_BUNDLED / case / "program.pte")
    for backed in (pe.FileData(program), et.FileBackedData(program)):
        on_disk = bp.BundledProgram(bundled.version, bundled.method_test_suites, backed)  # type: ignore[arg-type]
        assert pe.encode_bundled_program(on_disk, layout=layout) == want
        path = tmp_path / "out.bpte"
        assert pe.write_bundled_program(on_disk, path, layout=layout) == len(want)
        assert path.read_bytes() == want
        stream = io.BytesIO()
        pe.write_bundled_program(on_disk, stream, layout=layout)
        assert stream.getvalue() == want
    # a file-backed program part of a bigger file, at an offset
    blob = (CORPUS_BUNDLED / case / "program.pte").read_bytes()
    (tmp_path / "padded.bin").write_bytes(b"x" * 100 + blob + b"y" * 7)
    at_offset = pe.bundled.BundledProgram(bundled.version, bundled.method_test_suites,  # type: ignore[arg-type]
                                          pe.FileData(tmp_path / "padded.bin", 100, len(blob)))
    assert pe.encode_bundled_program(at_offset, layout=layout) == want


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES)
def test_decoding_gives_what_executorch_reads_and_encodes_back(case: str, layout: str) -> None:
    data = expected(case, layout)
    ours = pe.decode_bundled_program(data)
    assert_agrees_with_executorch(ours, executorch_reader().decode(data))
    assert_agrees_with_executorch(ours, corpus(case))
    # our model, in the file's layout, gives back the file
    assert pe.encode_bundled_program(ours, layout=layout) == data
    # the embedded program straight into decode_program
    pte = pe.decode_program(ours.program)
    options, exact = pe.infer_options(pte)
    assert exact and pe.encode_program(pte.program, **options) == bytes(ours.program)
    # the classes of the pe.bundled namespace
    assert isinstance(ours, pe.bundled.BundledProgram)
    value = ours.method_test_suites[0].test_cases[0].inputs[0]  # type: ignore[index]
    assert isinstance(value, pe.bundled.Value) and isinstance(value.val, pe.bundled.Tensor)
    assert value.val.scalar_type is pe.bundled.ScalarType.FLOAT


@pytest.mark.parametrize("case", CASES)
def test_reading_a_file_maps_it_and_gives_views(case: str) -> None:
    ours = pe.read_bundled_program(CORPUS_BUNDLED / case / "expected.bpte")
    assert isinstance(ours.program, memoryview) and isinstance(ours.program.obj, mmap.mmap)
    tensor = ours.method_test_suites[0].test_cases[0].inputs[0].val  # type: ignore[index, union-attr]
    assert isinstance(tensor.data, memoryview) and tensor.data.obj is ours.program.obj  # type: ignore[union-attr]
    assert pe.read_bundled_program(str(CORPUS_BUNDLED / case / "expected.bpte")).version == 2
    assert len(pe.decode_program(ours.program).program.execution_plan or []) >= 1


def test_the_public_names() -> None:
    for name in ("encode_bundled_program", "write_bundled_program", "decode_bundled_program",
                 "read_bundled_program", "bundled"):
        assert name in pe.__all__ and hasattr(pe, name)
    assert pe.encode_bundled_program is pe.bundled.encode_bundled_program
    for name in pe.bundled.__all__:
        assert hasattr(pe.bundled, name), name
    # the tables that clash with the program's stay in the namespace
    assert pe.bundled.Tensor is not pe.Tensor and pe.bundled.Value.__name__ == "Value"
    assert pe.bundled.ScalarType.FLOAT == pe.ScalarType.FLOAT
