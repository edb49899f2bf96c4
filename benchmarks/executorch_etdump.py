"""ExecuTorch 1.5.1's ETDump reader, ``deserialize_from_etdump_flatcc``
(``devtools/etdump/serialize.py``), rebuilt for comparison (tests and
benchmarks): the schema files and the bytes written to a temporary folder,
``flatc --json --defaults-json --strict-json [--size-prefixed]``, the JSON
parsed, then converted to dataclasses shaped as ``devtools/etdump/schema_flatcc.py``'s
by a conversion that takes, field by field, the steps of ExecuTorch's
``_json_to_dataclass`` (``exir/_serialize/_dataclass.py``): an Optional field
with ``get``, a required one with ``[]`` (a TypeError when missing), then a
nested dataclass, a list, an enum by name, or the type called on the value.

Needs the test extra (flatc); pte_encoder never uses it. No postponed
annotations here: ExecuTorch's dataclasses hold types, not strings.
"""

import dataclasses
import enum
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Union, get_args, get_origin, get_type_hints

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from find_flatc import flatc  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# ExecuTorch's package ships the schema as etdump_schema_flatcc.fbs, including scalar_type.fbs
SCHEMA_NAME = "etdump_schema_flatcc"


class ScalarType(enum.IntEnum):
    """exir's ScalarType (``exir/scalar_type.py``), with its spelling."""

    BYTE = 0
    CHAR = 1
    SHORT = 2
    INT = 3
    LONG = 4
    HALF = 5
    FLOAT = 6
    DOUBLE = 7
    COMPLEX32 = 8
    COMPLEX64 = 9
    COMPLEX128 = 10
    BOOL = 11
    QINT8 = 12
    QUINT8 = 13
    QINT32 = 14
    BFLOAT16 = 15
    QUINT4x2 = 16
    QUINT2x4 = 17
    BITS16 = 22
    FLOAT8E5M2 = 23
    FLOAT8E4M3FN = 24
    FLOAT8E5M2FNUZ = 25
    FLOAT8E4M3FNUZ = 26
    UINT16 = 27
    UINT32 = 28
    UINT64 = 29


@dataclass
class Tensor:
    scalar_type: ScalarType
    sizes: List[int]
    strides: List[int]
    offset: Optional[int]


@dataclass
class TensorList:
    tensors: List[Tensor]


@dataclass
class Null:
    pass


@dataclass
class Int:
    int_val: int


@dataclass
class Bool:
    bool_val: bool


@dataclass
class Double:
    double_val: float


@dataclass
class Float:
    float_val: float


@dataclass
class String:
    string_val: str


@dataclass
class Value:
    val: str
    tensor: Optional[Tensor]
    tensor_list: Optional[TensorList]
    int_value: Optional[Int]
    float_value: Optional[Float]
    double_value: Optional[Double]
    bool_value: Optional[Bool]
    output: Optional[Bool]


@dataclass
class DebugEvent:
    name: Optional[str]
    chain_index: int
    instruction_id: int
    delegate_debug_id_int: Optional[int]
    delegate_debug_id_str: Optional[str]
    debug_entry: Value


@dataclass
class ProfileEvent:
    name: Optional[str]
    chain_index: int
    instruction_id: int
    delegate_debug_id_int: Optional[int]
    delegate_debug_id_str: Optional[str]
    delegate_debug_metadata: Optional[bytes]
    start_time: int
    end_time: int


@dataclass
class AllocationEvent:
    allocator_id: int
    allocation_size: int


@dataclass
class Allocator:
    name: str


@dataclass
class Event:
    profile_event: Optional[ProfileEvent]
    allocation_event: Optional[AllocationEvent]
    debug_event: Optional[DebugEvent]


@dataclass
class RunData:
    name: str
    bundled_input_index: Optional[int]
    allocators: Optional[List[Allocator]]
    events: Optional[List[Event]]


@dataclass
class ETDumpFlatCC:
    version: int
    run_data: List[RunData]


def _optional(hint: Any) -> bool:
    return get_origin(hint) is Union and len(get_args(hint)) > 0 and isinstance(None, get_args(hint)[-1])


def json_to_dataclass(data: Any, cls: Any) -> Any:
    """ExecuTorch's ``_json_to_dataclass``, step for step."""
    if not dataclasses.is_dataclass(cls) or dataclasses.is_dataclass(data):
        return data
    values = {}
    for field in dataclasses.fields(cls):
        key, hint = field.name, field.type
        if _optional(hint):
            hint = get_args(hint)[0]
            value = data.get(key, None)
        elif isinstance(hint, str) and get_origin(get_type_hints(cls)[key]) is Union:
            raise NotImplementedError("no strict unions in the ETDump dataclasses")
        else:
            try:
                value = data[key]
            except KeyError:
                raise TypeError(f"Invalid Buffer. Received no value for field: {key}, but "
                                f"{key} : {hint} is not an Optional type.") from None
        if value is None:
            values[key] = None
            continue
        if dataclasses.is_dataclass(hint):
            values[key] = json_to_dataclass(value, hint)
            continue
        if get_origin(hint) is list:
            item = get_args(hint)[0]
            values[key] = [json_to_dataclass(e, item) for e in value]
            continue
        if get_origin(hint) is Union:
            values[key] = [x for x in get_args(get_type_hints(cls)[key]) if x == type(value)][0](value)
            continue
        values[key] = hint[value] if isinstance(hint, enum.EnumMeta) else hint(value)
    return cls(**values)


def deserialize_from_etdump_flatcc(data: bytes, size_prefixed: bool = True) -> ETDumpFlatCC:
    """What ExecuTorch's reader returns for ``data``."""
    with tempfile.TemporaryDirectory() as tmp:
        schema = Path(tmp) / f"{SCHEMA_NAME}.fbs"
        schema.write_bytes((ROOT / "schema" / "etdump.fbs").read_bytes())
        (Path(tmp) / "scalar_type.fbs").write_bytes((ROOT / "schema" / "scalar_type.fbs").read_bytes())
        binary = Path(tmp) / "schema.bin"
        binary.write_bytes(data)
        args = [flatc(), "--json", "--defaults-json", "--strict-json", "-o", tmp, str(schema), "--",
                str(binary)]
        if size_prefixed:
            args.insert(1, "--size-prefixed")
        subprocess.run(args, check=True, capture_output=True)
        text = (Path(tmp) / "schema.json").read_text()
    result: ETDumpFlatCC = json_to_dataclass(json.loads(text), ETDumpFlatCC)
    return result


def json_form(obj: Any) -> Any:
    """The dataclasses as JSON values: fields in order, bytes as lists of
    ints, enums as their JSON (ScalarType: its number)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: json_form(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list):
        return [json_form(x) for x in obj]
    if isinstance(obj, bytes):
        return list(obj)
    if isinstance(obj, enum.IntEnum):
        return int(obj)
    return obj


def runtime_like_etdump(events: int) -> bytes:
    """A size-prefixed ETDump shaped as the runtime's profile of a 50-operator
    method run over and over: per run, an "Execute" block with, per
    instruction, a "native_call_<op>" then an "OPERATOR_CALL" event, and
    "Method::execute"; about ``events`` profile events in all (written by
    pte_encoder's encoder, flatc's layout)."""
    from pte_encoder.etdump import ETDump, Event, ProfileEvent, RunData
    from pte_encoder.schemas.etdump.codec import ETDUMP

    ops = ["addmm.out", "relu.out", "permute_copy.out", "gelu.out", "add.out"]
    per_run = 2 * 50 + 1
    clock = 1_000_000
    runs = [RunData(name="Default", events=[
        Event(profile_event=ProfileEvent(name="Method::init", chain_index=-1, instruction_id=0,
                                         start_time=clock, end_time=clock + 900)),
        Event(profile_event=ProfileEvent(name="Program::load_method", chain_index=-1, instruction_id=0,
                                         start_time=clock - 100, end_time=clock + 1000))])]
    for _ in range(max(1, events // per_run)):
        block = []
        start = clock
        for i in range(50):
            for name in (f"native_call_{ops[i % len(ops)]}", "OPERATOR_CALL"):
                block.append(Event(profile_event=ProfileEvent(
                    name=name, chain_index=0, instruction_id=i, start_time=clock,
                    end_time=clock + 700 + 13 * i)))
            clock += 1000
        block.append(Event(profile_event=ProfileEvent(name="Method::execute", chain_index=-1,
                                                      instruction_id=0, start_time=start, end_time=clock)))
        runs.append(RunData(name="Execute", events=block))
    return ETDUMP.encode(ETDump(run_data=runs), size_prefixed=True)
