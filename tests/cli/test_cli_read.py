"""pte-encoder inspect and decode, and infer_options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, strategies as st

import pte_encoder as pe
from helpers import CORPUS, CORPUS_CASES, ROOT
from pte_encoder.cli import main
from pte_encoder.formats.pte.options import infer_options
from strategies import programs

CORPUS_PTD = ROOT / "tests" / "data" / "corpus-ptd"
PTD_CASES = sorted(p.name for p in CORPUS_PTD.iterdir() if p.is_dir())


def run(args: list, capsys: pytest.CaptureFixture[str]) -> tuple:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_decode_then_encode_gives_back_the_file(case: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    program, options, out = tmp_path / "p.json", tmp_path / "o.json", tmp_path / "out.pte"
    code, stdout, _ = run(["decode", CORPUS / case / "expected.pte", "-o", program,
                           "--options-out", options], capsys)
    assert code == 0 and "note" not in stdout
    assert run(["encode", program, "--options", options, "-o", out], capsys)[0] == 0
    assert out.read_bytes() == (CORPUS / case / "expected.pte").read_bytes()


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_decode_of_the_flatbuffers_layout_gives_the_same_program(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    theirs, ours = tmp_path / "theirs.json", tmp_path / "ours.json"
    options, again = tmp_path / "o.json", tmp_path / "again.pte"
    code, stdout, _ = run(["decode", CORPUS / case / "expected-flatbuffers.pte", "-o", theirs,
                           "--options-out", options], capsys)
    assert code == 0 and "pass --layout flatbuffers to `encode`" in stdout
    run(["decode", CORPUS / case / "expected.pte", "-o", ours], capsys)
    assert json.loads(theirs.read_text()) == json.loads(ours.read_text())
    assert run(["encode", theirs, "--options", options, "--layout", "flatbuffers",
                "-o", again], capsys)[0] == 0
    assert again.read_bytes() == (CORPUS / case / "expected-flatbuffers.pte").read_bytes()


def test_decode_says_blobs_need_the_options(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run(["decode", CORPUS / "xnn_mlp" / "expected.pte", "-o",
                           tmp_path / "p.json"], capsys)
    assert code == 0 and "pass --options-out" in stdout


def test_inspect_text(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "xnn_mlp" / "expected.pte"
    code, out, _ = run(["inspect", path], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (f"{path}: 6,048 bytes, ExecuTorch program version 0, program 1,456 "
                        "bytes, segments from byte 1,536")
    assert "  inputs: %0 Tensor float[4, 16]" in lines
    assert "  delegate XnnpackBackend: 1,280 bytes, segment 1" in lines
    assert "named data: 4 keys, 3,232 bytes" in lines
    assert "  1: byte 1,536, 1,280 bytes, delegate XnnpackBackend" in lines
    assert lines[-1] == ("bytes by category: header 40, program 1,416, constants 0, "
                         "delegate data 1,280, named data 3,232, padding 80")


def test_inspect_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["inspect", CORPUS / "conv" / "expected.pte", "--json"], capsys)
    assert code == 0
    summary = json.loads(out)
    method = summary["methods"][0]
    assert method["operators"]["aten::convolution.out"] == 2
    assert sum(method["values"].values()) == method["value_count"] == 78
    assert summary["constants"]["count"] == 7
    assert summary["segments"] == [{"index": 0, "offset": 4992, "size": 2136,
                                    "holds": ["constants"]}]
    assert sum(summary["bytes_by_category"].values()) == summary["file_bytes"]


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_inspect_sizes_add_up(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["inspect", CORPUS / case / "expected.pte", "--json"], capsys)
    summary = json.loads(out)
    assert code == 0 and summary["bytes_by_category"]["padding"] >= 0
    assert sum(summary["bytes_by_category"].values()) == summary["file_bytes"]


@pytest.mark.parametrize("content", [b"", b"junk", b"\0" * 64, b"PK\3\4" + b"x" * 100])
def test_junk_gets_one_line_and_status_2(content: bytes, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "junk.pte"
    path.write_bytes(content)
    for command in (["inspect", path], ["decode", path, "-o", tmp_path / "p.json"]):
        code, out, err = run(command, capsys)
        assert code == 2 and out == ""
        assert err.startswith("pte-encoder: error: ") and err.count("\n") == 1
    assert not (tmp_path / "p.json").exists()


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["inspect", tmp_path / "nope.pte"], capsys)
    assert code == 2 and err == f"pte-encoder: error: cannot read {tmp_path / 'nope.pte'}: " \
                                "No such file or directory\n"


def test_inferred_options_prefer_defaults() -> None:
    data = (CORPUS / "mlp" / "expected.pte").read_bytes()
    options, exact = infer_options(pe.decode_program(data), data)
    assert exact and options == {"extract_delegate_segments": True, "segment_alignment": 128,
                                 "constant_tensor_alignment": None, "delegate_alignment": None}


def test_inferred_options_find_other_alignments() -> None:
    """align was written with 4096/64/256: options giving the same bytes are found."""
    data = (CORPUS / "align" / "expected.pte").read_bytes()
    options, exact = infer_options(pe.decode_program(data), data)
    assert exact and options["segment_alignment"] in (2048, 4096)
    assert pe.encode_program(pe.decode_program(data).program, **options) == data


BLOBS = st.lists(st.binary(max_size=40), max_size=4)
POWERS = st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096])


@st.composite
def named_data(draw: st.DrawFn) -> Any:
    buffers = draw(st.lists(st.binary(max_size=40), max_size=4))
    if not buffers:
        return None
    keys = draw(st.lists(st.text(max_size=6), unique=True, max_size=5))
    entries = {key: pe.DataEntry(draw(st.integers(0, len(buffers) - 1)), draw(POWERS))
               for key in keys}
    return pe.NamedDataOutput(buffers, entries)


@given(programs(), st.one_of(st.none(), BLOBS), named_data(), POWERS,
       st.sampled_from([None, 1, 4, 16, 64, 256]), st.sampled_from([None, 1, 16, 32, 512]),
       st.sampled_from(["flatc", "flatbuffers"]))
def test_options_are_inferred_for_generated_files(program: pe.Program, mutable: Any, named: Any,
                                                  segment_alignment: int, tensor: Any,
                                                  delegate: Any, layout: str) -> None:
    program.segments, program.named_data, program.mutable_data_segments = [], None, None
    program.constant_segment = None
    try:
        data = pe.encode_program(program, mutable_data=mutable, named_data=named,
                                 segment_alignment=segment_alignment,
                                 constant_tensor_alignment=tensor, delegate_alignment=delegate,
                                 layout=layout)
    except pe.EncodeError:
        return
    pte = pe.decode_program(data)
    options, exact = infer_options(pte, data)
    assert exact
    assert pe.encode_program(pte.program, **options) == data
    if layout == "flatc":  # the flatbuffers layout is tried only when flatc's does not fit
        assert "layout" not in options


def test_inspect_a_bare_flatbuffer(capsys: pytest.CaptureFixture[str]) -> None:
    """No extended header: the listed segments are not in this file."""
    code, out, _ = run(["inspect", CORPUS / "twomethods" / "flatbuffer.bin", "--json"], capsys)
    summary = json.loads(out)
    assert code == 0 and summary["extended_header"] is None
    assert summary["segments"] == [{"index": 0, "offset": None, "size": 144,
                                    "holds": ["not in this file (no extended header)"]}]
    assert summary["bytes_by_category"] == {"header": 8, "program": 2256, "padding": 0}
    assert [m["name"] for m in summary["methods"]] == ["forward", "other"]


def test_readme_shows_real_inspect_output(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```text\n$ pte-encoder inspect conv.pte\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    expected = []
    for part in ("$ pte-encoder inspect conv.pte\n" + block).split("$ pte-encoder inspect ")[1:]:
        name, output = part.split("\n", 1)
        folder = CORPUS_PTD if name.endswith(".ptd") else CORPUS
        (tmp_path / name).write_bytes((folder / name[:-4] / f"expected{name[-4:]}").read_bytes())
        code, out, _ = run(["inspect", name], capsys)
        assert code == 0
        expected.append((out, output))
    assert len(expected) == 3
    for out, output in expected:
        assert out == output


def test_inspect_ptd_text(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS_PTD / "two_linear" / "expected.ptd"
    code, out, _ = run(["inspect", path], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (f"{path}: 1,424 bytes, ExecuTorch data file version 0, flatbuffer 504 "
                        "bytes, segments from byte 512 (alignment 128)")
    assert lines[1] == "named data: 4 keys, 848 bytes"
    assert "  a.weight: float[16, 8], 512 bytes, segment 0" in lines
    assert "  3: byte 1,408, 16 bytes, b.bias" in lines
    assert lines[-1] == ("bytes by category: header 48, flatbuffer 456, named data 848, "
                         "padding 72")


@pytest.mark.parametrize("case", PTD_CASES)
def test_inspect_ptd_json(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS_PTD / case / "expected.ptd"
    code, out, _ = run(["inspect", path, "--json"], capsys)
    summary = json.loads(out)
    payload = json.loads((CORPUS_PTD / case / "payload.json").read_text())
    assert code == 0 and summary["bytes_by_category"]["padding"] >= 0
    assert sum(summary["bytes_by_category"].values()) == summary["file_bytes"] == \
        path.stat().st_size
    assert [e["key"] for e in summary["named_data"]] == list(payload["named_data"])
    for entry in summary["named_data"]:
        layout = payload["named_data"][entry["key"]]["tensor_layout"]
        assert entry["sizes"] == layout["sizes"] and entry["dim_order"] == layout["dim_order"]
        assert entry["dtype"] == pe.ScalarType(layout["scalar_type"]).name.lower()


def test_inspect_ptd_unusual_entries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No tensor layout, a dim order that is not the identity, an unknown dtype,
    a segment no key names, a key with a line break."""
    from pte_encoder.schemas.flat_tensor import model as ft
    from test_ptd_read import container
    flat = ft.FlatTensor(segments=[ft.DataSegment(offset=0, size=4),
                                   ft.DataSegment(offset=128, size=2)], named_data=[
        ft.NamedData(key="blob", segment_index=0),
        ft.NamedData(key="t", segment_index=0, tensor_layout=ft.TensorLayout(
            scalar_type=ft.ScalarType.HALF, sizes=[1, 2], dim_order=b"\1\0")),
        ft.NamedData(key="x\ny", segment_index=0, tensor_layout=ft.TensorLayout(
            scalar_type=99, sizes=[], dim_order=b""))])
    path = tmp_path / "odd.ptd"
    path.write_bytes(container(flat, bytes(130)))
    code, out, _ = run(["inspect", path], capsys)
    assert code == 0
    lines = out.splitlines()
    assert "  blob: no tensor layout, 4 bytes, segment 0" in lines
    assert "  t: half[1, 2] dim_order (1, 0), 4 bytes, segment 0" in lines
    assert "  x\\ny: dtype 99[], 4 bytes, segment 0" in lines
    base = pe.analyze_data_file(path.read_bytes()).header.segment_base_offset
    assert f"  0: byte {base}, 4 bytes, blob, t, x\\ny" in lines
    assert f"  1: byte {base + 128}, 2 bytes, unused" in lines
    assert lines[-1].startswith("bytes by category: header 48, flatbuffer ")
    assert ", named data 4, unused segments 2, padding " in lines[-1]


@pytest.mark.parametrize("at, value", [(8, b"XXXX"), (24, b"\xff" * 8), (100, b"\xff" * 4)])
def test_a_damaged_ptd_gets_one_line_and_status_2(at: int, value: bytes, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray((CORPUS_PTD / "one" / "expected.ptd").read_bytes())
    data[at:at + len(value)] = value
    path = tmp_path / "bad.ptd"
    path.write_bytes(bytes(data))
    code, out, err = run(["inspect", path], capsys)
    assert code == 2 and out == ""
    assert err.startswith("pte-encoder: error: ") and err.count("\n") == 1


@pytest.mark.parametrize("case", PTD_CASES)
def test_decode_ptd_writes_the_payload_json(case: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "payload.json"
    code, stdout, _ = run(["decode", CORPUS_PTD / case / "expected.ptd", "-o", out], capsys)
    assert code == 0 and stdout == f"wrote {out} ({out.stat().st_size} bytes)\n"
    ours = json.loads(out.read_text())
    given = json.loads((CORPUS_PTD / case / "payload.json").read_text())
    # alignments the file cannot tell apart are inferred as the smallest (1)
    for entry in given["named_data"].values():
        entry["alignment"] = 1
    assert ours == given


def test_decode_ptd_refuses_options_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["decode", CORPUS_PTD / "one" / "expected.ptd", "-o", tmp_path / "p.json",
                          "--options-out", tmp_path / "o.json"], capsys)
    assert code == 2 and "--options-out is for a .pte" in err and out == ""
    assert not (tmp_path / "p.json").exists()


@pytest.mark.skipif(not hasattr(pe, "encode_data_file"), reason="no .ptd writer yet")
@pytest.mark.parametrize("case", PTD_CASES)
def test_decode_then_encode_data_gives_back_the_ptd(case: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    payload, out = tmp_path / "payload.json", tmp_path / "out.ptd"
    assert run(["decode", CORPUS_PTD / case / "expected.ptd", "-o", payload], capsys)[0] == 0
    assert run(["encode-data", payload, "-o", out], capsys)[0] == 0
    assert out.read_bytes() == (CORPUS_PTD / case / "expected.ptd").read_bytes()


@pytest.mark.parametrize("delegate", [None, 1, 8, 32, 512])
@pytest.mark.parametrize("segments", [False, True])
def test_inferred_delegate_alignment_in_the_flatbuffers_layout(delegate: Any,
                                                               segments: bool) -> None:
    """There an empty delegate blob is aligned to the delegate alignment, a
    trace the header's size may not show (or, without segments, no header)."""
    program = pe.Program(version=0, execution_plan=[pe.ExecutionPlan(name="f", delegates=[
        pe.BackendDelegate(id="", compile_specs=[], processed=pe.BackendDelegateDataReference(
            location=pe.DataLocation.INLINE, index=0))])],
        constant_buffer=[pe.Buffer(storage=b""), pe.Buffer(storage=b"w" * segments)],
        backend_delegate_data=[pe.BackendDelegateInlineData(data=b"")], segments=[])
    data = pe.encode_program(program, delegate_alignment=delegate, layout="flatbuffers")
    pte = pe.decode_program(data)
    assert (pte.header is not None) == segments
    options, exact = infer_options(pte, data)
    assert exact and options["layout"] == "flatbuffers"
    assert pe.encode_program(pte.program, **options) == data


# The standard output as the command's output, and errors writing it.

def _cli(args: list, stdout: Any, unbuffered: bool = False) -> Any:
    """The command in a fresh process, its standard output buffered as a
    terminal-less process has it, or unbuffered (PYTHONUNBUFFERED)."""
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run([sys.executable, "-m", "pte_encoder", *map(str, args)], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120, env=env)


@pytest.mark.parametrize("source", [CORPUS / "xnn_mlp" / "expected.pte",
                                    CORPUS_PTD / "two_linear" / "expected.ptd"], ids=["pte", "ptd"])
def test_decode_to_the_standard_output_keeps_it_clean(source: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """`decode -o /dev/stdout`: the JSON alone on stdout (redirected to a file,
    or through a pipe); the status lines go to stderr."""
    expected = tmp_path / "expected.json"
    assert run(["decode", source, "-o", expected], capsys)[0] == 0
    with open(tmp_path / "out.json", "w") as out:
        result = _cli(["decode", source, "-o", "/dev/stdout"], out)
    assert result.returncode == 0 and "wrote /dev/stdout" in result.stderr
    assert (tmp_path / "out.json").read_bytes() == expected.read_bytes()
    import subprocess
    piped = _cli(["decode", source, "-o", "/dev/stdout"], subprocess.PIPE)
    assert piped.returncode == 0 and piped.stdout.encode() == expected.read_bytes()


@pytest.mark.parametrize("unbuffered", [False, True])
def test_inspect_into_a_closed_pipe_stops_quietly(unbuffered: bool) -> None:
    import os
    read, write = os.pipe()
    os.close(read)  # the reader went away before anything was written (as `| head` may)
    try:
        result = _cli(["inspect", CORPUS / "conv" / "expected.pte"], write, unbuffered)
    finally:
        os.close(write)
    assert result.returncode == 1 and result.stderr == ""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize("unbuffered", [False, True])
def test_inspect_into_a_full_device_is_one_line(unbuffered: bool) -> None:
    with open("/dev/full", "w") as full:
        result = _cli(["inspect", CORPUS / "conv" / "expected.pte", "--json"], full, unbuffered)
    assert result.returncode == 2
    assert result.stderr == "pte-encoder: error: cannot write the standard output: No space left on device\n"


def test_decode_whose_options_cannot_be_written_leaves_nothing(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    program, options = tmp_path / "p.json", tmp_path / "missing" / "o.json"
    code, out, err = run(["decode", CORPUS / "xnn_mlp" / "expected.pte", "-o", program,
                          "--options-out", options], capsys)
    assert code == 2 and out == ""
    assert err == f"pte-encoder: error: cannot write {options}: No such file or directory\n"
    assert not program.exists()
    # a program JSON that was there before is the user's: left as the write made it
    program.write_text("old")
    assert run(["decode", CORPUS / "xnn_mlp" / "expected.pte", "-o", program,
                "--options-out", options], capsys)[0] == 2
    assert program.exists()


def test_inspect_counts_a_shared_blob_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    program = pe.Program(version=0, execution_plan=[], constant_buffer=[], backend_delegate_data=[], segments=[])
    pte, ptd = tmp_path / "shared.pte", tmp_path / "shared.ptd"
    pe.write_program(program, pte, named_data=pe.NamedDataOutput(
        [bytes(1000), bytes(10)], {"a": pe.DataEntry(0), "b": pe.DataEntry(0), "c": pe.DataEntry(1)}))
    pe.write_data_file(pe.DataPayload([bytes(3)], {k: pe.DataEntry(0) for k in "abcde"}), ptd)
    out = run(["inspect", pte], capsys)[1]
    assert "named data: 3 keys, 1,010 bytes in 2 buffers\n" in out and "  a: 1,000 bytes" in out
    out = run(["inspect", ptd], capsys)[1]
    assert "named data: 5 keys, 3 bytes in 1 segment\n" in out
