"""pte-encoder on .bpte files: inspect (text and JSON), decode to ExecuTorch's
dataclass JSON form with the layout, encode-bundled back to the same bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List, Tuple

import pytest

import pte_encoder as pe
from bundled_helpers import CASES, CORPUS_BUNDLED, EXPECTED, corpus, legacy_writer
from pte_encoder.cli import main

LAYOUTS = sorted(EXPECTED)


def run(args: List[Any], capsys: pytest.CaptureFixture[str]) -> Tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES)
def test_decode_then_encode_bundled_gives_back_the_file(case: str, layout: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    source = CORPUS_BUNDLED / case / EXPECTED[layout]
    form, again = tmp_path / "b.json", tmp_path / "again.bpte"
    code, stdout, _ = run(["decode", source, "-o", form], capsys)
    assert code == 0 and stdout == f"wrote {form} ({form.stat().st_size} bytes)\n"
    # ExecuTorch's dataclass JSON form, as in the corpus, with the layout last
    text = form.read_text()
    corpus_text = (CORPUS_BUNDLED / case / "bundled.json").read_text()
    assert corpus_text.endswith("\n ]\n}\n")  # the program's bytes, last
    assert text == corpus_text[:-3] + f',\n "layout": "{layout}"\n}}\n'
    assert run(["encode-bundled", form, "-o", again], capsys)[0] == 0
    assert again.read_bytes() == source.read_bytes()
    # --layout overrides the JSON's
    other = [name for name in LAYOUTS if name != layout][0]
    assert run(["encode-bundled", form, "-o", again, "--layout", other], capsys)[0] == 0
    assert again.read_bytes() == (CORPUS_BUNDLED / case / EXPECTED[other]).read_bytes()


@pytest.mark.parametrize("case", CASES)
def test_the_corpus_json_encodes_as_flatc_does_without_a_layout(case: str, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.bpte"
    assert run(["encode-bundled", CORPUS_BUNDLED / case / "bundled.json", "-o", out], capsys)[0] == 0
    assert out.read_bytes() == (CORPUS_BUNDLED / case / "expected.bpte").read_bytes()
    # and flatc reads the JSON decode writes, once the layout key is taken out
    form = tmp_path / "b.json"
    run(["decode", out, "-o", form], capsys)
    fields = json.loads(form.read_text())
    assert fields.pop("layout") == "flatc"
    assert legacy_writer().binary(json.dumps(fields)) == out.read_bytes()


def test_inspect_shows_test_cases_and_the_program(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS_BUNDLED / "twomethods" / "expected-flatbuffers.bpte"
    code, stdout, _ = run(["inspect", path], capsys)
    assert code == 0
    lines = stdout.splitlines()
    assert lines[0] == f"{path}: 4,288 bytes, bundled program version 2, flatbuffers layout"
    assert "method forward: 2 test cases" in lines and "method other: 2 test cases" in lines
    assert "  case 0 inputs: Tensor float[6, 6] (144 bytes)" in lines
    assert "  case 1 expected outputs: Tensor float[6] (24 bytes)" in lines
    assert any(line.startswith("embedded program: 2,576 bytes, ExecuTorch program version 0") for line in lines)
    assert "  method other: 10 values, 3 instructions (KernelCall 3)" in lines
    assert lines[-1] == "bytes by category: program 2,576, tensor data 912, other 800"


@pytest.mark.parametrize("case", CASES)
def test_inspect_json(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(["inspect", CORPUS_BUNDLED / case / "expected.bpte", "--json"], capsys)
    assert code == 0
    summary = json.loads(stdout)
    bundled = corpus(case)
    assert summary["layout"] == "flatc" and summary["version"] == 2
    assert summary["file_bytes"] == (CORPUS_BUNDLED / case / "expected.bpte").stat().st_size
    assert [s["method_name"] for s in summary["method_test_suites"]] == \
        [s.method_name for s in bundled.method_test_suites]
    first = summary["method_test_suites"][0]["test_cases"][0]["inputs"][0]
    tensor = bundled.method_test_suites[0].test_cases[0].inputs[0].val
    assert first == {"kind": "Tensor", "dtype": "float", "sizes": tensor.sizes,  # type: ignore[union-attr]
                     "dim_order": tensor.dim_order, "bytes": len(tensor.data)}  # type: ignore[union-attr]
    assert summary["program"]["file_bytes"] == len(bundled.program)
    assert summary["bytes_by_category"]["program"] == len(bundled.program)


def test_inspect_shows_every_value_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    B = pe.bundled
    program = (CORPUS_BUNDLED / "mlp" / "program.pte").read_bytes()
    bundled = B.BundledProgram(2, [B.BundledMethodTestSuite("forward", [B.BundledMethodTestCase(
        [B.Value(B.Int(-3)), B.Value(B.Bool(True)), B.Value(B.Double(float("nan"))), B.Value(B.Double(0.5)),
         B.Value(), B.Value(B.Tensor(B.ScalarType.HALF, [2, 3], bytes(12), [1, 0]))], [])])], program)
    path = tmp_path / "kinds.bpte"
    pe.write_bundled_program(bundled, path)
    code, stdout, _ = run(["inspect", path], capsys)
    assert code == 0
    assert ("  case 0 inputs: Int -3; Bool True; Double nan; Double 0.5; none; "
            "Tensor half[2, 3] dim_order (1, 0) (12 bytes)") in stdout.splitlines()
    code, stdout, _ = run(["inspect", path, "--json"], capsys)
    assert json.loads(stdout)["method_test_suites"][0]["test_cases"][0]["inputs"][2] == \
        {"kind": "Double", "value": "nan"}


def test_bad_files_and_json_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.bpte"
    bad.write_bytes((CORPUS_BUNDLED / "mlp" / "expected.bpte").read_bytes()[:3000])
    for args in (["inspect", bad], ["decode", bad, "-o", tmp_path / "x.json"]):
        code, _, stderr = run(args, capsys)
        assert code == 2 and stderr.startswith("pte-encoder: error: ") and stderr.count("\n") == 1
    assert not (tmp_path / "x.json").exists()
    code, _, stderr = run(["decode", CORPUS_BUNDLED / "mlp" / "expected.bpte", "-o", tmp_path / "x.json",
                           "--options-out", tmp_path / "o.json"], capsys)
    assert code == 2 and "--options-out is for a .pte" in stderr
    form = tmp_path / "b.json"
    cases = [
        ('{"version": 2, "method_test_suites": [], "program": [], "layout": "flatbufers"}',
         "layout: expected 'flatc' or 'flatbuffers', got \"flatbufers\""),
        ('{"version": 2, "method_test_suites": [{"method_name": "f", "test_cases": [{"inputs": '
         '[{"val": {"int_val": 1}, "val_type": "Nope"}]}]}], "program": []}',
         "method_test_suites[0].test_cases[0].inputs[0].val_type: expected a member of ValueUnion, got \"Nope\""),
        ('{"version": 2, "program": [256]}', "program[0]: expected an integer in [0, 255], got 256"),
        ('{"version": 2, "extra": 1}', "extra: not a field of BundledProgram"),
        ('{"version": 2, "version": 3}', "version: field set more than once"),
        ("[]", "bundled_program: expected an object (a BundledProgram), got a list"),
    ]
    for text, message in cases:
        form.write_text(text)
        code, _, stderr = run(["encode-bundled", form, "-o", tmp_path / "out.bpte"], capsys)
        assert code == 2 and stderr == f"pte-encoder: error: {message}\n", stderr
    assert not (tmp_path / "out.bpte").exists()
    # a part of a bundled program that ExecuTorch refuses, here too (the layout key stays ours)
    form.write_text('{"version": 2, "layout": "flatc", "method_test_suites": null, "program": null}')
    assert run(["encode-bundled", form, "-o", tmp_path / "out.bpte"], capsys)[0] == 0
