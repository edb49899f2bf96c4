"""Find the first bad value in an object tree and say where it is.

The encoders do not check as they go: when one fails, the codec calls
:func:`check_root`, which walks the tree field by field along its schema and
raises an :class:`EncodeError` naming the place, the value and what was
expected. The root's place is the schema's name.
"""

from __future__ import annotations

import operator
import struct
from typing import Any, Optional, Sequence

from .errors import EncodeError, bad_value, subpath
from .schema import Schema
from .values import PointerBufferError, holds_pointers, to_bool, to_float

# A [ubyte] vector or a string, like the whole FlatBuffer, must stay under
# 2 GiB (the format's offsets are signed 32-bit).
MAX_VECTOR_BYTES = 2**31 - 1

__all__ = ["check_root", "check_table", "check_object", "check_scalar", "integer", "missing",
           "check_vector", "unreadable", "MAX_VECTOR_BYTES"]

_RANGES = {c: (0, 2 ** (8 * struct.calcsize(c))) if c.isupper() else
           (-(2 ** (8 * struct.calcsize(c) - 1)), 2 ** (8 * struct.calcsize(c) - 1))
           for c in "bBhHiIqQ"}
_MISSING = object()
_NOT_TABLES = (int, float, str, bytes, bytearray, memoryview, list, tuple, dict)




def integer(value: Any, path: Optional[str] = None) -> Any:
    """``value`` as an int if it is one or is integer-like (``__index__``, as
    numpy integers are), else None. bool counts as an int, as it does for
    ``struct`` and for flatbuffers' own Builder (see the README). An
    ``__index__`` that raises something else than TypeError makes the value
    unreadable: an EncodeError at ``path`` if it is given, else None."""
    if isinstance(value, int):
        return value
    try:
        return operator.index(value)
    except TypeError:
        return None
    except Exception as exc:  # a hostile __index__
        if path is not None:
            raise unreadable(path, exc) from None
        return None


def unreadable(path: str, exc: BaseException) -> EncodeError:
    """The error for a value at ``path`` whose reading raised ``exc``."""
    return EncodeError(f"{path}: cannot be read: {type(exc).__name__}: {exc}", path=path)


def check_scalar(path: str, value: Any, fmt: str) -> None:
    """Refuse what a scalar field of struct format ``fmt`` cannot take (the
    rules are values.py's); a value whose conversion raises something else
    than TypeError (a hostile ``__index__`` or ``__float__``) "cannot be read"."""
    if fmt == "?":
        try:
            to_bool(value)
        except TypeError:
            raise bad_value(path, value, "a bool") from None
    elif fmt in "df":
        if isinstance(value, str):
            if value not in ("inf", "+inf", "-inf"):
                raise bad_value(path, value, "a float (or the string 'inf', '+inf' or '-inf')")
            return
        try:
            number = to_float(value)
        except TypeError:
            raise bad_value(path, value, "a float") from None
        except OverflowError:
            raise bad_value(path, value, "a number in the range of a 64-bit float") from None
        except Exception as exc:
            raise unreadable(path, exc) from exc
        # (a float (32-bit) field takes any such number: beyond its range
        # flatc writes an infinity, see values.float32_from_text)
    else:
        if isinstance(value, int):
            number = value
        else:
            try:
                number = operator.index(value)
            except TypeError:
                raise bad_value(path, value, "an integer") from None
            except Exception as exc:
                raise unreadable(path, exc) from exc
        low, high = _RANGES[fmt]
        if not low <= number < high:
            raise bad_value(path, value, f"an integer in [{low}, {high - 1}]")


def check_vector(path: str, value: Any, fmt: str) -> None:
    if fmt == "B" and not isinstance(value, (list, tuple)):
        try:
            view = memoryview(value)
        except (TypeError, ValueError):  # ValueError: a released memoryview
            raise bad_value(path, value, "a bytes-like object or a list of integers") from None
        size, fmt = view.nbytes, view.format
        view.release()
        if holds_pointers(fmt):
            raise bad_value(path, value, PointerBufferError(fmt).expected)
        if size > MAX_VECTOR_BYTES:
            expected = f"at most {MAX_VECTOR_BYTES} bytes (the FlatBuffer limit)"
            raise EncodeError(f"{path}: expected {expected}, got {size} bytes",
                              path=path, value=value, expected=expected, has_value=True)
        return
    if not isinstance(value, (list, tuple)):
        raise bad_value(path, value, "a list")
    for index, item in enumerate(value):
        check_scalar(f"{path}[{index}]", item, fmt)


def missing(path: str, obj: Any, name: str, table: str, names: Sequence[str],
            root: str = "") -> EncodeError:
    """The error for ``obj`` (at ``path``) lacking the attribute ``name`` of a
    ``table``: the object is of the wrong kind if it has none of ``names``."""
    if not any(hasattr(obj, other) for other in names):
        return bad_value(path, obj, f"a {table} object", root=root or table)
    where = subpath(path, name)
    return EncodeError(f"{where}: missing (a {table} needs the attribute {name!r})",
                       path=where, expected=f"the attribute {name!r}")


def check_object(path: str, obj: Any, table: str, root: str = "") -> None:
    """Refuse what cannot be a table object: None, numbers, text, bytes,
    containers (``root`` names the place if ``path`` is empty; else the table)."""
    if obj is None or isinstance(obj, _NOT_TABLES):
        raise bad_value(path, obj, f"a {table} object", root=root or table)


def check_table(schema: Schema, path: str, obj: Any, table: str, root: str = "") -> None:
    """Check ``obj`` as a ``table`` at ``path`` (``root`` names the place if the path is empty)."""
    check_object(path, obj, table, root)
    for name in schema.deprecated.get(table, ()):
        where = subpath(path, name)
        try:
            value = getattr(obj, name, None)
        except Exception as exc:
            raise unreadable(where, exc) from exc
        if value is not None:
            raise bad_value(where, value, "None (the field is deprecated: never written)")
    fields = schema.tables[table]
    for f in fields:
        name, kind, elem = f.name, f.kind, f.elem
        where = subpath(path, name)
        try:
            value = getattr(obj, name, _MISSING)
        except Exception as exc:  # a property that raises: its error, with the place
            raise unreadable(where, exc) from exc
        if value is _MISSING:
            raise missing(path, obj, name, table, [other.name for other in fields], root)
        if kind == "SCALAR":
            check_scalar(where, value, elem or "")
        elif value is None:
            continue
        elif kind == "STRING":
            if not isinstance(value, str):
                raise bad_value(where, value, "a str")
            try:
                size = len(value.encode("utf-8"))
            except UnicodeEncodeError:
                raise bad_value(where, value, "a str encodable as UTF-8") from None
            if size > MAX_VECTOR_BYTES:
                raise bad_value(where, value, f"a str of at most {MAX_VECTOR_BYTES} bytes in UTF-8")
        elif kind == "TABLE":
            check_table(schema, where, value, elem or "")
        elif kind == "UNION":
            members = schema.unions[elem or ""]
            member = type(value).__name__
            if member not in members:
                named = ", ".join(members) if len(members) <= 16 else \
                    f"{', '.join(members[:6])}, ... ({len(members)} names)"
                raise bad_value(where, value, f"one of {named} (a {elem})")
            check_table(schema, where, value, member)
        elif kind == "TABLE_VECTOR":
            if not isinstance(value, (list, tuple)):
                raise bad_value(where, value, f"a list of {elem}")
            for index, item in enumerate(value):
                check_table(schema, f"{where}[{index}]", item, elem or "")
        else:
            check_vector(where, value, elem or "")


def check_root(schema: Schema, root: Any) -> None:
    """Raise :class:`EncodeError` at the first value of ``root`` (a tree of
    ``schema``'s root table) that cannot be encoded."""
    check_table(schema, "", root, schema.root_table, schema.name)
