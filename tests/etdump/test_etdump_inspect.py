"""`inspect run.etdp [--program model.pte] [--json]` and `decode run.etdp`: the
profile per run and per operator, joined with the program's instructions;
events that match nothing listed; bad input one line, exit 2."""

from __future__ import annotations

import json
import re
import struct
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

import pte_encoder as pe
import pte_encoder.etdump as etd
from helpers import ROOT
from pte_encoder.cli import main
from pte_encoder.schemas.etdump.codec import ETDUMP

DATA = ROOT / "tests" / "data" / "corpus-etdump"


def run(args: List[Any], capsys: pytest.CaptureFixture[str]) -> Tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def program_operators(pte: Path) -> Dict[Tuple[int, int], str]:
    """(chain, instruction) -> the operator each KernelCall calls, read here
    straight from the program."""
    plan = pe.read_program(pte).program.execution_plan[0]
    found = {}
    for c, chain in enumerate(plan.chains or []):
        for i, instruction in enumerate(chain.instructions or []):
            call = instruction.instr_args
            if isinstance(call, pe.KernelCall):
                op = plan.operators[call.op_index]
                found[(c, i)] = f"{op.name}.{op.overload}"
    return found


def operator_times(etdp: Path, pte: Path) -> Dict[str, List[int]]:
    """Each operator's OPERATOR_CALL durations, summed here from the events."""
    names = program_operators(pte)
    times: Dict[str, List[int]] = defaultdict(list)
    for r in pe.read_etdump(etdp).run_data or []:
        for e in r.events or []:
            p = e.profile_event
            if p is not None and p.name == "OPERATOR_CALL":
                times[names[(p.chain_index, p.instruction_id)]].append(p.end_time - p.start_time)
    return times


@pytest.mark.parametrize("name", ["profile", "debug"])
def test_inspect_names_every_operator_the_program_calls_with_its_time(
        name: str, capsys: pytest.CaptureFixture[str]) -> None:
    etdp, pte = DATA / "mlp" / f"{name}.etdp", DATA / "mlp" / "program.pte"
    times = operator_times(etdp, pte)
    assert set(times) == set(program_operators(pte).values()) == {
        "aten::permute_copy.out", "aten::addmm.out", "aten::relu.out", "aten::gelu.out"}
    code, text, err = run(["inspect", etdp, "--program", pte], capsys)
    assert code == 0 and not err
    for op, durations in times.items():
        row = next(line for line in text.splitlines() if line.strip().startswith(op + " "))
        cells = row.split()
        assert cells[1:5] == [str(len(durations)), f"{sum(durations):,}",
                              f"{sum(durations) / len(durations):,.0f}", f"{min(durations):,}"], row
    code, out, _ = run(["inspect", etdp, "--program", pte, "--json"], capsys)
    summary = json.loads(out)
    execute = summary["runs"][1]
    assert execute["name"] == "Execute" and summary["method"] == {"name": "forward", "instructions": 6}
    assert {r["name"]: (r["calls"], r["total"]) for r in execute["operators"]} == {
        op: (len(d), sum(d)) for op, d in times.items()}
    wall = execute["wall"]
    assert wall == execute["last_end"] - execute["first_start"] > 0
    for r in execute["operators"]:
        assert r["share"] == r["total"] / wall
        assert f"{100 * r['share']:.1f}%" in text
    # every instruction, with its operator and tensor arguments
    assert [(r["chain"], r["instruction"], r["operator"]) for r in execute["instructions"]] == [
        (c, i, op) for (c, i), op in sorted(program_operators(pte).items())]
    first = execute["instructions"][0]
    assert first["arguments"] == ["float[32, 16]", "float[16, 32]", "float[16, 32]"]
    assert "0:0 aten::permute_copy.out (float[32, 16], float[16, 32], float[16, 32])" in text
    assert execute["unmatched"] == [] and not re.search("unmatched", text)
    # the method's own times, and the time unit said once
    assert [r["name"] for r in summary["runs"][0]["method"]] == ["Program::load_method", "Method::init"]
    assert text.count("ticks") == 1 and summary["time_unit"] == "ticks"


def test_without_the_program_operators_are_named_by_their_kernels(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["inspect", DATA / "mlp" / "profile.etdp", "--json"], capsys)
    execute = json.loads(out)["runs"][1]
    assert {r["name"] for r in execute["operators"]} == {"addmm.out", "permute_copy.out", "relu.out",
                                                        "gelu.out"}
    assert json.loads(out)["method"] is None


def test_delegate_events_per_backend_and_id(capsys: pytest.CaptureFixture[str]) -> None:
    etdp, pte = DATA / "xnn_mlp" / "profile.etdp", DATA / "xnn_mlp" / "program.pte"
    code, out, _ = run(["inspect", etdp, "--program", pte, "--json"], capsys)
    execute = json.loads(out)["runs"][1]
    assert [r["name"] for r in execute["operators"]] == ["XnnpackBackend (delegate)"]
    assert [(r["backend"], r["id"], r["calls"]) for r in execute["delegates"]] == [
        ("XnnpackBackend", "Fully Connected (NC, F32) GEMM #1", 1), ("XnnpackBackend", "GELU (NC) #1", 1),
        ("XnnpackBackend", "Fully Connected (NC, F32) GEMM #2", 1)]
    code, text, _ = run(["inspect", etdp, "--program", pte], capsys)
    assert "XnnpackBackend  0:0  GELU (NC) #1" in text


def test_events_that_match_nothing_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    """mlp's run joined with xnn_mlp's program (one DelegateCall): nothing fits."""
    etdp = DATA / "mlp" / "profile.etdp"
    code, out, _ = run(["inspect", etdp, "--program", DATA / "xnn_mlp" / "program.pte", "--json"], capsys)
    execute = json.loads(out)["runs"][1]
    instruction_events = [e.profile_event for e in pe.read_etdump(etdp).run_data[1].events
                          if e.profile_event.chain_index != -1]
    assert len(execute["unmatched"]) == len(instruction_events) == 12
    assert execute["operators"] == [] and execute["kernels"] == []
    code, text, _ = run(["inspect", etdp, "--program", DATA / "xnn_mlp" / "program.pte"], capsys)
    assert text.count("  unmatched: ") == 12 and "unmatched: OPERATOR_CALL at 0:1, time" in text


def test_allocations_by_allocator(capsys: pytest.CaptureFixture[str]) -> None:
    """Allocation events name their allocator counting from 1, as the runtime does."""
    code, out, _ = run(["inspect", DATA / "flatcc" / "all_kinds.etdp", "--json"], capsys)
    runs = json.loads(out)["runs"]
    assert runs[1]["allocations"] == [{"allocator": "method allocator", "count": 1, "bytes": 256},
                                      {"allocator": "temp allocator", "count": 1, "bytes": 1 << 20}]
    assert runs[2]["bundled_input_index"] == 3


def made_up(*events: etd.ProfileEvent, allocations: Any = ()) -> bytes:
    run_data = etd.RunData(name="Execute", allocators=[etd.Allocator("a")], events=[
        etd.Event(profile_event=p) for p in events] + [
        etd.Event(allocation_event=etd.AllocationEvent(i, n)) for i, n in allocations])
    return ETDUMP.encode(etd.ETDump(run_data=[run_data]), size_prefixed=True)


def test_wraparound_ends_before_starts_and_unknown_allocators() -> None:
    data = made_up(
        etd.ProfileEvent(name="OPERATOR_CALL", chain_index=0, instruction_id=0,
                         start_time=0xFFFFFF00, end_time=0x10),       # a 32-bit clock wrapped
        etd.ProfileEvent(name="OPERATOR_CALL", chain_index=0, instruction_id=1,
                         start_time=2**40, end_time=2**40 - 5),       # cannot be
        etd.ProfileEvent(name="my scope", start_time=100, end_time=150),
        allocations=[(1, 10), (2, 20), (0, 30)])
    summary = etd.summarize_profile(pe.decode_etdump(data))
    run0 = summary["runs"][0]
    assert [(r["name"], r["total"]) for r in run0["operators"]] == [("operator at 0:0", 0xFF + 0x10)]
    assert [(u["instruction"], u["reason"]) for u in run0["unmatched"]] == [(1, "ends before it starts")]
    assert [(r["name"], r["total"]) for r in run0["other"]] == [("my scope", 50)]
    assert [(a["allocator"], a["bytes"]) for a in run0["allocations"]] == [
        ("a", 10), ("allocator 2", 20), ("allocator 0", 30)]
    text = etd.format_profile("x.etdp", summary)
    assert "unmatched: OPERATOR_CALL at 0:1, start 1,099,511,627,776" in text


def test_a_plain_etdump_is_inspected_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "plain.etdp"
    plain.write_bytes(ETDUMP.encode(pe.read_etdump(DATA / "mlp" / "profile.etdp")))
    code, out, _ = run(["inspect", plain, "--json"], capsys)
    assert code == 0 and json.loads(out)["form"] == "plain"
    code, prefixed, _ = run(["inspect", DATA / "mlp" / "profile.etdp", "--json"], capsys)
    assert {**json.loads(out), "form": None} == {**json.loads(prefixed), "form": None}


def test_decode_writes_executorchs_json_form(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.json"
    code, stdout, _ = run(["decode", DATA / "mlp" / "debug.etdp", "-o", out], capsys)
    assert code == 0 and f"wrote {out}" in stdout
    assert json.loads(out.read_text()) == json.loads((DATA / "mlp" / "debug.json").read_text())


def one_line_error(args: List[Any], capsys: pytest.CaptureFixture[str]) -> str:
    code, out, err = run(args, capsys)
    assert code == 2 and not out and err.count("\n") == 1 and err.startswith("pte-encoder: error: ")
    return err


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = (DATA / "mlp" / "profile.etdp").read_bytes()
    truncated, wrong = tmp_path / "truncated.etdp", tmp_path / "wrong.etdp"
    truncated.write_bytes(data[:300])
    wrong.write_bytes(struct.pack("<I", len(data)) + data[4:])
    assert "the size prefix gives 1188 bytes after it, but 296 follow" in one_line_error(
        ["inspect", truncated], capsys)
    assert "the size prefix gives" in one_line_error(["inspect", wrong, "--json"], capsys)
    pte = DATA / "mlp" / "program.pte"
    assert "--program is for an ETDump (.etdp)" in one_line_error(["inspect", pte, "--program", pte], capsys)
    assert f"{truncated}: Program: expected the file identifier 'ET12'" in one_line_error(
        ["inspect", DATA / "mlp" / "profile.etdp", "--program", truncated], capsys)
    assert "cannot read" in one_line_error(["inspect", tmp_path / "missing.etdp"], capsys)
    assert "it has no options" in one_line_error(
        ["decode", DATA / "mlp" / "profile.etdp", "-o", tmp_path / "x.json", "--options-out",
         tmp_path / "o.json"], capsys)
    assert not (tmp_path / "x.json").exists()


def test_xnnpack_events_with_integer_ids_are_named_by_their_node(capsys: pytest.CaptureFixture[str]) -> None:
    """XNNPACK 1.5.1 logs string ids; an event with an integer id (another
    build, another delegate) is the debug_handle of a node of the delegate's
    graph: xnn_mlp's nodes 1, 3 and 4 are two fully connected and a GELU."""
    events = [etd.ProfileEvent(name="DELEGATE_CALL", chain_index=0, instruction_id=0, start_time=0, end_time=90)]
    events += [etd.ProfileEvent(chain_index=0, instruction_id=0, delegate_debug_id_int=i,
                                delegate_debug_metadata=b"", start_time=10 * i, end_time=10 * i + 5)
               for i in (1, 3, 4, 99)]
    dump = pe.decode_etdump(made_up(*events))
    program = pe.read_program(DATA / "xnn_mlp" / "program.pte").program
    delegates = etd.summarize_profile(dump, program)["runs"][0]["delegates"]
    assert sorted((r["id"], r["node"]) for r in delegates) == [
        (1, "XNNFullyConnected"), (3, "XNNFullyConnected"), (4, "XNNGelu"), (99, None)]
    text = etd.format_profile("x.etdp", etd.summarize_profile(dump, program))
    assert "  4 (XNNGelu)  " in text
    assert all(r["node"] is None for r in etd.summarize_profile(dump)["runs"][0]["delegates"])
