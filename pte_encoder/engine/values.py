"""Field values as the writer takes them: conversions that check as they go.

Each raises TypeError (or ValueError) on a value of the wrong type; the
codec then names the place (see check.py).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["bool_bytes", "bytes_like", "to_float", "ubytes"]


def bool_bytes(items: Any) -> bytes:
    if not isinstance(items, (list, tuple)) or any(x is not True and x is not False for x in items):
        raise TypeError("not a list of bools")
    return bytes(items)


def ubytes(value: Any) -> bytes:
    """A [ubyte] vector's bytes, from a bytes-like object or a sequence of ints."""
    return value if value.__class__ is bytes else bytes(bytes_like(value))


def bytes_like(value: Any) -> Any:
    """``value`` as bytes, bytearray or a flat memoryview, copying only lists."""
    if isinstance(value, (bytes, bytearray)):
        return value
    if isinstance(value, (list, tuple)):
        return bytes(value)
    view = memoryview(value)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def to_float(value: Any) -> float:
    """A float field's value: a number, or the strings "inf" / "-inf"."""
    if isinstance(value, str):
        if value == "inf":
            return math.inf
        if value == "-inf":
            return -math.inf
        raise TypeError("not a number")
    if isinstance(value, bool) or not isinstance(value, (float, int)):
        raise TypeError("not a number")
    return float(value)
