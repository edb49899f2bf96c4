"""ExecuTorch's JSON form of a Program, read into the model and written back.

The form is the one ExecuTorch hands to ``flatc``: fields in schema order, a
union field ``X`` followed by ``X_type`` naming the member table, enums as
integers, byte vectors as lists of integers, absent fields as ``null`` and
infinite doubles as the strings ``"inf"`` and ``"-inf"``.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, Dict, Union, cast

from . import model
from ._codecs import PROGRAM
from .engine.check import check_scalar
from .engine.json import to_json
from .errors import EncodeError
from .pte import DataEntry, NamedDataOutput

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from .types import EncodeOptions, ProgramLike

__all__ = ["program_from_json", "program_to_json", "options_from_json"]

_SCHEMA = PROGRAM.schema
_ENUMS: Dict[str, Any] = dict(PROGRAM.enum_types)


def _fail(path: str, value: Any, expected: str) -> EncodeError:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) \
        else type(value).__name__
    return EncodeError(f"{path or 'program'}: expected {expected}, got {text[:80]}")


def _scalar(path: str, value: Any, fmt: str, enum: Any) -> Any:
    if fmt in "df" and isinstance(value, str):
        if value in ("inf", "-inf", "nan"):
            return float(value)
        raise _fail(path, value, "a number")
    if fmt in "df" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    check_scalar(path, value, fmt)
    if enum is not None:
        try:
            return enum(value)
        except ValueError:
            return value
    return value


def _table(path: str, data: Any, table: str) -> Any:
    if not isinstance(data, dict):
        raise _fail(path, data, f"an object (a {table})")
    fields = _SCHEMA.tables[table]
    known = {f.name for f in fields}
    known |= {f.name + "_type" for f in _SCHEMA.fields(table, "UNION")}
    for key in data:
        if key not in known:
            raise EncodeError(f"{path + '.' if path else ''}{key}: not a field of {table}")
    kwargs = {}
    for name, kind, _slot, elem, _default, _align, enum_name in fields:
        where = f"{path}.{name}" if path else name
        if name not in data:
            continue
        value = data[name]
        if kind == "SCALAR":
            kwargs[name] = _scalar(where, value, elem or "", _ENUMS.get(enum_name or ""))
        elif value is None:
            kwargs[name] = None
        elif kind == "STRING":
            if not isinstance(value, str):
                raise _fail(where, value, "a string")
            kwargs[name] = value
        elif kind == "TABLE":
            kwargs[name] = _table(where, value, elem or "")
        elif kind == "UNION":
            member = data.get(name + "_type")
            if member not in _SCHEMA.unions[elem or ""]:
                raise _fail(where + "_type", member, f"a member of {elem}")
            kwargs[name] = _table(where, value, member)
        elif kind == "TABLE_VECTOR":
            if not isinstance(value, list):
                raise _fail(where, value, "a list")
            kwargs[name] = [_table(f"{where}[{i}]", item, elem or "") for i, item in enumerate(value)]
        else:
            if not isinstance(value, list):
                raise _fail(where, value, "a list")
            enum = _ENUMS.get(enum_name or "")
            items = [_scalar(f"{where}[{i}]", item, elem or "", enum) for i, item in enumerate(value)]
            kwargs[name] = bytes(items) if elem == "B" and enum is None else items
    return PROGRAM.models[table](**kwargs)


def program_from_json(source: Union[str, bytes, Dict[str, Any]]) -> model.Program:
    """Read a Program from ExecuTorch's JSON form (text, or already parsed).

    Raises :class:`EncodeError` naming the JSON path of a bad value.
    """
    if isinstance(source, (str, bytes)):
        try:
            source = json.loads(source)
        except ValueError as exc:
            raise EncodeError(f"invalid JSON: {exc}") from None
    program: model.Program = _table("", source, _SCHEMA.root_table)
    return program


def program_to_json(program: ProgramLike) -> str:
    """Write a Program in ExecuTorch's JSON form, as flatc reads it."""
    return to_json(_SCHEMA, program)


_OPTION_KEYS = ("extract_delegate_segments", "segment_alignment", "constant_tensor_alignment",
                "delegate_alignment", "mutable_data", "named_data")


def _base64(path: str, value: Any) -> bytes:
    if not isinstance(value, str):
        raise _fail(path, value, "a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise _fail(path, value, "a base64 string") from None


def options_from_json(source: Union[str, bytes, Dict[str, Any]]) -> EncodeOptions:
    """Read :func:`encode_program`'s keyword arguments from their JSON form.

    The form is that of the corpus ``options.json``: the alignments and
    ``extract_delegate_segments`` as they are, ``mutable_data`` as a list of
    base64 blobs, ``named_data`` as ``buffers`` (base64 blobs) and
    ``pte_data`` (key -> ``buffer_index``, ``alignment``). ``null`` or a
    missing key means the default.
    """
    if isinstance(source, (str, bytes)):
        try:
            source = json.loads(source)
        except ValueError as exc:
            raise EncodeError(f"invalid JSON: {exc}") from None
    if not isinstance(source, dict):
        raise _fail("options", source, "an object")
    options: Dict[str, Any] = {}
    for key, value in source.items():
        if key not in _OPTION_KEYS:
            raise EncodeError(f"{key}: not an option (expected one of {', '.join(_OPTION_KEYS)})")
        if value is None:
            continue
        if key == "mutable_data":
            if not isinstance(value, list):
                raise _fail(key, value, "a list of base64 strings")
            value = [_base64(f"{key}[{i}]", blob) for i, blob in enumerate(value)]
        elif key == "named_data":
            if not isinstance(value, dict) or not isinstance(value.get("buffers"), list) \
                    or not isinstance(value.get("pte_data"), dict):
                raise _fail(key, value, "an object with 'buffers' and 'pte_data'")
            buffers = [_base64(f"{key}.buffers[{i}]", b) for i, b in enumerate(value["buffers"])]
            entries = {}
            for name, entry in value["pte_data"].items():
                if not isinstance(entry, dict) or not isinstance(entry.get("buffer_index"), int):
                    raise _fail(f"{key}.pte_data[{name!r}]", entry,
                                "an object with 'buffer_index' and 'alignment'")
                entries[name] = DataEntry(entry["buffer_index"], entry.get("alignment") or 1)
            value = NamedDataOutput(buffers, entries)
        elif key == "extract_delegate_segments" and not isinstance(value, bool):
            raise _fail(key, value, "true or false")
        options[key] = value
    # Each key is one of EncodeOptions' (a test holds them equal) and each
    # value was checked above as that key's type.
    return cast("EncodeOptions", options)
