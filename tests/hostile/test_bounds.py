"""Every command and every reading function, on small hostile inputs: output,
memory and time stay within the bounds hostile.py states (issue 24).

Each hostile input is what some layer once amplified, crashed on or read
whole: values named thousands of times, blobs shared by many references,
segments over one region, tables pointing at one byte vector, empty tables
by the thousand, files cut short, /dev/zero. A command either does its work
or refuses in one line (exit 2); either way within the bounds. A new
command, or a new reading function, must be added here: the first two
tests check that the lists are complete.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

import pte_encoder as pe
import pte_encoder.xnnpack as xnn
from hostile import (COMMAND_SECONDS, CORPUS, EVIL, INSPECT_FACTOR, OUTPUT_FACTOR, OUTPUT_SLACK,
                     TRACED_FACTOR, TRACED_SLACK, MiB, assert_bounded, big_delegate_alignment, delegate,
                     long_string_named_many, long_tensor_named_many, named_segment_at_zero, names_program,
                     overlapping_delegate_segments, plan, program, ptd_overlapping_segments,
                     pte_overlapping_named_segments, run_cli, shared_empty_delegates,
                     shared_inline_vector, shared_segment_blob, traced)
from pte_encoder.cli import _parser

# The flatc JSON form writes every field of every table, null included: an
# empty ExecutionPlan, 8 bytes in the FlatBuffer, is some 210 characters.
VERBOSE_FACTOR = 32
# Tables pointing at one [ubyte] vector: the reader's work budget lets the
# objects reached add up to 4x the file, each byte at most "255, " in JSON.
SHARED_VECTOR_FACTOR = 4 * 5 + OUTPUT_FACTOR


def _empty_plans(n: int = 10_000) -> bytes:
    return pe.encode_flatbuffer(pe.Program(version=0, execution_plan=[pe.ExecutionPlan() for _ in range(n)]))


def _conv() -> bytes:
    return (CORPUS / "conv" / "expected.pte").read_bytes()


# name -> (bytes, the JSON output factor of decode)
PTE: Dict[str, Tuple[Callable[[], bytes], int]] = {
    "long-string": (long_string_named_many, OUTPUT_FACTOR),
    "long-tensor": (long_tensor_named_many, OUTPUT_FACTOR),
    "shared-segment": (shared_segment_blob, OUTPUT_FACTOR),
    "shared-empty-delegates": (lambda: shared_empty_delegates(1000, "flatbuffers"), OUTPUT_FACTOR),
    "big-delegate-alignment": (lambda: big_delegate_alignment(300), OUTPUT_FACTOR),
    "overlapping-delegate-segments": (overlapping_delegate_segments, OUTPUT_FACTOR),
    "overlapping-named-segments": (pte_overlapping_named_segments, OUTPUT_FACTOR),
    "named-segment-at-zero": (named_segment_at_zero, OUTPUT_FACTOR),
    "escapes": (lambda: names_program(EVIL), OUTPUT_FACTOR),
    "shared-inline-vector": (lambda: shared_inline_vector(4), SHARED_VECTOR_FACTOR),
    "empty-plans": (_empty_plans, VERBOSE_FACTOR),
    "truncated": (lambda: _conv()[:3000], OUTPUT_FACTOR),
}


def _many_keys_one_buffer(n: int = 10_000) -> bytes:
    payload = pe.DataPayload([bytes(100_000)], {f"k{i}": pe.DataEntry(0, 1) for i in range(n)})
    return pe.encode_data_file(payload)


def _long_layout(n: int = 500) -> bytes:
    layout = pe.TensorLayout(pe.ScalarType.FLOAT, [1] * 250, list(range(250)))
    payload = pe.DataPayload([b"x"], {f"k{i}": pe.DataEntry(0, 1, layout) for i in range(n)})
    return pe.encode_data_file(payload)


PTD: Dict[str, Callable[[], bytes]] = {
    "overlapping-segments": ptd_overlapping_segments,
    "many-keys-one-buffer": _many_keys_one_buffer,
    "long-layouts": _long_layout,
    "truncated": lambda: _many_keys_one_buffer(100)[:5000],
}


def _json_text(value: Any) -> bytes:
    return json.dumps(value).encode()


def _xnnpack_blob(values: int = 2000, dims: int = 50, nodes: int = 2000) -> bytes:
    """A graph whose tensors have many dimensions and whose nodes all name one
    value: what inspect's XNNPACK view describes per value and per node."""
    tensor = xnn.XNNTensorValue(xnn.XNNDatatype.xnn_datatype_fp32, dims, [1] * dims, 0, 0, 1, 0)
    return xnn.encode_xnnpack_blob(xnn.XNNGraph(
        version="0", xvalues=[xnn.XValue(tensor) for _ in range(values)],
        xnodes=[xnn.XNode(xnn.XNNAdd(0, 0, 0, 0), i) for i in range(nodes)],
        constant_data=[xnn.ConstantDataOffset(0, 1 << 20, "k" * 1000) for _ in range(100)]), bytes(64))


def _pte_with_xnnpack_blob() -> bytes:
    """A .pte whose XnnpackBackend delegate holds _xnnpack_blob (inspect looks inside)."""
    prog = program([plan(delegates=[delegate(0)])],
                   backend_delegate_data=[pe.BackendDelegateInlineData(data=_xnnpack_blob(500, 20, 500))])
    return pe.encode_program(prog)


def _bundled(suites: Any, program_bytes: bytes = b"") -> bytes:
    return pe.encode_bundled_program(pe.bundled.BundledProgram(
        version=0, method_test_suites=suites, program=program_bytes or _conv()))


def _bundled_long_shapes(cases: int = 300, rank: int = 250) -> bytes:
    """Test cases whose tensors have long shapes (inspect shows each value's shape)."""
    B = pe.bundled
    tensor = B.Tensor(scalar_type=B.ScalarType.FLOAT, sizes=[1] * rank, data=b"", dim_order=list(range(rank)))
    case = B.BundledMethodTestCase(inputs=[B.Value(tensor)] * 4, expected_outputs=[B.Value(tensor)])
    return _bundled([B.BundledMethodTestSuite("forward", [case] * cases)])


def _bundled_many_values(values: int = 20_000) -> bytes:
    """One test case of many small values (each described in inspect and in the JSON form)."""
    B = pe.bundled
    case = B.BundledMethodTestCase(inputs=[B.Value(B.Int(i)) for i in range(values)], expected_outputs=[])
    return _bundled([B.BundledMethodTestSuite("\x1b[31mforward\x07", [case])])


BPTE: Dict[str, Callable[[], bytes]] = {
    "long-shapes": _bundled_long_shapes,
    "many-values": _bundled_many_values,
    "hostile-program": lambda: _bundled([], long_string_named_many()),
    "truncated": lambda: _bundled_many_values(2000)[:5000],
}
BUNDLED_JSON: Dict[str, Callable[[], bytes]] = {
    "empty-suites": lambda: b'{"version": 0, "method_test_suites": [' + b", ".join([b"{}"] * 50_000)
                            + b'], "program": []}',
    "deep": lambda: b"[" * 100_000,
}

def _etdump(events: List[Any], names: int = 1) -> bytes:
    from pte_encoder import etdump as etd
    from pte_encoder.schemas.etdump.codec import ETDUMP
    runs = [etd.RunData(name=f"run{i}", events=[etd.Event(profile_event=e) for e in events])
            for i in range(names)]
    return ETDUMP.encode(etd.ETDump(version=0, run_data=runs), size_prefixed=True)


def _etdump_many_events(n: int = 20_000) -> bytes:
    """Operator calls at many (chain, instruction) places: each a row with --program."""
    from pte_encoder import etdump as etd
    return _etdump([etd.ProfileEvent(name="OPERATOR_CALL", chain_index=0, instruction_id=i,
                                     start_time=i, end_time=i + 1) for i in range(n)])


def _etdump_long_names(n: int = 2_000) -> bytes:
    """Events of distinct long names, with escapes (each a row of inspect)."""
    from pte_encoder import etdump as etd
    return _etdump([etd.ProfileEvent(name=f"\x1b[2J{i}" + "x" * 500, delegate_debug_id_str="\r" * 100,
                                     start_time=i, end_time=i + 1) for i in range(n)])


ETDP: Dict[str, Callable[[], bytes]] = {
    "many-events": _etdump_many_events,
    "long-names": _etdump_long_names,
    "many-runs": lambda: _etdump([], names=20_000),
    "truncated": lambda: _etdump_many_events(2000)[:30_000],
}

XNNPACK: Dict[str, Callable[[], bytes]] = {
    "wide-graph": _xnnpack_blob,
    "truncated": lambda: _xnnpack_blob()[:3000],
}
PTE["xnnpack-delegate"] = (_pte_with_xnnpack_blob, OUTPUT_FACTOR)

# name -> JSON text, for encode (programs), encode --options, encode-data (payloads)
PROGRAM_JSON: Dict[str, Callable[[], bytes]] = {
    "empty-tables": lambda: b'{"execution_plan": [' + b", ".join([b"{}"] * 50_000) + b"]}",
    "long-int-list": lambda: _json_text({"execution_plan": [{"inputs": [1] * 100_000}]}),
    "deep": lambda: b"[" * 100_000,
    "long-string": lambda: _json_text({"execution_plan": [{"name": "\u0800" * 100_000}]}),
}
OPTIONS_JSON: Dict[str, Callable[[], bytes]] = {
    "many-keys-one-buffer": lambda: _json_text({"named_data": {
        "buffers": [base64.b64encode(bytes(100_000)).decode()],
        "pte_data": {f"k{i}": {"buffer_index": 0} for i in range(10_000)}}}),
}
GRAPH_JSON: Dict[str, Callable[[], bytes]] = {
    "empty-nodes": lambda: b'{"version": "0", "xnodes": [' + b", ".join([b"{}"] * 50_000) + b"]}",
    "deep": lambda: b"[" * 100_000,
}
PAYLOAD_JSON: Dict[str, Callable[[], bytes]] = {
    "many-keys-one-buffer": lambda: _json_text({"buffers": [base64.b64encode(bytes(100_000)).decode()],
                                                "named_data": {f"k{i}": {"buffer_index": 0}
                                                               for i in range(10_000)}}),
    "deep": lambda: b"[" * 100_000,
}

# command -> the inputs it is run on
COMMANDS = ["inspect", "inspect --json", "decode", "decode --options-out", "encode", "encode --options",
            "encode --flatbuffer-only", "encode-data", "encode-xnnpack", "encode-bundled", "demo"]
READERS = ["decode_program", "read_program", "read_program(copy=True)", "decode_flatbuffer",
           "analyze_data_file", "decode_data_file", "read_data_file", "read_data_file(copy=True)",
           "infer_options", "program_to_json", "program_from_json", "options_from_json", "payload_from_json",
           "decode_xnnpack_blob", "decode_bundled_program", "read_bundled_program", "decode_etdump",
           "read_etdump", "etdump_to_json", "read_debug_buffer"]


def test_every_command_is_covered() -> None:
    subcommands = next(a for a in _parser()._actions if a.dest == "command").choices
    assert set(subcommands) == {command.split()[0] for command in COMMANDS}


def test_every_reading_function_is_covered() -> None:
    readers = {name for name in pe.__all__ if name.startswith(("decode_", "read_", "analyze_", "infer_"))
               or name.endswith(("_from_json", "_to_json"))}
    assert readers == {name.split("(")[0] for name in READERS}


def _cases() -> List[Tuple[str, str]]:
    cases = []
    for command in COMMANDS:
        if command.startswith(("inspect", "decode")):
            cases += [(command, f"pte:{name}") for name in PTE]
            if command != "decode --options-out":
                cases += [(command, f"ptd:{name}") for name in PTD]
                cases += [(command, f"xnnpack:{name}") for name in XNNPACK]
                cases += [(command, f"bpte:{name}") for name in BPTE]
                cases += [(command, f"etdp:{name}") for name in ETDP]
            if command == "inspect":
                cases += [("inspect --program", f"etdp:{name}") for name in ETDP]
        elif command == "encode-data":
            cases += [(command, f"payload:{name}") for name in PAYLOAD_JSON]
        elif command == "encode-xnnpack":
            cases += [(command, f"graph:{name}") for name in GRAPH_JSON]
        elif command == "encode-bundled":
            cases += [(command, f"bundled:{name}") for name in BUNDLED_JSON]
        elif command == "encode --options":
            cases += [(command, f"options:{name}") for name in OPTIONS_JSON]
        elif command == "demo":
            cases.append((command, "none"))
        else:
            cases += [(command, f"program:{name}") for name in PROGRAM_JSON]
    cases.append(("inspect", "/dev/zero"))
    return cases


def _input(kind_name: str) -> Tuple[bytes, str]:
    kind, _, name = kind_name.partition(":")
    if kind == "pte":
        return PTE[name][0](), "in.pte"
    if kind == "ptd":
        return PTD[name](), "in.ptd"
    if kind == "program":
        return PROGRAM_JSON[name](), "in.json"
    if kind == "options":
        return OPTIONS_JSON[name](), "options.json"
    if kind == "payload":
        return PAYLOAD_JSON[name](), "in.json"
    if kind == "xnnpack":
        return XNNPACK[name](), "in.bin"
    if kind == "graph":
        return GRAPH_JSON[name](), "in.json"
    if kind == "bpte":
        return BPTE[name](), "in.bpte"
    if kind == "etdp":
        return ETDP[name](), "in.etdp"
    if kind == "bundled":
        return BUNDLED_JSON[name](), "in.json"
    return b"", ""


@pytest.mark.parametrize("command,source", _cases())
def test_command_is_bounded(tmp_path: Path, command: str, source: str) -> None:
    if source == "/dev/zero":
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero")
        run = run_cli(["inspect", "/dev/zero"], tmp_path, limit_memory=1 << 30)
        assert run.returncode == 2 and not run.timed_out, run
        return
    data, name = _input(source)
    if name:
        (tmp_path / name).write_bytes(data)
    factor = OUTPUT_FACTOR
    words = command.split()
    if command == "inspect --program":
        (tmp_path / "p.pte").write_bytes(_conv())
        args, factor = ["inspect", name, "--program", "p.pte"], INSPECT_FACTOR
    elif words[0] == "inspect":
        args, factor = [*words, name], INSPECT_FACTOR
    elif words[0] == "decode":
        args = ["decode", name, "-o", "out.json"] + (["--options-out", "o.json"] if len(words) > 1 else [])
        if source.startswith("pte:"):
            factor = PTE[source[4:]][1]
    elif command == "encode --options":
        (tmp_path / "p.json").write_text(pe.program_to_json(program([plan()])))
        args = ["encode", "p.json", "--options", name, "-o", "out.bin"]
    elif words[0] == "encode":
        args = ["encode", name, "-o", "out.bin", *words[1:]]
    elif words[0] in ("encode-data", "encode-xnnpack", "encode-bundled"):
        args = [words[0], name, "-o", "out.bin"]
    else:
        args = ["demo", "-o", "out.bin"]
    run = run_cli(args, tmp_path)
    assert run.returncode in (0, 2), run
    if run.returncode == 2:
        assert len(run.err.strip().splitlines()) == 1, run
    outputs = [tmp_path / n for n in ("out.json", "o.json", "out.bin")]
    assert_bounded(run, max(len(data), 1), outputs, factor=factor)
    assert run.seconds <= COMMAND_SECONDS, run


def _reader_cases() -> List[Tuple[str, str]]:
    cases = []
    for reader in READERS:
        if reader.startswith(("decode_program", "read_program", "decode_flatbuffer", "infer_options",
                              "program_to_json")):
            cases += [(reader, f"pte:{name}") for name in PTE]
        elif reader.startswith(("analyze_data_file", "decode_data_file", "read_data_file")):
            cases += [(reader, f"ptd:{name}") for name in PTD]
        elif reader == "program_from_json":
            cases += [(reader, f"program:{name}") for name in PROGRAM_JSON]
        elif reader == "options_from_json":
            cases += [(reader, f"options:{name}") for name in OPTIONS_JSON]
        elif reader == "decode_xnnpack_blob":
            cases += [(reader, f"xnnpack:{name}") for name in XNNPACK]
        elif reader in ("decode_bundled_program", "read_bundled_program"):
            cases += [(reader, f"bpte:{name}") for name in BPTE]
        elif reader in ("decode_etdump", "read_etdump", "etdump_to_json", "read_debug_buffer"):
            cases += [(reader, f"etdp:{name}") for name in ETDP]
        else:
            cases += [(reader, f"payload:{name}") for name in PAYLOAD_JSON]
    return cases


def _call(reader: str, data: bytes, path: Path) -> Any:
    copy = {"copy": True} if "copy=True" in reader else {}
    name = reader.split("(")[0]
    if name == "etdump_to_json":
        return pe.etdump_to_json(pe.decode_etdump(data))
    if name in ("read_program", "read_data_file", "read_bundled_program", "read_etdump", "read_debug_buffer"):
        path.write_bytes(data)
        return getattr(pe, name)(path, **copy)
    if name == "infer_options":
        return pe.infer_options(pe.decode_program(data))
    if name == "program_to_json":
        return pe.program_to_json(pe.decode_program(data).program)
    if name == "decode_flatbuffer":
        return pe.decode_flatbuffer(data)
    return getattr(pe, name)(data)


@pytest.mark.parametrize("reader,source", _reader_cases())
def test_reading_function_is_bounded(tmp_path: Path, reader: str, source: str) -> None:
    data, _name = _input(source)
    try:
        result, seconds, peak = traced(_call, reader, data, tmp_path / "file")
    except pe.PteEncoderError:
        return  # refused: a DecodeError (reading) or an EncodeError (JSON), never a crash
    assert peak <= TRACED_SLACK + TRACED_FACTOR * len(data), f"peak {peak / MiB:.0f} MiB from {len(data):,} bytes"
    assert seconds <= COMMAND_SECONDS
    if isinstance(result, str):
        factor = PTE[source[4:]][1] if source.startswith("pte:") else OUTPUT_FACTOR
        assert len(result) <= factor * len(data) + OUTPUT_SLACK, f"{len(result):,} characters"
