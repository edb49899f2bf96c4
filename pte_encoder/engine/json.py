"""Any schema's tables as the JSON flatc reads (``flatc --binary SCHEMA FILE.json``).

Fields in schema order; a union field ``X`` followed by ``X_type`` naming the
member table; enums as integers; byte vectors as lists of integers; absent
fields as ``null``; infinite and NaN floats as the strings ``"inf"``,
``"-inf"`` and ``"nan"``; integer fields as plain integers (an IntEnum, a bool
or an integer-like such as a numpy integer is written as its number).
The tree is checked first, as the codec checks it: bad input raises
:class:`EncodeError` naming the place.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Dict

from .check import check_root
from .schema import Schema
from .values import bytes_like, to_bool, to_float

__all__ = ["table_to_json", "to_json"]


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
