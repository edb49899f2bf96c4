"""The pte-encoder command line: encode, demo, --help and its errors."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import List

import pytest

import pte_encoder as pe

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
    (template,) = program["execution_plan"]
    assert template["name"] == "forward"
    assert [(o["name"], o["overload"]) for o in template["operators"]] == [("aten::mul", "out"), ("aten::add", "out")]
    assert template["inputs"] == [0, 1] and template["outputs"] == [4]
    calls = [i["instr_args"] for i in template["chains"][0]["instructions"]]
    assert [(kind, c["op_index"], c["args"]) for kind, c in calls] == [
        ("KernelCall", 0, [0, 1, 2, 2]), ("KernelCall", 1, [2, 0, 3, 4, 4])]
    tensors = [v["val"][1] for v in template["values"] if v["val"][0] == "Tensor"]
    offsets = [t["allocation_info"]["memory_offset_low"] for t in tensors]
    assert offsets == [0, 16, 32, 48] and template["non_const_buffer_sizes"] == [0, 64]
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


# --- Output files: written as open(path, "wb") would, but atomically -------

OUTPUT_COMMANDS = {
    "demo": lambda out: ["demo", "-o", out],
    "encode": lambda out: ["encode", str(CORPUS / "mlp" / "program.json"), "-o", out],
    "flatbuffer-only": lambda out: ["encode", str(CORPUS / "mlp" / "flatbuffer.json"), "-o", out,
                                    "--flatbuffer-only"],
}


def no_temporary_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".pte-")]


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_a_new_output_gets_the_mode_the_umask_gives(command: str, mask: int, tmp_path: Path) -> None:
    old = os.umask(mask)  # the command inherits it
    try:
        result = run(OUTPUT_COMMANDS[command](str(tmp_path / "out.pte")))
    finally:
        os.umask(old)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(os.stat(tmp_path / "out.pte").st_mode) == 0o666 & ~mask


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
def test_a_replaced_output_keeps_its_mode_and_a_link_stays_a_link(command: str, tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "model.pte"
    real.write_bytes(b"old")
    os.chmod(real, 0o751)
    (tmp_path / "link.pte").symlink_to(real)
    for out in (real, tmp_path / "link.pte"):
        result = run(OUTPUT_COMMANDS[command](str(out)))
        assert result.returncode == 0, result.stderr
        assert stat.S_IMODE(os.stat(real).st_mode) == 0o751 and real.read_bytes() != b"old"
    assert os.path.islink(tmp_path / "link.pte")
    assert os.listdir(tmp_path / "real") == ["model.pte"] and no_temporary_files(tmp_path)


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
def test_a_fifo_output_is_written_through(command: str, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received: List[bytes] = []

    def reader() -> None:
        with open(fifo, "rb") as pipe:
            received.append(pipe.read())
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    result = run(OUTPUT_COMMANDS[command](str(fifo)))
    thread.join(10)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {fifo} ({len(received[0])} bytes)")
    assert received[0][4:8] == b"ET12"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.listdir(tmp_path) == ["fifo"]


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
def test_a_device_output_is_written_through(command: str, tmp_path: Path) -> None:
    device = tmp_path / "null"
    try:  # our own null device: a broken writer would replace /dev/null itself
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("cannot make a device node here")
    (tmp_path / "link").symlink_to(device)
    for out in (device, tmp_path / "link"):
        result = run(OUTPUT_COMMANDS[command](str(out)))
        assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(os.lstat(device).st_mode) and os.readlink(tmp_path / "link") == str(device)
    assert sorted(os.listdir(tmp_path)) == ["link", "null"]


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
@pytest.mark.parametrize("stdout_is", ["pipe", "file"])
def test_dev_stdout_output_goes_to_stdout_and_the_report_to_stderr(command: str, stdout_is: str,
                                                                   tmp_path: Path) -> None:
    # Never -o /dev/stdout itself: a broken writer would replace that link for
    # every process on the machine; a link of ours to it, or /dev/fd/1, is safe.
    (tmp_path / "link").symlink_to("/dev/stdout")
    for out in ("/dev/fd/1", str(tmp_path / "link")):
        with open(tmp_path / "redirected", "wb") as redirected:
            result = subprocess.run(
                [sys.executable, "-m", "pte_encoder", *OUTPUT_COMMANDS[command](out)], cwd=ROOT,
                stdout=subprocess.PIPE if stdout_is == "pipe" else redirected, stderr=subprocess.PIPE)
        written = result.stdout if stdout_is == "pipe" else (tmp_path / "redirected").read_bytes()
        assert result.returncode == 0, result.stderr
        assert written[4:8] == b"ET12"
        assert result.stderr.decode().startswith(f"wrote {out} ({len(written)} bytes)\n")
    assert os.path.islink("/dev/stdout")
    assert sorted(os.listdir(tmp_path)) == ["link", "redirected"]


@pytest.mark.parametrize("command", OUTPUT_COMMANDS)
@pytest.mark.parametrize("where, message", [
    ("folder", "Is a directory"), ("link-to-folder", "Is a directory"),
    ("missing/out.pte", "No such file or directory"), ("file/out.pte", "Not a directory"),
    ("dangling", "No such file or directory")])
def test_output_errors_are_one_line_and_leave_nothing(command: str, where: str, message: str,
                                                      tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "link-to-folder").symlink_to("folder")
    (tmp_path / "file").write_bytes(b"old")
    (tmp_path / "dangling").symlink_to("missing/out.pte")
    out = str(tmp_path / where)
    result = run(OUTPUT_COMMANDS[command](out))
    check_error(result, f"cannot write {out}: {message}")
    assert ".tmp" not in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["dangling", "file", "folder", "link-to-folder"]
    assert os.listdir(tmp_path / "folder") == [] and (tmp_path / "file").read_bytes() == b"old"


def test_version_says_the_packages_version() -> None:
    result = subprocess.run([sys.executable, "-m", "pte_encoder", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == f"pte-encoder {pe.__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+", pe.__version__)
