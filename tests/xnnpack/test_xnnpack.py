"""XNNPACK delegate blobs: the corpus blob ExecuTorch wrote, byte for byte
(from ExecuTorch's dataclasses, from its JSON, from our decoding); the
header's layout; reading (zero-copy constant data, bare FlatBuffers, every
header check); bad input named at its place; the JSON form; the commands."""

from __future__ import annotations

import copy
import json
import struct
import sys
from pathlib import Path
from typing import Any, Tuple

import pytest

import executorch_xnnpack_mirror as et
import pte_encoder as pe
from helpers import _TMP, CORPUS, ROOT
from pte_encoder import xnnpack as xnn
from pte_encoder.cli import main
from pte_encoder.schemas.xnnpack import model as xnn_model

sys.path.insert(0, str(ROOT / "benchmarks"))
from executorch_paths import XnnpackPath, xnnpack_blob  # noqa: E402

sys.path.remove(str(ROOT / "benchmarks"))

CASE = ROOT / "tests" / "data" / "corpus-xnnpack" / "xnn_mlp"
BLOB = (CASE / "blob0.bin").read_bytes()
CONSTANT_DATA = (CASE / "constant_data0.bin").read_bytes()
GRAPH_JSON = (CASE / "graph0.json").read_text()
PTE = CORPUS / "xnn_mlp" / "expected.pte"
EXECUTORCH = XnnpackPath(_TMP)


def executorch_graph() -> Any:
    return et.graph_from_json(GRAPH_JSON)


# --- the corpus


def test_the_corpus_blob_from_executorchs_dataclasses() -> None:
    assert xnn.encode_xnnpack_blob(executorch_graph(), CONSTANT_DATA) == BLOB
    assert pe.encode_xnnpack_blob(executorch_graph()) == BLOB  # the package's own face too


def test_the_rebuilt_executorch_writer_writes_the_corpus_blob() -> None:
    assert EXECUTORCH.serialize(executorch_graph(), CONSTANT_DATA) == BLOB


def test_the_corpus_blob_from_its_json_and_back() -> None:
    graph = xnn.graph_from_json(GRAPH_JSON)
    assert xnn.encode_xnnpack_blob(graph) == BLOB
    assert json.loads(xnn.graph_to_json(graph)) == json.loads(GRAPH_JSON)  # 0 == 0.0 once parsed


def test_decode_then_encode_gives_back_the_blob() -> None:
    blob = xnn.decode_xnnpack_blob(BLOB)
    assert blob.header == xnn.XnnpackHeader(30, 32, 1248, 1280, 0)
    assert blob.size == 1280 and len(blob.constant_data) == 0
    assert xnn.encode_xnnpack_blob(blob.graph, blob.constant_data) == BLOB
    assert blob.graph == xnn.graph_from_json(GRAPH_JSON)
    nodes = [node.xnode_union for node in blob.graph.xnodes or []]
    assert [type(n).__name__ for n in nodes] == ["XNNFullyConnected", "XNNFullyConnected", "XNNGelu"]
    assert isinstance(nodes[2], xnn.XNNGelu) and type(nodes[2]).__mro__[1].__name__ == "_XNNNode1x1"
    assert blob.graph.xnodes[0].output_min_max == xnn.OutputMinMax(0.0, float("inf"))


def test_the_blob_is_the_delegate_in_the_pte() -> None:
    pte = pe.decode_program(PTE.read_bytes())
    data = pte.program.backend_delegate_data[0].data
    assert bytes(data) == BLOB  # decode_program leaves the blob as it is
    assert pte.program.execution_plan[0].delegates[0].id == "XnnpackBackend"


def test_members_keep_their_names_and_classes() -> None:
    """Members that share a table are classes of their own: equal only to
    themselves, each with its type id (checked against flatc's bytes)."""
    graph = xnn.XNNGraph(version="0", xnodes=[
        xnn.XNode(xnn.XNNAdd(1, 2, 3, 0), 1), xnn.XNode(xnn.XNNDiv(1, 2, 3, 0), 2),
        xnn.XNode(xnn.XNNConcatenate5(input5_id=9), 3)], xvalues=[], input_ids=[], output_ids=[],
        constant_data=[])
    assert xnn.XNNAdd(1, 2, 3, 0) != xnn.XNNDiv(1, 2, 3, 0)
    data = xnn.encode_xnnpack_blob(graph)
    assert data == xnnpack_blob(EXECUTORCH.flatbuffer(et.XNNGraph(
        "0", [et.XNode(et.XNNAdd(1, 2, 3, 0), 1), et.XNode(et.XNNDiv(1, 2, 3, 0), 2),
              et.XNode(et.XNNConcatenate5(0, 0, 0, 0, 0, 0, 0, 9), 3)], [], 0, [], [], [])))
    assert xnn.decode_xnnpack_blob(data).graph == graph


# --- the header and the blob's layout


@pytest.mark.parametrize("constant_data", [b"", b"x", bytes(range(17)), bytearray(b"abc"),
                                           memoryview(b"0123456789abcdef")])
def test_layout_as_executorch_writes_it(constant_data: Any) -> None:
    graph = executorch_graph()
    data = xnn.encode_xnnpack_blob(graph, constant_data)
    assert data == xnnpack_blob(BLOB[32:32 + 1248], bytes(constant_data))
    zeros, magic, length, fb_offset, fb_size, cd_offset, cd_size = struct.unpack_from("<4s4sHIIIQ", data)
    assert (zeros, magic, length, fb_offset, fb_size) == (bytes(4), b"XH00", 30, 32, 1248)
    assert (cd_offset, cd_size) == (1280, len(constant_data)) and data[30:32] == bytes(2)
    assert data[cd_offset:] == bytes(constant_data)  # not padded after
    back = xnn.decode_xnnpack_blob(data)
    assert bytes(back.constant_data) == bytes(constant_data)


def test_the_flatbuffer_is_padded_to_16() -> None:
    graph = xnn.XNNGraph(version="", xnodes=[])
    data = xnn.encode_xnnpack_blob(graph, b"\x01")
    fb_size, cd_offset = struct.unpack_from("<II", data, 14)
    assert fb_size % 16 and cd_offset == 32 + fb_size + -fb_size % 16
    assert data[32 + fb_size:cd_offset] == bytes(cd_offset - 32 - fb_size)
    assert data == xnnpack_blob(data[32:32 + fb_size], b"\x01")
    assert xnn.decode_xnnpack_blob(data).graph == graph


def test_constant_data_is_a_view_of_the_input() -> None:
    data = bytearray(xnn.encode_xnnpack_blob(executorch_graph(), b"weights!"))
    blob = xnn.decode_xnnpack_blob(data)
    assert blob.constant_data.obj is data and bytes(blob.constant_data) == b"weights!"
    data[-1:] = b"?"
    assert bytes(blob.constant_data) == b"weights?"


def test_a_bare_flatbuffer_is_read_as_the_runtime_reads_it() -> None:
    blob = xnn.decode_xnnpack_blob(BLOB[32:32 + 1248])
    assert blob.header is None and len(blob.constant_data) == 0
    assert blob.graph == xnn.decode_xnnpack_blob(BLOB).graph


def _with(offset: int, fmt: str, value: int, data: bytes = BLOB) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


@pytest.mark.parametrize("data, message", [
    (BLOB[:7], "an XNNPACK blob is at least 8 bytes, got 7"),
    (BLOB[:20], r"header: the blob ends at byte 20, inside the 30-byte header"),
    (_with(8, "<H", 32), r"header.length: expected 30, got 32 \(at byte 8\)"),
    (_with(10, "<I", 8), r"header.flatbuffer_offset: expected 30 \(the header's end\) to 1280"),
    (_with(10, "<I", 1281), r"header.flatbuffer_offset: .* got 1281"),
    (_with(14, "<I", 1249), r"header.flatbuffer_size: expected 8 to 1248 .* got 1249"),
    (_with(14, "<I", 4), r"header.flatbuffer_size: expected 8 to 1248"),
    (_with(18, "<I", 1200), r"header.constant_data_offset: expected 1280 \(the FlatBuffer's end\)"),
    (_with(18, "<I", 1290), r"header.constant_data_offset: .* got 1290"),
    (_with(22, "<Q", 1), r"header.constant_data_size: 1 bytes from 1280 run past the end"),
    (_with(22, "<Q", 2**64 - 1), r"header.constant_data_size"),
    (BLOB[:36] + b"XN00" + BLOB[40:], r"the FlatBuffer is XN00 \(ExecuTorch's older XNNPACK schema\)"),
    (BLOB[:36] + b"ET12" + BLOB[40:], r"expected the file identifier 'XN01', got b'ET12' \(at byte 36\)"),
    (BLOB[32:36] + b"XN00" + BLOB[40:1280], r"XN00 .*not read \(at byte 4\)"),
    (b"\0\0\0\0ABCD" + bytes(40), r"expected XH00 \(a blob's header\) or XN01 \(a bare FlatBuffer\)"),
    (_with(32, "<I", 4000), r"^XNNGraph: .*\(at byte 4032\)$"),  # offsets counted in the blob
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_bad_blob_is_named(data: bytes, message: str) -> None:
    with pytest.raises(pe.DecodeError, match=message):
        xnn.decode_xnnpack_blob(data)


def test_not_bytes_is_refused() -> None:
    with pytest.raises(pe.DecodeError, match="expected a bytes-like object, got str"):
        xnn.decode_xnnpack_blob("blob")  # type: ignore[arg-type]


# --- bad input when encoding


def _bad_graphs() -> Any:
    def graph(change: Any) -> Any:
        g = executorch_graph()
        change(g)
        return g

    def set_(path: str, value: Any) -> Any:
        def change(g: Any) -> None:
            *parents, last = path.split(".")
            obj = g
            for part in parents:
                name, _, index = part.partition("[")
                obj = getattr(obj, name)
                if index:
                    obj = obj[int(index[:-1])]
            setattr(obj, last, value)
        return change

    return [
        (graph(set_("xnodes[1].xnode_union.input1_id", -1)),
         r"^xnodes\[1\]\.xnode_union\.input1_id: expected an integer in \[0, 4294967295\], got -1$"),
        (graph(set_("xvalues[0].xvalue_union.datatype", 40000)),
         r"^xvalues\[0\]\.xvalue_union\.datatype: expected an integer in \[-32768, 32767\], got 40000$"),
        (graph(set_("xnodes[0].output_min_max.output_max", "infinity")),
         r"^xnodes\[0\]\.output_min_max\.output_max: expected a float \(or the string 'inf', '\+inf' or '-inf'\)"),
        (graph(set_("xnodes[0].output_min_max.output_min", True)),
         r"^xnodes\[0\]\.output_min_max\.output_min: expected a float, got True$"),
        (graph(set_("xnodes[2].xnode_union", et.XNNNode1x1(6, 7, 0))),
         r"^xnodes\[2\]\.xnode_union: expected one of XNNAdd, XNNFullyConnected, XNNSoftmax, XNNSigmoid, "
         r"XNNStaticTranspose, XNNClamp, \.\.\. \(47 names\) \(a XNodeUnion\), got XNNNode1x1"),
        (graph(set_("xvalues[3].xvalue_union.dims", [1, "2"])),
         r"^xvalues\[3\]\.xvalue_union\.dims\[1\]: expected an integer, got '2'$"),
        (graph(set_("constant_data[1].named_key", 5)),
         r"^constant_data\[1\]\.named_key: expected a str, got 5$"),
        (graph(set_("version", b"0")), r"^version: expected a str, got b'0'$"),
        (graph(set_("num_externs", 2**32)),
         r"^num_externs: expected an integer in \[0, 4294967295\]"),
        ("graph", r"^xnnpack: expected a XNNGraph object, got 'graph'$"),
    ]


@pytest.mark.parametrize("graph, message", _bad_graphs())
def test_bad_input_is_named_at_its_place(graph: Any, message: str) -> None:
    before = copy.deepcopy(graph)
    with pytest.raises(pe.EncodeError, match=message):
        xnn.encode_xnnpack_blob(graph)
    assert repr(graph) == repr(before)  # read, never changed


def test_a_deprecated_field_set_is_refused() -> None:
    """ExecuTorch's PerChannelGroupQuant still has scale_bf16 (deprecated in
    the schema; ExecuTorch leaves it None); flatc would write a list there,
    which pte_encoder does not: it refuses it at its place."""
    quant = et.PerChannelGroupQuant([0.5], 0, 32, None, 1, 1)
    value = et.XValue(et.XNNQuantizedTensorValue(et.XNNTensorValue(et.XNNDatatype.xnn_datatype_qbint4, 0, [],
                                                                   0, 0, 0, 0), quant))
    graph = et.XNNGraph("0", [], [value], 0, [], [], [])
    assert xnn.encode_xnnpack_blob(graph) == EXECUTORCH.serialize(graph)
    quant.scale_bf16 = [1, 2]
    with pytest.raises(pe.EncodeError, match=r"^xvalues\[0\]\.xvalue_union\.quant_params\.scale_bf16: "
                                             r"expected None \(the field is deprecated: never written\)"):
        xnn.encode_xnnpack_blob(graph)
    with pytest.raises(pe.EncodeError, match=r"constant_buffer: expected None"):
        xnn.encode_xnnpack_blob(type("XNNGraph", (), {"constant_buffer": [], **vars(graph)})())


@pytest.mark.parametrize("constant_data, message", [
    ("abc", r"^constant_data: expected a bytes-like object, got 'abc'$"),
    ([1, 2], r"^constant_data: expected a bytes-like object, got \[1, 2\]$"),
    (None, r"^constant_data: expected a bytes-like object, got None$"),
])
def test_bad_constant_data_is_named(constant_data: Any, message: str) -> None:
    with pytest.raises(pe.EncodeError, match=message):
        xnn.encode_xnnpack_blob(executorch_graph(), constant_data)


def test_float32_as_flatc_rounds_it() -> None:
    """float fields hold the value rounded once from its JSON text, as flatc
    (strtof) does: doubles halfway between two float32s, past FLT_MAX, below
    the smallest subnormal, and ints, in a vector and in scalars."""
    def f32(bits: int) -> float:
        return float(struct.unpack("<f", struct.pack("<I", bits))[0])
    midpoints = [(f32(b) + f32(b + 1)) / 2 * s for b in range(0x3F800000, 0x3F800000 + 400, 7)
                 for s in (1, -1)]
    midpoints += [(f32(b) + f32(b + 1)) / 2 for b in range(0, 0x7F7FFFFF, 0x7F7FFFFF // 300)]
    edges = [1e39, -1e39, 3.4028235677973366e+38, 1e-46, -1e-46, 5e-324, 2**24 + 1, 2**60 + 1, -(2**70) - 3,
             1.0000000596046448, "+inf", "-inf", "inf"]
    items = midpoints + edges
    scalars = [et.XNode(et.XNNLeakyReLU(x, 0, 1, 0), 0, et.OutputMinMax(x, x)) for x in items[::5] + edges]
    graph = et.XNNGraph("0", scalars, [et.XValue(et.XNNQuantizedTensorValue(
        et.XNNTensorValue(et.XNNDatatype.xnn_datatype_qcint8, 1, [4], 0, 0, 0, 0),
        et.PerChannelQuant(items, 0, 0, 0)))], 0, [], [], [])
    assert xnn.encode_xnnpack_blob(graph) == EXECUTORCH.serialize(graph)


# --- the JSON form


@pytest.mark.parametrize("change, message", [
    (lambda d: d["xnodes"][0].update(xnode_union_type="XNNNode2x1"),
     r"^xnodes\[0\]\.xnode_union_type: expected a member of XNodeUnion, got \"XNNNode2x1\""),
    (lambda d: d["xnodes"][0].update(extra=1), r"^xnodes\[0\]\.extra: not a field of XNode"),
    (lambda d: d["xvalues"][0]["xvalue_union"].update(flags=True),
     r"^xvalues\[0\]\.xvalue_union\.flags: expected an integer, got true"),
    (lambda d: d["xnodes"][0]["output_min_max"].update(output_max="+infinity"),
     r"^xnodes\[0\]\.output_min_max\.output_max: expected a number"),
])
def test_bad_json_is_named(change: Any, message: str) -> None:
    data = json.loads(GRAPH_JSON)
    change(data)
    with pytest.raises(pe.EncodeError, match=message):
        xnn.graph_from_json(json.dumps(data))


def test_json_of_quantized_values_keeps_executorchs_form() -> None:
    """PerChannelGroupQuant carries scale_bf16 as null, as ExecuTorch's
    dataclass JSON does; a value there is refused, as the encoder refuses it."""
    quant = et.PerChannelGroupQuant([0.25, 1e39], 1, 32, None, 3, 2)
    graph = et.XNNGraph("0", [et.XNode(et.XNNClamp(0, 1, 0), 7, et.OutputMinMax(-1, "-inf"))], [
        et.XValue(et.XNNQuantizedTensorValue(et.XNNTensorValue(10, 2, [4, 64], 1, 0, 1, 0), quant))],
        1, [0], [0], [et.ConstantDataOffset(0, 0), et.ConstantDataOffset(0, 8)])
    data = xnn.encode_xnnpack_blob(graph)
    assert data == EXECUTORCH.serialize(graph)
    text = xnn.graph_to_json(xnn.decode_xnnpack_blob(data).graph)
    form = json.loads(text)
    union = form["xvalues"][0]["xvalue_union"]["quant_params"]
    assert list(union) == ["scale", "channel_dim", "group_size", "scale_bf16", "scale_buffer_idx", "num_scales"]
    assert union["scale"] == [0.25, "+inf"] and union["scale_bf16"] is None
    assert form["xnodes"][0]["output_min_max"] == {"output_min": -1.0, "output_max": "-inf"}
    assert xnn.encode_xnnpack_blob(xnn.graph_from_json(text)) == data
    assert EXECUTORCH.serialize(et.graph_from_json(text)) == data  # ExecuTorch's path takes our JSON
    union["scale_bf16"] = [1]
    with pytest.raises(pe.EncodeError, match=r"quant_params\.scale_bf16: expected null \(the field is deprecated"):
        xnn.graph_from_json(json.dumps(form))


# --- the commands


def run(args: list, capsys: pytest.CaptureFixture[str]) -> Tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_decode_then_encode_xnnpack_gives_back_the_blob(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    blob_path = tmp_path / "blob.bin"
    blob_path.write_bytes(xnn.encode_xnnpack_blob(executorch_graph(), b"constant bytes"))
    graph, constants, out = tmp_path / "graph.json", tmp_path / "cd.bin", tmp_path / "out.bin"
    code, stdout, _ = run(["decode", blob_path, "-o", graph, "--constant-data-out", constants], capsys)
    assert code == 0 and "wrote" in stdout and constants.read_bytes() == b"constant bytes"
    assert json.loads(graph.read_text()) == json.loads(GRAPH_JSON)
    code, stdout, _ = run(["encode-xnnpack", graph, "--constant-data", constants, "-o", out], capsys)
    assert code == 0 and stdout == f"wrote {out} ({out.stat().st_size} bytes)\n"
    assert out.read_bytes() == blob_path.read_bytes()
    # without --constant-data-out, a note says what the JSON lacks
    code, stdout, _ = run(["decode", blob_path, "-o", graph], capsys)
    assert code == 0 and "14 bytes of constant data, not in the JSON" in stdout


def test_encode_xnnpack_from_executorchs_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.bin"
    assert run(["encode-xnnpack", CASE / "graph0.json", "-o", out], capsys)[0] == 0
    assert out.read_bytes() == BLOB


def test_encode_xnnpack_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(GRAPH_JSON)
    data["xnodes"][1]["xnode_union"]["input1_id"] = -3
    source, out = tmp_path / "bad.json", tmp_path / "out.bin"
    source.write_text(json.dumps(data))
    code, _, err = run(["encode-xnnpack", source, "-o", out], capsys)
    assert code == 2 and not out.exists()
    assert err == ("pte-encoder: error: xnodes[1].xnode_union.input1_id: expected an integer in "
                   "[0, 4294967295], got -3\n")
    code, _, err = run(["encode-xnnpack", tmp_path / "missing.json", "-o", out], capsys)
    assert code == 2 and err.startswith("pte-encoder: error: cannot read graph")


def test_no_command_writes_over_its_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blob, graph = tmp_path / "blob.bin", tmp_path / "graph.json"
    blob.write_bytes(BLOB)
    graph.write_text(GRAPH_JSON)
    for args, message in [
        (["decode", blob, "-o", blob], f"-o {blob} is the blob too"),
        (["decode", blob, "-o", graph, "--constant-data-out", blob], "--constant-data-out"),
        (["decode", blob, "-o", graph, "--constant-data-out", graph], f"--constant-data-out {graph} is -o too"),
        (["encode-xnnpack", graph, "-o", graph], f"-o {graph} is the graph too"),
        (["encode-xnnpack", graph, "--constant-data", blob, "-o", blob], "is --constant-data too"),
    ]:
        code, _, err = run(args, capsys)
        assert code == 2 and message in err, (args, err)
    assert blob.read_bytes() == BLOB and graph.read_text() == GRAPH_JSON
    out = tmp_path / "new.json"
    code, _, err = run(["decode", blob, "-o", out, "--constant-data-out", tmp_path / "no" / "cd.bin"], capsys)
    assert code == 2 and "cannot write" in err and not out.exists()  # nothing left behind


def test_inspect_a_blob(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["inspect", CASE / "blob0.bin"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].endswith("blob0.bin: 1,280 bytes, XNNPACK delegate blob, graph version '0', FlatBuffer "
                             "1,248 bytes at byte 32, constant data 0 bytes at byte 1,280")
    assert lines[1] == "XNNPACK graph: 3 nodes (XNNFullyConnected 2, XNNGelu 1)"
    code, out, _ = run(["inspect", "--json", CASE / "blob0.bin"], capsys)
    summary = json.loads(out)
    assert summary["node_types"] == {"XNNFullyConnected": 2, "XNNGelu": 1}
    assert [c["bytes"] for c in summary["constants"]["named"]] == [2048, 128, 1024, 32]
    assert "stored_bytes" not in summary["constants"]["named"][0]


def test_inspect_a_pte_decodes_its_xnnpack_delegate(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["inspect", PTE], capsys)
    assert code == 0
    assert ("  delegate XnnpackBackend: 1,280 bytes, segment 1\n"
            "    XNNPACK graph: 3 nodes (XNNFullyConnected 2, XNNGelu 1)\n"
            "    values: 8 (external inputs 1, external outputs 1, internal 2, constants 4; fp32 8), "
            "inputs %0, outputs %7\n"
            "    constants: 4 named, 3,232 bytes (all in this file's named data); none in the blob's "
            "constant data\n") in out
    code, out, _ = run(["inspect", "--json", PTE], capsys)
    delegate = json.loads(out)["methods"][0]["delegates"][0]
    view = delegate["xnnpack"]
    assert [n["type"] for n in view["nodes"]] == ["XNNFullyConnected", "XNNFullyConnected", "XNNGelu"]
    assert [n["debug_handle"] for n in view["nodes"]] == [1, 3, 4]
    assert view["values"] == {"external_inputs": 1, "external_outputs": 1, "internal": 2, "constants": 4}
    named = view["constants"]["named"]
    assert [(c["index"], c["bytes"], c["stored_bytes"]) for c in named] == [
        (1, 2048, 2048), (2, 128, 128), (3, 1024, 1024), (4, 32, 32)]
    keys = {entry["key"] for entry in json.loads(out)["named_data"]}
    assert {c["key"] for c in named} == keys


def _patched_pte(tmp_path: Path, old: bytes, new: bytes, count: int = 1) -> Path:
    data = PTE.read_bytes()
    assert data.count(old) == count
    path = tmp_path / "patched.pte"
    path.write_bytes(data.replace(old, new))
    return path


def test_a_broken_xnnpack_delegate_is_reported_not_raised(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = _patched_pte(tmp_path, b"XN01", b"XX01")
    code, out, _ = run(["inspect", path], capsys)
    assert code == 0
    assert ("    XNNPACK blob that does not decode: XNNGraph: expected the file identifier 'XN01', "
            "got b'XX01' (at byte 36)") in out
    code, out, _ = run(["inspect", "--json", path], capsys)
    assert json.loads(out)["methods"][0]["delegates"][0]["xnnpack"] == {
        "error": "XNNGraph: expected the file identifier 'XN01', got b'XX01' (at byte 36)"}


def test_other_backends_stay_opaque(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _patched_pte(tmp_path, b"XnnpackBackend", b"OtherXBackend!")
    code, out, _ = run(["inspect", "--json", path], capsys)
    delegate = json.loads(out)["methods"][0]["delegates"][0]
    assert code == 0 and delegate == {"id": "OtherXBackend!", "bytes": 1280, "stored": "segment 1",
                                      "compile_specs": []}
    code, out, _ = run(["inspect", path], capsys)
    assert "XNNPACK" not in out and "  delegate OtherXBackend!: 1,280 bytes, segment 1\n" in out


def test_model_classes_are_the_namespaces() -> None:
    assert xnn.XNNGraph is xnn_model.XNNGraph and issubclass(xnn.XNNAdd, xnn_model._XNNNode2x1)
    assert "Buffer" in xnn.__all__ and not any(name.startswith("_") for name in xnn.__all__)
    assert pe.Buffer is not xnn.Buffer  # the program's Buffer stays the package's


def test_the_view_of_constants_in_the_blob_and_elsewhere() -> None:
    """Constants in the blob's own constant data (no named key) and named
    ones the program's named data does not hold (an external .ptd)."""
    from pte_encoder.views.xnnpack import format_xnnpack, summarize_xnnpack
    graph = xnn.decode_xnnpack_blob(BLOB).graph
    graph.constant_data[2] = xnn.ConstantDataOffset(offset=16, size=128)  # no key: in the blob
    blob = xnn.decode_xnnpack_blob(xnn.encode_xnnpack_blob(graph, bytes(144)))
    sizes = {key: 2048 for key in [graph.constant_data[1].named_key]}
    summary = summarize_xnnpack(blob, sizes)
    assert summary["constants"]["in_blob"] == [{"index": 2, "offset": 16, "bytes": 128}]
    assert [c["stored_bytes"] for c in summary["constants"]["named"]] == [2048, None, None]
    lines = format_xnnpack(summary)
    assert lines[2] == ("constants: 3 named, 3,104 bytes (1 in this file's named data, 2 not in this file); "
                        "1 in the blob's constant data, 128 bytes")
    assert lines[4].endswith(", 1,024 bytes, not in this file")
    assert lines[6] == "  2: 128 bytes at 16 of the blob's constant data"
