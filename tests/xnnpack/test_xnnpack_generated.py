"""Generated XNNPACK graphs against ExecuTorch's writer rebuilt (its
dataclass JSON, then flatc --binary; benchmarks/executorch_paths.py): every
XNodeUnion member, both value kinds and every quantization kind, floats
where flatc's float32 rounding matters; decoding gives the bytes back; and
corrupted blobs decode or raise DecodeError, never anything else."""

from __future__ import annotations

import random
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xnnpack_strategies as xs
from helpers import _TMP, ROOT
from pte_encoder import DecodeError, EncodeError
from pte_encoder import xnnpack as xnn
from pte_encoder.views.xnnpack import format_xnnpack, summarize_xnnpack

sys.path.insert(0, str(ROOT / "benchmarks"))
from executorch_paths import XnnpackPath  # noqa: E402

sys.path.remove(str(ROOT / "benchmarks"))

EXECUTORCH = XnnpackPath(_TMP)
BLOB = (ROOT / "tests" / "data" / "corpus-xnnpack" / "xnn_mlp" / "blob0.bin").read_bytes()


def same_as_executorch(graph: Any, constant_data: bytes = b"") -> bytes:
    expected = EXECUTORCH.serialize(graph, constant_data)
    assert xnn.encode_xnnpack_blob(graph, constant_data) == expected
    back = xnn.decode_xnnpack_blob(expected)
    assert xnn.encode_xnnpack_blob(back.graph, back.constant_data) == expected
    assert xnn.encode_xnnpack_blob(xnn.graph_from_json(xnn.graph_to_json(back.graph)), constant_data) == expected
    return expected


@settings(max_examples=100, deadline=None)
@given(xs.graphs(), st.binary(max_size=40))
def test_generated_graphs_are_written_as_executorch_writes_them(graph: Any, constant_data: bytes) -> None:
    same_as_executorch(graph, constant_data)


@pytest.mark.parametrize("member", xs.MEMBERS, ids=lambda m: m.__name__)
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_every_node_kind(member: type, data: st.DataObject) -> None:
    graph = data.draw(xs.graphs(member=member))
    blob = xnn.decode_xnnpack_blob(same_as_executorch(graph))
    assert member.__name__ in {type(n.xnode_union).__name__ for n in blob.graph.xnodes or []}


@pytest.mark.parametrize("quant", xs.QUANTS, ids=lambda q: q.__name__)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_every_quantization_kind(quant: type, data: st.DataObject) -> None:
    same_as_executorch(data.draw(xs.graphs(quant=quant)))


def test_the_strategies_reach_every_member_and_kind() -> None:
    """The member and quantization lists are the schema's (ExecuTorch's
    order, the schema's names), so the tests above reach each of them."""
    assert sorted(m.__name__ for m in xs.MEMBERS) == sorted(xs.SCHEMA.unions["XNodeUnion"])
    assert sorted(q.__name__ for q in xs.QUANTS) == sorted(xs.SCHEMA.unions["XNNQuantParams"])
    assert set(xs.SCHEMA.unions["XValueUnion"]) == {"XNNTensorValue", "XNNQuantizedTensorValue"}


def _decoded_or_refused(data: bytes) -> None:
    try:
        blob = xnn.decode_xnnpack_blob(data)
    except DecodeError:
        return
    # what decodes can be summarized, shown, encoded again and read back
    format_xnnpack(summarize_xnnpack(blob))
    try:
        again = xnn.encode_xnnpack_blob(blob.graph, blob.constant_data)
    except EncodeError:  # what no writer writes (a bool in a float field, say) may be refused
        return
    back = xnn.decode_xnnpack_blob(again)  # (compared as bytes: a NaN is not equal to itself)
    assert xnn.encode_xnnpack_blob(back.graph, back.constant_data) == again


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_corrupted_blobs_decode_or_raise_decode_error(data: st.DataObject) -> None:
    blob = bytearray(BLOB if data.draw(st.booleans()) else
                     xnn.encode_xnnpack_blob(data.draw(xs.graphs()), data.draw(st.binary(max_size=20))))
    for _ in range(data.draw(st.integers(1, 6))):
        kind = data.draw(st.sampled_from(["flip", "set", "cut", "insert"]))
        at = data.draw(st.integers(0, max(len(blob) - 1, 0)))
        if kind == "flip" and blob:
            blob[at] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "set" and blob:
            blob[at] = data.draw(st.sampled_from([0, 0xFF, 0x7F, 0x80, 1]))
        elif kind == "cut":
            del blob[at:]
        else:
            blob[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    _decoded_or_refused(bytes(blob))


def test_every_single_byte_change_of_the_corpus_blob() -> None:
    """Each byte of the corpus blob set to three values, and every cut."""
    rng = random.Random(21)
    for at in range(len(BLOB)):
        for value in (0, 0xFF, rng.randrange(256)):
            _decoded_or_refused(BLOB[:at] + bytes([value]) + BLOB[at + 1:])
        _decoded_or_refused(BLOB[:at])
