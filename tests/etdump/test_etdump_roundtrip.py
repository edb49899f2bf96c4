"""Generated ETDumps through our own encoder, in both layouts, size-prefixed
and not: they decode back to what was encoded; flatc writes the same bytes
(flatc's layout) and the flatbuffers runtime's Builder too (its layout); and
flatc reads our bytes, the same way (``--size-prefixed`` or not), into the
same tree."""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List

import flatbuffers
from hypothesis import HealthCheck, given, settings, strategies as st

import pte_encoder as pe
import pte_encoder.etdump as m
from helpers import FLATC, ROOT
from pte_encoder.schemas.etdump.codec import ETDUMP

SCHEMA = ETDUMP.schema
FBS = ROOT / "schema" / "etdump.fbs"
_TMP = Path(tempfile.mkdtemp(prefix="pte-encoder-etdump-"))

i32 = st.integers(-2**31, 2**31 - 1)
i64 = st.integers(-2**63, 2**63 - 1)
u64 = st.integers(0, 2**64 - 1)
text = st.text(max_size=12)


def opt(strategy: Any) -> Any:
    return st.none() | strategy


def enum_or_int(enum: Any) -> Any:
    return st.sampled_from(list(enum)) | st.integers(-128, 127)


longs = st.lists(i64, max_size=4)
tensors = st.builds(m.Tensor, scalar_type=enum_or_int(m.ScalarType), sizes=opt(longs),
                    strides=opt(longs), offset=i64)
bools = st.builds(m.Bool, bool_val=st.booleans())
values = st.builds(
    m.Value, val=enum_or_int(m.ValueType), tensor=opt(tensors),
    tensor_list=opt(st.builds(m.TensorList, tensors=opt(st.lists(tensors, max_size=3)))),
    int_value=opt(st.builds(m.Int, int_val=i64)),
    # NaN as float("nan"): flatc writes its canonical NaN whatever the bits (see the README)
    float_value=opt(st.builds(m.Float, float_val=st.floats(width=32, allow_nan=False) | st.just(math.nan))),
    double_value=opt(st.builds(m.Double, double_val=st.floats(allow_nan=False) | st.just(math.nan))),
    bool_value=opt(bools), output=opt(bools))
profile_events = st.builds(
    m.ProfileEvent, name=opt(text), chain_index=i32, instruction_id=i32, delegate_debug_id_int=i32,
    delegate_debug_id_str=opt(text), delegate_debug_metadata=opt(st.binary(max_size=6)),
    start_time=u64, end_time=u64)
debug_events = st.builds(
    m.DebugEvent, chain_index=u64, instruction_id=i32, debug_entry=opt(values),
    delegate_debug_id_int=i32, delegate_debug_id_str=opt(text), name=opt(text))
allocation_events = st.builds(m.AllocationEvent, allocator_id=i32, allocation_size=u64)
events = st.one_of(
    st.builds(m.Event, profile_event=profile_events),
    st.builds(m.Event, debug_event=debug_events),
    st.builds(m.Event, allocation_event=allocation_events),
    st.builds(m.Event, profile_event=opt(profile_events), allocation_event=opt(allocation_events),
              debug_event=opt(debug_events)))
run_data = st.builds(m.RunData, name=opt(text), bundled_input_index=i32,
                     allocators=opt(st.lists(st.builds(m.Allocator, name=opt(text)), max_size=3)),
                     events=opt(st.lists(events, max_size=6)))
etdumps = st.builds(m.ETDump, version=st.integers(0, 2**32 - 1),
                    run_data=opt(st.lists(run_data, max_size=3)))
layouts = st.sampled_from(["flatc", "flatbuffers"])

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def same(a: Any, b: Any) -> bool:
    """Model equality, NaN equal to NaN (and -0.0 to 0.0, a default left out)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (bytes, bytearray, memoryview)) or isinstance(b, (bytes, bytearray, memoryview)):
        return a is not None and b is not None and bytes(a) == bytes(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if hasattr(a, "__slots__") and type(a) is type(b):
        return all(same(getattr(a, s), getattr(b, s)) for s in type(a).__slots__)
    return bool(a == b and type(a) is type(b) or (isinstance(a, int) and isinstance(b, int) and a == b))


# -- flatc, writing and reading ---------------------------------------------------

def flatc_binary(obj: Any, size_prefixed: bool) -> bytes:
    with tempfile.TemporaryDirectory(dir=_TMP) as tmp:
        source = Path(tmp) / "run.json"
        source.write_text(ETDUMP.to_json(obj), encoding="utf-8")
        prefixed = ["--size-prefixed"] if size_prefixed else []
        subprocess.run([FLATC, "--binary", *prefixed, "-o", tmp, str(FBS), str(source)],
                       check=True, capture_output=True)
        return (Path(tmp) / "run.etdp").read_bytes()


def _quoted_specials(text: str) -> str:
    """flatc's JSON with its bare nan/inf tokens (outside strings) quoted."""
    out: List[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
            continue
        for token in ("-nan", "+nan", "nan", "-inf", "+inf", "inf"):
            if text.startswith(token, i):
                out.append('"' + token.lstrip("+").replace("-nan", "nan") + '"')
                i += len(token)
                break
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _enums_as_numbers(data: Any, table: str) -> Any:
    """flatc writes enum values by name; the JSON form's reader takes numbers."""
    for f in SCHEMA.tables[table]:
        value = data.get(f.name)
        if value is None:
            continue
        if f.kind == "SCALAR" and f.enum and isinstance(value, str):
            data[f.name] = int(getattr(m, f.enum)[value])
        elif f.kind == "TABLE":
            _enums_as_numbers(value, str(f.elem))
        elif f.kind == "TABLE_VECTOR":
            for item in value:
                _enums_as_numbers(item, str(f.elem))
    return data


def flatc_reads(data: bytes, size_prefixed: bool) -> Any:
    """What flatc reads in ``data``, as our model."""
    with tempfile.TemporaryDirectory(dir=_TMP) as tmp:
        binary = Path(tmp) / "run.etdp"
        binary.write_bytes(data)
        prefixed = ["--size-prefixed"] if size_prefixed else []
        subprocess.run([FLATC, "--json", "--strict-json", *prefixed, "-o", tmp, str(FBS), "--",
                        str(binary)], check=True, capture_output=True)
        parsed = json.loads(_quoted_specials((Path(tmp) / "run.json").read_text(encoding="utf-8")))
    return ETDUMP.from_json(_enums_as_numbers(parsed, "ETDump"))


def as_flatc_prints(dump: Any) -> Any:
    """``dump`` (changed in place) with its floats as flatc's JSON prints them:
    6 digits after the point for a float, 12 for a double (so 1e-160 is 0.0;
    ExecuTorch's reader, which goes through that JSON, rounds them too)."""
    for run in dump.run_data or []:
        for event in run.events or []:
            value = event.debug_event.debug_entry if event.debug_event is not None else None
            if value is not None and value.float_value is not None and math.isfinite(value.float_value.float_val):
                value.float_value.float_val = float(f"{value.float_value.float_val:.6f}")
            if value is not None and value.double_value is not None and math.isfinite(value.double_value.double_val):
                value.double_value.double_val = float(f"{value.double_value.double_val:.12f}")
    return dump


# -- the flatbuffers runtime's Builder (object API) ---------------------------------

_API: Dict[str, Any] = {}


def _module_names(prefix: str) -> Iterator[str]:
    return iter([n for n in sys.modules if n == prefix or n.startswith(prefix + ".")])


def api(table: str) -> Any:
    """The object-API class flatc generates for ``table``; its package shares
    its name (the namespace) with the reference reader's, so it is imported
    aside and the reference's modules given back."""
    if not _API:
        out = _TMP / "object_api"
        subprocess.run([FLATC, "--python", "--gen-object-api", "-o", str(out), str(FBS)],
                       check=True, capture_output=True)
        saved = {n: sys.modules.pop(n) for n in list(_module_names("etdump"))}
        sys.path.insert(0, str(out))
        try:
            for t in SCHEMA.tables:
                _API[t] = getattr(importlib.import_module(f"etdump.{t}"), t + "T")
        finally:
            sys.path.remove(str(out))
            for n in list(_module_names("etdump")):
                del sys.modules[n]
            sys.modules.update(saved)
    return _API[table]


def to_api(table: str, obj: Any) -> Any:
    out = api(table)()
    for f in SCHEMA.tables[table]:
        v = getattr(obj, f.name)
        head, *rest = f.name.split("_")
        name = head + "".join(p.title() for p in rest)
        if v is not None and f.kind == "TABLE":
            v = to_api(str(f.elem), v)
        elif v is not None and f.kind == "TABLE_VECTOR":
            v = [to_api(str(f.elem), x) for x in v]
        elif v is not None and f.kind == "VECTOR":
            v = list(v)
        elif f.kind == "SCALAR" and isinstance(v, int) and not isinstance(v, bool):
            v = int(v)
        setattr(out, name, v)
    return out


def builder_bytes(obj: Any, size_prefixed: bool) -> bytes:
    b = flatbuffers.Builder(0)
    root = to_api("ETDump", obj).Pack(b)
    (b.FinishSizePrefixed if size_prefixed else b.Finish)(root, file_identifier=b"ED00")
    return bytes(b.Output())


# -- the properties -------------------------------------------------------------------

@SETTINGS
@given(etdumps, layouts, st.booleans())
def test_round_trip_and_flatc_reads_the_same(obj: Any, layout: str, size_prefixed: bool) -> None:
    data = ETDUMP.encode(obj, layout=layout, size_prefixed=size_prefixed)
    assert m.is_size_prefixed(data) == size_prefixed
    ours = pe.decode_etdump(data)
    assert same(ours, obj)
    assert same(flatc_reads(data, size_prefixed), as_flatc_prints(pe.decode_etdump(data)))


def without_negative_zeros(dump: Any) -> Any:
    """``dump`` (changed in place) with -0.0 floats made 0.0: the flatc layout
    keeps a -0.0, which flatc drops (see the README's two layouts)."""
    for run in dump.run_data or []:
        for event in run.events or []:
            value = event.debug_event.debug_entry if event.debug_event is not None else None
            for holder, name in ((value and value.float_value, "float_val"),
                                 (value and value.double_value, "double_val")):
                if holder is not None and getattr(holder, name) == 0:
                    setattr(holder, name, 0.0)
    return dump


@SETTINGS
@given(etdumps, st.booleans())
def test_flatc_layout_is_flatcs_bytes(obj: Any, size_prefixed: bool) -> None:
    obj = without_negative_zeros(obj)
    assert ETDUMP.encode(obj, size_prefixed=size_prefixed) == flatc_binary(obj, size_prefixed)


@SETTINGS
@given(etdumps, st.booleans())
def test_flatbuffers_layout_is_the_builders_bytes(obj: Any, size_prefixed: bool) -> None:
    data = ETDUMP.encode(obj, layout="flatbuffers", size_prefixed=size_prefixed)
    assert data == builder_bytes(obj, size_prefixed)


@SETTINGS
@given(etdumps, layouts)
def test_a_prefix_that_lies_is_refused(obj: Any, layout: str) -> None:
    data = ETDUMP.encode(obj, layout=layout, size_prefixed=True)
    for bad in (data + b"\0" * 4, data[:-4], (len(data) - 3).to_bytes(4, "little") + data[4:]):
        try:
            pe.decode_etdump(bad)
        except pe.DecodeError:
            continue
        raise AssertionError("decoded")
