"""Find the first bad value in an object tree and say where it is.

The encoders do not check as they go: when one fails, the codec calls
:func:`check_root`, which walks the tree field by field along its schema and
raises an :class:`EncodeError` naming the place, the value and what was
expected. The root's place is the schema's name.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from ..errors import EncodeError
from .schema import Schema

__all__ = ["check_root", "check_table", "check_scalar"]

_RANGES = {c: (0, 2 ** (8 * struct.calcsize(c))) if c.isupper() else
           (-(2 ** (8 * struct.calcsize(c) - 1)), 2 ** (8 * struct.calcsize(c) - 1))
           for c in "bBhHiIqQ"}
_MISSING = object()


def _fail(path: str, value: Any, expected: str) -> EncodeError:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return EncodeError(f"{path}: expected {expected}, got {text}")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def check_scalar(path: str, value: Any, fmt: str) -> None:
    if fmt == "?":
        if value is not True and value is not False:
            raise _fail(path, value, "a bool")
    elif fmt in "df":
        if isinstance(value, str):
            if value not in ("inf", "-inf"):
                raise _fail(path, value, "a float (or the string 'inf' or '-inf')")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(path, value, "a float")
        elif fmt == "f" and not math.isinf(value) and not math.isnan(value):
            try:
                struct.pack("<f", value)
            except OverflowError:
                raise _fail(path, value, "a float in the range of a 32-bit float") from None
    else:
        if not isinstance(value, int):
            raise _fail(path, value, "an integer")
        low, high = _RANGES[fmt]
        if not low <= value < high:
            raise _fail(path, value, f"an integer in [{low}, {high - 1}]")


def _check_vector(path: str, value: Any, fmt: str) -> None:
    if fmt == "B" and not isinstance(value, (list, tuple)):
        try:
            view = memoryview(value)
        except TypeError:
            raise _fail(path, value, "a bytes-like object or a list of integers") from None
        if not view.c_contiguous:
            raise _fail(path, value, "a contiguous buffer")
        return
    if not isinstance(value, (list, tuple)):
        raise _fail(path, value, "a list")
    for index, item in enumerate(value):
        check_scalar(f"{path}[{index}]", item, fmt)


def check_table(schema: Schema, path: str, obj: Any, table: str, root: str = "") -> None:
    """Check ``obj`` as a ``table`` at ``path`` (``root`` names the place if the path is empty)."""
    if obj is None or isinstance(obj, (int, float, str, bytes, list, tuple, dict)):
        raise _fail(path or root, obj, f"a {table} object")
    for f in schema.tables[table]:
        name, kind, elem = f.name, f.kind, f.elem
        where = _join(path, name)
        value = getattr(obj, name, _MISSING)
        if value is _MISSING:
            raise EncodeError(f"{where}: missing (a {table} needs the attribute {name!r})")
        if kind == "SCALAR":
            check_scalar(where, value, elem or "")
        elif value is None:
            continue
        elif kind == "STRING":
            if not isinstance(value, str):
                raise _fail(where, value, "a str")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _fail(where, value, "a str encodable as UTF-8") from None
        elif kind == "TABLE":
            check_table(schema, where, value, elem or "")
        elif kind == "UNION":
            members = schema.unions[elem or ""]
            member = type(value).__name__
            if member not in members:
                raise _fail(where, value, f"one of {', '.join(members)} (a {elem})")
            check_table(schema, where, value, member)
        elif kind == "TABLE_VECTOR":
            if not isinstance(value, (list, tuple)):
                raise _fail(where, value, f"a list of {elem}")
            for index, item in enumerate(value):
                check_table(schema, f"{where}[{index}]", item, elem or "")
        else:
            _check_vector(where, value, elem or "")


def check_root(schema: Schema, root: Any) -> None:
    """Raise :class:`EncodeError` at the first value of ``root`` (a tree of
    ``schema``'s root table) that cannot be encoded."""
    check_table(schema, "", root, schema.root_table, schema.name)
