"""Hypothesis strategies for XNNPACK graphs as ExecuTorch builds them: the
mirror dataclasses of tests/executorch_xnnpack_mirror.py, every XNodeUnion
member, both value kinds and every quantization kind, filled field by field
along the schema's records.

Floats are what ExecuTorch's JSON and flatc take: finite doubles (float32
midpoints among them, where flatc's rounding differs from struct's), ints,
values past the float32 range and below it, and infinities as the strings
ExecuTorch uses ("+inf", "-inf", "inf"). A bare float infinity or NaN only
goes in OutputMinMax: inside a union value, which ExecuTorch's JSON writes
before its ``_type`` key, flatc cannot skip the tokens ``Infinity`` and
``NaN`` and fails (so ExecuTorch itself cannot write them there). A scalar
-0.0 is left out: pte_encoder writes it, flatc drops it (a documented
deviation of the flatc layout).
"""

from __future__ import annotations

import math
import struct
import typing
from typing import Any, Callable, List

from hypothesis import strategies as st

import executorch_xnnpack_mirror as et
from pte_encoder.schemas.xnnpack.codec import XNNPACK

SCHEMA = XNNPACK.schema
MEMBERS: List[type] = list(typing.get_args(et.XNodeUnion))
QUANTS: List[type] = [et.PerChannelQuant, et.PerTensorQuant, et.PerTokenDynamicQuant, et.PerChannelGroupQuant]

UINT32 = st.one_of(st.sampled_from([0, 1, 2, 7, 2**32 - 1]), st.integers(0, 2**32 - 1))
INT32 = st.one_of(st.sampled_from([0, 1, -1, -(2**31), 2**31 - 1]), st.integers(-(2**31), 2**31 - 1))
UINT64 = st.one_of(st.sampled_from([0, 1, 2**64 - 1]), st.integers(0, 2**64 - 1))
DATATYPES = st.one_of(st.sampled_from(list(et.XNNDatatype)), st.sampled_from([0, 77, -3, 32767, -32768]))


def _f32(bits: int) -> float:
    return float(struct.unpack("<f", struct.pack("<I", bits))[0])


# a double exactly halfway between two float32s (either sign)
MIDPOINTS = st.builds(lambda b, sign: sign * (_f32(b) + _f32(b + 1)) / 2,
                      st.integers(0, 0x7F7FFFFE), st.sampled_from([1.0, -1.0]))
EDGES = st.sampled_from([1e39, -1e39, 3.4028235677973366e+38, -3.4028235677973366e+38, _f32(0x7F7FFFFF),
                         1e-46, -1e-46, 1e-45, 5e-324, 1.0000000596046448, 0.1, 16777217.0])
FINITE = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: x if x != 0 else 0.0),
    MIDPOINTS, EDGES,
    st.integers(-(2**70), 2**70),  # ExecuTorch passes ints in float fields too (output_min = 0)
    st.integers(0, 0x7F7FFFFF).map(_f32),  # exact float32s, the usual case
)
INFINITY_TEXT = st.sampled_from(["+inf", "-inf", "inf"])
IN_UNION = st.one_of(FINITE, INFINITY_TEXT)
OUTSIDE_UNION = st.one_of(IN_UNION, st.sampled_from([math.inf, -math.inf, math.nan]))
VECTOR_ITEM = st.one_of(IN_UNION, st.just(-0.0))  # items have no default: -0.0 is written by both


def fill(draw: Callable[[Any], Any], cls: type) -> Any:
    """An instance of the mirror class ``cls`` with every field drawn along
    the schema's record of its table (the class's name)."""
    kwargs = {}
    for f in SCHEMA.tables[cls.__name__]:
        if f.kind == "SCALAR":
            strategy = {"I": UINT32, "i": INT32, "f": IN_UNION, "h": DATATYPES}[str(f.elem)]
        elif f.kind == "VECTOR":
            item = {"I": UINT32, "f": VECTOR_ITEM}[str(f.elem)]
            strategy = st.lists(item, max_size=draw(st.sampled_from([0, 3, 20])))
        elif f.kind == "TABLE" and f.elem == "XNNTensorValue":
            kwargs[f.name] = tensor(draw)
            continue
        elif f.kind == "UNION" and f.elem == "XNNQuantParams":
            kwargs[f.name] = fill(draw, draw(st.sampled_from(QUANTS)))
            continue
        else:
            raise AssertionError(f"{cls.__name__}.{f.name}: no strategy for {f.kind}")
        kwargs[f.name] = draw(strategy)
    return cls(**kwargs)


def tensor(draw: Callable[[Any], Any]) -> Any:
    return fill(draw, et.XNNTensorValue)


def node(draw: Callable[[Any], Any], member: type) -> Any:
    minmax = draw(st.one_of(st.none(), st.builds(et.OutputMinMax, OUTSIDE_UNION, OUTSIDE_UNION)))
    return et.XNode(fill(draw, member), draw(UINT32), minmax)


def value(draw: Callable[[Any], Any], quant: Any = None) -> Any:
    if quant is None and draw(st.booleans()):
        return et.XValue(tensor(draw))
    quant = quant or draw(st.sampled_from(QUANTS))
    return et.XValue(et.XNNQuantizedTensorValue(tensor(draw), fill(draw, quant)))


CONSTANTS = st.one_of(
    st.builds(et.ConstantDataOffset, st.just(2**64 - 1), st.integers(0, 2**40),
              st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)),
    st.builds(et.ConstantDataOffset, UINT64, UINT64, st.one_of(st.just(""), st.text(max_size=8))),
)


@st.composite
def graphs(draw: Callable[[Any], Any], member: Any = None, quant: Any = None) -> Any:
    """A whole XNNGraph; with ``member`` (a node class) or ``quant`` (a
    quantization class) given, it holds at least one of it."""
    nodes = [node(draw, draw(st.sampled_from(MEMBERS))) for _ in range(draw(st.integers(0, 6)))]
    if member is not None:
        nodes.insert(draw(st.integers(0, len(nodes))), node(draw, member))
    values = [value(draw) for _ in range(draw(st.integers(0, 5)))]
    if quant is not None:
        values.append(value(draw, quant))
    constants = [et.ConstantDataOffset(0, 0)] + [draw(CONSTANTS) for _ in range(draw(st.integers(0, 4)))]
    return et.XNNGraph(version=draw(st.sampled_from(["0", "", "1.5"]) | st.text(max_size=6)),
                       xnodes=nodes, xvalues=values, num_externs=draw(UINT32),
                       input_ids=draw(st.lists(UINT32, max_size=4)),
                       output_ids=draw(st.lists(UINT32, max_size=4)), constant_data=constants)
