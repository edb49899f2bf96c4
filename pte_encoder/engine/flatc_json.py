"""Any schema's tables as the JSON flatc reads (``flatc --binary SCHEMA FILE.json``),
written (:func:`to_json`) and read back into model objects (:func:`tree_from_json`).

Fields in schema order; a union field ``X`` followed by ``X_type`` naming the
member table; enums as integers; byte vectors as lists of integers; absent
fields as ``null``; infinite and NaN floats as the strings ``"inf"``,
``"-inf"`` and ``"nan"``; integer fields as plain integers (an IntEnum, a bool
or an integer-like such as a numpy integer is written as its number).
The tree is checked first, as the codec checks it: bad input raises
:class:`EncodeError` naming the place.

Reading takes ``"+inf"`` for an infinity too, and a deprecated field set to
``null`` (as ExecuTorch's dataclass JSON has them). It refuses what flatc
refuses: a key set twice in one object ("field set more than once"), keys that are not fields, ``true``/``false`` where an
integer is expected; nesting too deep for Python's parser is an
:class:`EncodeError` too. The helpers (:func:`parse_json`,
:func:`json_error`, :func:`check_keys`) serve the formats' own JSON forms.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

from .check import check_root, check_scalar
from .errors import VALUE_LIMIT, EncodeError, member
from .schema import Schema
from .values import bytes_like, to_bool, to_float

__all__ = ["table_to_json", "to_json", "tree_from_json", "parse_json", "json_error", "missing_key",
           "check_keys", "JsonObject"]


def _value(value: Any, fmt: str) -> Any:
    """A checked scalar as flatc reads it (float-likes and bool-likes as the
    encoder takes them: values.py)."""
    if fmt == "?":
        return to_bool(value)
    if fmt in "df":
        if isinstance(value, str):
            return value
        value = to_float(value)
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if math.isnan(value):
            return "nan"
        return value
    return value if value.__class__ is int else operator.index(value)


def table_to_json(schema: Schema, table: str, obj: Any) -> Dict[str, Any]:
    """``obj``, a ``table`` of ``schema`` already checked, as a JSON-ready dict."""
    out: Dict[str, Any] = {}
    for f in schema.tables[table]:
        name, kind, elem = f.name, f.kind, f.elem
        value = getattr(obj, name)
        if kind == "SCALAR":
            out[name] = _value(value, str(elem))
        elif value is None:
            if kind != "UNION":
                out[name] = None
        elif kind == "STRING":
            out[name] = value
        elif kind == "TABLE":
            out[name] = table_to_json(schema, str(elem), value)
        elif kind == "UNION":
            member = type(value).__name__
            out[name] = table_to_json(schema, member, value)
            out[name + "_type"] = member
        elif kind == "TABLE_VECTOR":
            out[name] = [table_to_json(schema, str(elem), item) for item in value]
        elif elem == "B" and not isinstance(value, (list, tuple)):
            out[name] = list(bytes(bytes_like(value)))  # strided buffers in logical order
        else:
            out[name] = [_value(item, str(elem)) for item in value]
    return out


def to_json(schema: Schema, root: Any) -> str:
    """``root``, a tree of ``schema``'s root table, as JSON text for flatc.
    Raises :class:`EncodeError` at the first value that cannot be encoded."""
    import json  # here, not at import: most programs are written without JSON

    check_root(schema, root)
    return json.dumps(table_to_json(schema, schema.root_table, root))


# --- reading


class _Tree(NamedTuple):
    """What reading a schema's JSON builds with: the records, the model
    classes by table name and the enum classes by enum name."""
    schema: Schema
    models: Mapping[str, Any]
    enums: Mapping[str, Any]


def json_error(path: str, value: Any, expected: str, root: str = "program") -> EncodeError:
    """``path: expected <expected>, got <value>``, the value shown as JSON shows it."""
    if isinstance(value, (str, int, float, bool, type(None))):
        import json  # here, not at import: a buffer written without JSON never needs it

        text = json.dumps(value[:VALUE_LIMIT] if isinstance(value, str) else value)
        if len(text) > VALUE_LIMIT:
            text = text[:VALUE_LIMIT - 3] + "..."
    else:
        text = "an object" if isinstance(value, dict) else "a list" if isinstance(value, list) \
            else type(value).__name__
    return EncodeError(f"{path or root}: expected {expected}, got {text}",
                       path=path, value=value, expected=expected, has_value=True)


def missing_key(path: str, expected: str) -> EncodeError:
    """``path: missing (expected <expected>)``."""
    return EncodeError(f"{path}: missing (expected {expected})", path=path, expected=expected)


class JsonObject(Dict[str, Any]):
    """A JSON object as read, with the first key it set more than once."""

    duplicate: Optional[str] = None


def _object(pairs: List[Tuple[str, Any]]) -> JsonObject:
    obj = JsonObject(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _value in pairs:
            if key in seen:
                obj.duplicate = key
                break
            seen.add(key)
    return obj


def parse_json(source: Union[str, bytes, bytearray]) -> Any:
    """JSON text as Python values, objects as :class:`JsonObject`; invalid or
    too deeply nested text is an :class:`EncodeError`."""
    import json  # here, not at import (see json_error)

    try:
        return json.loads(source, object_pairs_hook=_object)
    except RecursionError:
        raise EncodeError("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError for bytes
        raise EncodeError(f"invalid JSON: {exc}") from None


def check_keys(path: str, data: Dict[Any, Any], known: Any, what: str) -> None:
    """Refuse, as flatc does, a key set twice and a key that is not a field."""
    duplicate = getattr(data, "duplicate", None)
    if duplicate is not None:
        where = member(path, duplicate)
        raise EncodeError(f"{where}: field set more than once", path=where)
    for key in data:
        if key not in known:
            where = member(path, key)
            raise EncodeError(f"{where}: not a field of {what}", path=where, value=key, has_value=True)


def _scalar(path: str, value: Any, fmt: str, enum: Any) -> Any:
    if fmt in "df" and isinstance(value, str):
        if value in ("inf", "+inf", "-inf", "nan"):
            return float(value)
        raise json_error(path, value, "a number")
    if fmt in "df" and isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:
            raise json_error(path, value, "a number in the range of a 64-bit float") from None
    if fmt not in "?df" and isinstance(value, bool):  # flatc refuses true and false here too
        raise json_error(path, value, "an integer")
    check_scalar(path, value, fmt)
    if enum is not None:
        try:
            return enum(value)
        except ValueError:
            return value
    return value


def _table(tree: _Tree, path: str, data: Any, table: str) -> Any:
    if not isinstance(data, dict):
        raise json_error(path, data, f"an object (a {table})", root=tree.schema.name)
    fields = tree.schema.tables[table]
    known = {f.name for f in fields}
    known |= {f.name + "_type" for f in tree.schema.fields(table, "UNION")}
    deprecated = tree.schema.deprecated.get(table, ())
    check_keys(path, data, known.union(deprecated), table)
    for name in deprecated:  # flatc would write a value: refused, as the encoder refuses it
        if data.get(name) is not None:
            raise json_error(f"{path}.{name}" if path else name, data[name],
                             "null (the field is deprecated: never written)")
    kwargs = {}
    for name, kind, _slot, elem, _default, _align, enum_name in fields:
        where = f"{path}.{name}" if path else name
        if name not in data:
            continue
        value = data[name]
        if kind == "SCALAR":
            kwargs[name] = _scalar(where, value, elem or "", tree.enums.get(enum_name or ""))
        elif value is None:
            kwargs[name] = None
        elif kind == "STRING":
            if not isinstance(value, str):
                raise json_error(where, value, "a string")
            kwargs[name] = value
        elif kind == "TABLE":
            kwargs[name] = _table(tree, where, value, elem or "")
        elif kind == "UNION":
            member = data.get(name + "_type")
            if not isinstance(member, str) or member not in tree.schema.unions[elem or ""]:
                raise json_error(where + "_type", member, f"a member of {elem}")
            kwargs[name] = _table(tree, where, value, member)
        elif kind == "TABLE_VECTOR":
            if not isinstance(value, list):
                raise json_error(where, value, "a list")
            kwargs[name] = [_table(tree, f"{where}[{i}]", item, elem or "") for i, item in enumerate(value)]
        else:
            if not isinstance(value, list):
                raise json_error(where, value, "a list")
            enum = tree.enums.get(enum_name or "")
            items = [_scalar(f"{where}[{i}]", item, elem or "", enum) for i, item in enumerate(value)]
            kwargs[name] = bytes(items) if elem == "B" and enum is None else items
    return tree.models[table](**kwargs)



def tree_from_json(schema: Schema, models: Mapping[str, Any], enums: Mapping[str, Any],
                   source: Any) -> Any:
    """The root table of ``schema`` in JSON ``source`` (text, or already
    parsed) as model objects (``models``: table name -> class, ``enums``:
    enum name -> IntEnum). Raises :class:`EncodeError` naming the JSON path
    of a bad value."""
    if isinstance(source, (str, bytes, bytearray)):
        source = parse_json(source)
    return _table(_Tree(schema, models, enums), "", source, schema.root_table)
