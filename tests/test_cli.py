"""The pte-encoder command line: encode, demo, --help and its errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from helpers import CORPUS, CORPUS_CASES, ROOT, decode_flatbuffer
from pte_reader import read_pte


def run(args: List[str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pte_encoder", *args], cwd=cwd,
                          capture_output=True, text=True)


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_encode_matches_executorch(case: str, tmp_path: Path) -> None:
    out = tmp_path / "out.pte"
    result = run(["encode", str(CORPUS / case / "program.json"), "-o", str(out),
                  "--options", str(CORPUS / case / "options.json")])
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == (CORPUS / case / "expected.pte").read_bytes()
    assert result.stdout == f"wrote {out} ({out.stat().st_size} bytes)\n"


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_flatbuffer_only_matches_flatc(case: str, tmp_path: Path) -> None:
    out = tmp_path / "out.bin"
    result = run(["encode", str(CORPUS / case / "flatbuffer.json"), "-o", str(out),
                  "--options", str(CORPUS / case / "options.json"), "--flatbuffer-only"])
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == (CORPUS / case / "flatbuffer.bin").read_bytes()


def test_demo_writes_a_loadable_program(tmp_path: Path) -> None:
    out = tmp_path / "demo.pte"
    result = run(["demo", "-o", str(out)])
    assert result.returncode == 0, result.stderr
    size = out.stat().st_size
    assert result.stdout.splitlines() == [
        f"wrote {out} ({size} bytes)",
        "  method forward: 5 values, operators aten::mul.out, aten::add.out"]
    pte = read_pte(out.read_bytes())
    assert pte.header is None  # no constants: nothing in segments
    program = decode_flatbuffer(out.read_bytes())
    (plan,) = program["execution_plan"]
    assert plan["name"] == "forward"
    assert [(o["name"], o["overload"]) for o in plan["operators"]] == [("aten::mul", "out"), ("aten::add", "out")]
    assert plan["inputs"] == [0, 1] and plan["outputs"] == [4]
    calls = [i["instr_args"] for i in plan["chains"][0]["instructions"]]
    assert [(kind, c["op_index"], c["args"]) for kind, c in calls] == [
        ("KernelCall", 0, [0, 1, 2, 2]), ("KernelCall", 1, [2, 0, 3, 4, 4])]
    tensors = [v["val"][1] for v in plan["values"] if v["val"][0] == "Tensor"]
    offsets = [t["allocation_info"]["memory_offset_low"] for t in tensors]
    assert offsets == [0, 16, 32, 48] and plan["non_const_buffer_sizes"] == [0, 64]
    assert all(t["sizes"] == [2, 2] and t["scalar_type"] == 6 for t in tensors)
    assert program["constant_segment"] == {"segment_index": 0, "offsets": [0]}


@pytest.mark.parametrize("args", [[], ["encode"], ["demo"]])
def test_help(args: List[str]) -> None:
    result = run([*args, "--help"])
    assert result.returncode == 0 and "usage: pte-encoder" in result.stdout


def check_error(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("pte-encoder: error: ")
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize("content, options, message", [
    (None, None, "cannot read program"),
    ("{not json", None, "invalid JSON"),
    ('{"execution_plan": [{"values": [{"val": {"int_val": "1"}, "val_type": "Int"}]}]}', None,
     "execution_plan[0].values[0].val.int_val: expected an integer"),
    ('{"execution_plan": [{"values": [{"val": {}, "val_type": "Complex"}]}]}', None,
     "execution_plan[0].values[0].val_type: expected a member of KernelTypes"),
    ('{"version": 0, "extra": 1}', None, "extra: not a field of Program"),
    ("{}", '{"segment_alignment": 100}', "segment_alignment: expected a power of two, got 100"),
    ("{}", '{"mutable_data": ["not base64!"]}', "mutable_data[0]: expected a base64 string"),
    ("{}", '{"colour": 1}', "colour: not an option"),
    ("[" * 100_000, None, "invalid JSON: nested too deeply"),
    ("{}", "[" * 100_000, "invalid JSON: nested too deeply"),
    ('{"version": 1, "version": 2}', None, "version: field set more than once"),
    ('{"version": true}', None, "version: expected an integer, got true"),
    ('{"backend_delegate_data": [{"data": [false]}]}', None, "backend_delegate_data[0].data[0]: expected an integer, got false"),
    ('{"a\\nb\\u001b": 1}', None, "not a field of Program"),
    ('{"' + "k" * 1_000_000 + '": 1}', None, "not a field of Program"),
    ('{"execution_plan": [{"values": [{"val": {"double_val": 1' + "0" * 400 + '}, "val_type": "Double"}]}]}', None,
     "double_val: expected a number in the range of a 64-bit float"),
    ("{}", '{"constant_tensor_alignment": 0}', "constant_tensor_alignment: expected a power of two, got 0"),
    ("{}", '{"segment_alignment": 18446744073709551616}', "segment_alignment: expected a power of two of at most"),
    ("{}", '{"named_data": {"buffers": [""], "pte_data": {"k": {"buffer_index": 0, "alignment": false}}}}',
     "named_data.pte_data['k'].alignment: expected a power of two, got false"),
    ('{"execution_plan": [{"delegates": [{"id": "x"}]}], "backend_delegate_data": []}', None,
     "execution_plan[0].delegates[0].processed: expected a BackendDelegateDataReference object, got None"),
    ('{"execution_plan": [{"delegates": [{"processed": {"location": 0, "index": 3}}]}], "backend_delegate_data": []}', None,
     "execution_plan[0].delegates[0].processed.index: expected an index into the 0 backend_delegate_data entries, got 3"),
], ids=lambda v: repr(v)[:40] if isinstance(v, str) else None)
def test_errors_are_one_line_and_leave_no_file(content: str, options: str, message: str,
                                               tmp_path: Path) -> None:
    program = tmp_path / "program.json"
    if content is not None:
        program.write_text(content)
    args = ["encode", str(program), "-o", str(tmp_path / "out.pte")]
    if options is not None:
        (tmp_path / "options.json").write_text(options)
        args += ["--options", str(tmp_path / "options.json")]
    check_error(run(args), message)
    assert not (tmp_path / "out.pte").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pte-")]


@pytest.mark.parametrize("content, message", [
    ('{"version": 1, "version": 2}', "version: field set more than once"),
    ('{"constant_buffer": [{"storage": [1, 2]}], "segments": [{"offset": 0, "size": 1}]}', None),
])
def test_flatbuffer_only_errors(content: str, message: str, tmp_path: Path) -> None:
    program = tmp_path / "program.json"
    program.write_text(content)
    (tmp_path / "options.json").write_text('{"delegate_alignment": 3}')
    result = run(["encode", str(program), "-o", str(tmp_path / "out.bin"), "--flatbuffer-only",
                  "--options", str(tmp_path / "options.json")])
    check_error(result, message or "delegate_alignment: expected a power of two, got 3")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["options.json", "program.json"]


def test_unwritable_output(tmp_path: Path) -> None:
    check_error(run(["demo", "-o", str(tmp_path / "missing" / "demo.pte")]), "cannot write")
