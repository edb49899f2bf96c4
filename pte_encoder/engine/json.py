"""Any schema's tables as the JSON flatc reads (``flatc --binary SCHEMA FILE.json``).

Fields in schema order; a union field ``X`` followed by ``X_type`` naming the
member table; enums as integers; byte vectors as lists of integers; absent
fields as ``null``; infinite and NaN floats as the strings ``"inf"``,
``"-inf"`` and ``"nan"``.
"""

from __future__ import annotations

import json
import math
from enum import IntEnum
from typing import Any, Dict

from .schema import Schema

__all__ = ["table_to_json", "to_json"]


def _value(value: Any) -> Any:
    if isinstance(value, IntEnum):
        return int(value)
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def table_to_json(schema: Schema, table: str, obj: Any) -> Dict[str, Any]:
    """``obj``, a ``table`` of ``schema``, as a JSON-ready dict."""
    out: Dict[str, Any] = {}
    for f in schema.tables[table]:
        name, kind, elem = f.name, f.kind, f.elem
        value = getattr(obj, name)
        if kind == "SCALAR":
            out[name] = _value(value)
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
            out[name] = list(memoryview(value).cast("B"))
        else:
            out[name] = [_value(item) for item in value]
    return out


def to_json(schema: Schema, root: Any) -> str:
    """``root``, a tree of ``schema``'s root table, as JSON text for flatc."""
    return json.dumps(table_to_json(schema, schema.root_table, root))
