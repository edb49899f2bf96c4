"""Field values as the writer takes them: conversions that check as they go.

Each raises TypeError (or ValueError) on a value of the wrong type; the
codec then names the place (see check.py).
"""

from __future__ import annotations

import math
import operator
from typing import Any

__all__ = ["absent_integer", "bool_bytes", "bytes_like", "to_float", "ubytes"]


def bool_bytes(items: Any) -> bytes:
    if not isinstance(items, (list, tuple)) or any(x is not True and x is not False for x in items):
        raise TypeError("not a list of bools")
    return bytes(items)


def ubytes(value: Any) -> bytes:
    """A [ubyte] vector's bytes, from a bytes-like object or a sequence of ints."""
    return value if value.__class__ is bytes else bytes(bytes_like(value))


def bytes_like(value: Any) -> Any:
    """``value`` as bytes, bytearray or a flat memoryview, copying only lists
    and non-contiguous buffers (a strided view is copied in logical order)."""
    if isinstance(value, (bytes, bytearray)):
        return value
    if isinstance(value, (list, tuple)):
        return bytes(value)
    view = memoryview(value)
    if not view.c_contiguous:
        return view.tobytes()
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def absent_integer(value: Any) -> bool:
    """The presence of an integer field's value that equals the default but
    is not an int: False (left out) if it is integer-like, else TypeError
    (``0.0`` and ``Decimal(0)`` are refused like ``1.0``)."""
    operator.index(value)
    return False


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
