"""A bad value in every field of the schema, through every public function.

For each (table, field), a program reaching every table gets a wrong-typed
value, an out-of-range value or a None where one is not allowed, at one
place; every public function must raise EncodeError naming that place, write
nothing, and leave the program as it was.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import pte_encoder as pe
from pte_encoder.schemas.program import model
from pte_encoder.schemas.program.codec import PROGRAM


def build(table: str) -> Any:
    """A valid object of ``table`` with every field set; vectors of tables
    hold one item per member of a union they contain."""
    kwargs: Dict[str, Any] = {}
    for name, kind, _slot, elem, _default, _align, _enum in PROGRAM.schema.tables[table]:
        if kind == "STRING":
            kwargs[name] = "s"
        elif kind == "VECTOR":
            kwargs[name] = b"\x01" if elem == "B" else [True] if elem == "?" else [1]
        elif kind == "TABLE":
            kwargs[name] = build(str(elem))
        elif kind == "UNION":
            kwargs[name] = build(PROGRAM.schema.unions[str(elem)][0])
        elif kind == "TABLE_VECTOR":
            unions = [row for row in PROGRAM.schema.tables[str(elem)] if row[1] == "UNION"]
            if unions:
                members = PROGRAM.schema.unions[str(unions[0][3])]
                items = []
                for member in members:
                    item = build(str(elem))
                    setattr(item, unions[0][0], build(member))
                    items.append(item)
                kwargs[name] = items
            else:
                kwargs[name] = [build(str(elem))]
    return getattr(model, table)(**kwargs)


def full_program() -> pe.Program:
    """Every table and union member, valid for encode_program too: one
    inline delegate, no named data in the program itself."""
    program = build("Program")
    program.execution_plan[0].delegates[0].processed = pe.BackendDelegateDataReference(
        pe.DataLocation.INLINE, 0)
    program.execution_plan[0].values[4].val.extra_tensor_info.location = 0  # a valid enum
    program.segments[0].offset = 0
    for instruction in program.execution_plan[0].chains[0].instructions:
        if isinstance(instruction.instr_args, pe.KernelCall):
            instruction.instr_args.op_index = 0
    return program


def places(obj: Any, table: str, path: str = "") -> Iterator[Tuple[str, Any, str, Tuple[Any, ...]]]:
    """(path, object, table, schema row) of every field, depth first."""
    for row in PROGRAM.schema.tables[table]:
        name, kind, _slot, elem = row[:4]
        where = f"{path}.{name}" if path else name
        yield where, obj, table, row
        value = getattr(obj, name)
        if value is None:
            continue
        if kind == "TABLE":
            yield from places(value, str(elem), where)
        elif kind == "UNION":
            yield from places(value, type(value).__name__, where)
        elif kind == "TABLE_VECTOR":
            for index, item in enumerate(value):
                yield from places(item, str(elem), f"{where}[{index}]")


def bad_values(kind: str, elem: str) -> List[Any]:
    if kind == "SCALAR":
        if elem == "?":
            return [2, None, "true"]
        if elem in "df":
            return ["x", None, 10**400, b"1"] + ([1e300] if elem == "f" else [])
        big = 2 ** (8 * {"b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "q": 8, "Q": 8}[elem])
        return ["1", None, 1.5, 0.0, Decimal(0), big, -big - 1]
    if kind == "STRING":
        return [5, b"s", "\ud800"]
    if kind in ("TABLE", "UNION"):
        return ["x", 5, object()]
    if kind == "TABLE_VECTOR":
        return ["x", [None], [5], {}]
    bad_item = 2 if elem == "?" else 256 if elem == "B" else "x"
    return [5, [None], [bad_item], {}]


def cases() -> Iterator[Any]:
    seen = set()
    for path, _obj, table, row in places(full_program(), "Program"):
        name, kind, _slot, elem = row[:4]
        if (table, name) in seen:
            continue
        seen.add((table, name))
        for value in bad_values(kind, str(elem)):
            yield pytest.param(path, value, id=f"{table}.{name}={value!r:.20}")


def put(program: pe.Program, path: str, value: Any) -> None:
    for where, obj, _table, row in places(program, "Program"):
        if where == path:
            setattr(obj, row[0], value)
            return
    raise AssertionError(path)


def _write(program: pe.Program) -> None:
    out = io.BytesIO()
    try:
        pe.write_program(program, out)
    finally:
        assert out.getvalue() == b"" or not _failing(program)


def _failing(program: pe.Program) -> bool:
    try:
        pe.encode_program(program)
    except pe.EncodeError:
        return True
    return False


FUNCTIONS = {
    "encode_flatbuffer": pe.encode_flatbuffer,
    "encode_program": pe.encode_program,
    "encode_program-inline": lambda p: pe.encode_program(p, extract_delegate_segments=False),
    "write_program": _write,
    "program_to_json": pe.program_to_json,
}


def test_full_program_is_valid() -> None:
    program = full_program()
    tables = {table for _path, _obj, table, _row in places(program, "Program")}
    assert tables | {"Null"} == set(PROGRAM.schema.tables)
    assert isinstance(program.execution_plan[0].values[0].val, pe.Null)
    pe.encode_flatbuffer(program)
    pe.encode_program(program)
    assert pe.program_from_json(pe.program_to_json(program)) == program


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("path, value", cases())
def test_bad_field(path: str, value: Any, function: str) -> None:
    program = full_program()
    put(program, path, value)
    before = repr(program)
    if path.startswith("constant_segment") and function != "encode_flatbuffer" and function != "program_to_json":
        return  # replaced by encode_program, as ExecuTorch replaces it: never read
    try:
        FUNCTIONS[function](program)
    except pe.EncodeError as exc:
        message = str(exc)
        assert exc.path == path or exc.path.startswith(path + "["), (exc.path, message)
        assert message.startswith(exc.path + ": ")
        assert "\n" not in message and len(message) <= 1000
    else:
        # Only None in optional fields is allowed: a None where a scalar is
        # expected is an error too.
        assert value is None and not _is_scalar(path), f"{path}={value!r} accepted"
    assert repr(program) == before


def _is_scalar(path: str) -> bool:
    program = full_program()
    for where, _obj, _table, row in places(program, "Program"):
        if where == path:
            return bool(row[1] == "SCALAR")
    raise AssertionError(path)


@pytest.mark.parametrize("path, value", [
    ("version", True), ("execution_plan[0].values[1].val.int_val", True),
    ("execution_plan[0].values[1].val.int_val", False),
])
def test_python_bools_are_integers_in_the_object_model(path: str, value: bool) -> None:
    """bool is an int subclass; struct and flatbuffers' Builder (ExecuTorch's
    default path) write it as 0 or 1, and so do we. The JSON reader refuses
    true and false in integer fields, as flatc does."""
    as_bool, as_int = full_program(), full_program()
    put(as_bool, path, value)
    put(as_int, path, int(value))
    assert pe.encode_flatbuffer(as_bool) == pe.encode_flatbuffer(as_int)
    assert pe.program_to_json(as_bool) == pe.program_to_json(as_int)
    text = json.loads(pe.program_to_json(as_int))
    assert pe.program_from_json(json.dumps(text)) is not None
