"""An independent mirror of ExecuTorch 1.5.1's bundled program schema classes
(``executorch.devtools.bundled_program.schema.bundled_program_schema``,
imported there as ``bp_schema``), for tests that must not depend on ExecuTorch.

Same class names, attribute names, field order and annotations as
ExecuTorch's dataclasses. Two details matter and are kept on purpose:

- No ``from __future__ import annotations``: ExecuTorch's module has none,
  so its field types are real types except ``Value.val``, which it writes
  as the string ``"ValueUnion"``. Its JSON encoder adds ``<field>_type``
  exactly for fields whose annotation is a string naming a Union, and its
  JSON decoder calls ``T(value)`` on the real types: with postponed
  annotations both would behave differently (which is why these classes do
  not live in tests/executorch_mirror.py, which postpones its annotations).
- ``ScalarType`` is ExecuTorch's ``exir.scalar_type.ScalarType``, not the
  schema's enum: it has COMPLEX32/64/128 (8, 9, 10), which the schema lacks,
  and spells QUINT4x2 and QUINT2x4 with a lower-case x (the schema:
  QUINT4X2, QUINT2X4). ExecuTorch's reader looks scalar types up by the name
  flatc prints, so these differences decide what it can read back.

Also here: a loader for the corpus's ``bundled.json`` (scalar types as
integers, as ExecuTorch's JSON encoder writes them; its decoder, which
expects names, cannot read it). ExecuTorch's writers and reader themselves
are rebuilt in benchmarks/executorch_paths.py.
"""

import enum
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Union


class ScalarType(enum.IntEnum):
    # executorch/exir/scalar_type.py, as of 1.5.1
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
    data: bytes
    dim_order: List[bytes]  # sic: ExecuTorch's annotation; the values are ints


@dataclass
class Int:
    int_val: int


@dataclass
class Bool:
    bool_val: bool


@dataclass
class Double:
    double_val: float


# Python order differs from the schema's union (Tensor, Int, Bool, Double);
# nothing depends on it: members are matched by class name.
ValueUnion = Union[Tensor, Int, Double, Bool]


@dataclass
class Value:
    val: "ValueUnion"


@dataclass
class BundledMethodTestCase:
    inputs: List[Value]
    expected_outputs: List[Value]


@dataclass
class BundledMethodTestSuite:
    method_name: str
    test_cases: List[BundledMethodTestCase]


@dataclass
class BundledProgram:
    version: int
    method_test_suites: List[BundledMethodTestSuite]
    program: bytes


# --- the corpus's bundled.json


def _value(obj: Dict[str, Any]) -> Value:
    kind, val = obj["val_type"], obj["val"]
    member: Any
    if kind == "Tensor":
        member = Tensor(ScalarType(val["scalar_type"]), list(val["sizes"]), bytes(val["data"]),
                        list(val["dim_order"]))
    elif kind == "Int":
        member = Int(val["int_val"])
    elif kind == "Bool":
        member = Bool(val["bool_val"])
    elif kind == "Double":
        member = Double(val["double_val"])
    else:
        raise ValueError(f"unknown val_type {kind!r}")
    return Value(member)


def bundled_from_json(text: str) -> BundledProgram:
    """The BundledProgram a corpus ``bundled.json`` describes (the form
    ``json.dumps(bp, cls=DataclassEncoder)`` writes, with any indentation)."""
    d = json.loads(text)
    return BundledProgram(
        version=d["version"],
        method_test_suites=[
            BundledMethodTestSuite(
                method_name=s["method_name"],
                test_cases=[BundledMethodTestCase([_value(v) for v in c["inputs"]],
                                                  [_value(v) for v in c["expected_outputs"]])
                            for c in s["test_cases"]])
            for s in d["method_test_suites"]],
        program=bytes(d["program"]))
