"""Field values as the writer takes them: conversions that check as they go.

Each raises TypeError (or ValueError) on a value of the wrong type; the
codec then names the place (see check.py).

What a scalar field takes, beyond the Python type the schema names:

- integer fields: integer-likes (``operator.index``: IntEnum, numpy
  integers; bool too, as ``struct`` and the flatbuffers Builder take it);
- float fields: real numbers, i.e. int, float and any object whose type
  defines ``__float__`` (numpy floats, Decimal, Fraction; the Builder packs
  them all through ``struct``), and the strings "inf" and "-inf"
  (ExecuTorch's Double holds infinities so). Not bool, nor a bool of
  another library (below): a truth value in a float field is a mistake,
  and Double(True) would silently be 1.0;
- bool fields: True and False, and a bool of another library (numpy's
  ``bool_``, which is no bool subclass), recognised as a value that is no
  number (not ``numbers.Number``: so 1 and 1.0, equal to True, are still
  refused) and is hashable and equal to True or to False.
"""

from __future__ import annotations

import math
import numbers
import operator
import re
from typing import Any

__all__ = ["present_integer", "bool_bytes", "bytes_like", "text_bytes", "holds_pointers", "PointerBufferError", "to_bool", "to_float",
           "ubytes"]


def is_foreign_bool(value: Any) -> bool:
    """Whether ``value`` is a bool of another library (numpy's ``bool_``):
    not a number, hashable (arrays are not: np.array([True]) is refused),
    and equal to True or to False (see the module docstring)."""
    if isinstance(value, (numbers.Number, str, bytes, bytearray)) or value.__class__.__hash__ is None:
        return False
    try:
        return bool(value == True or value == False)  # noqa: E712 (equality is the point)
    except Exception:  # an object whose comparison fails is no bool
        return False


def to_bool(value: Any) -> bool:
    """A bool field's value (the slow path: True and False are taken as they are)."""
    if value is True or value is False:
        return value
    if is_foreign_bool(value):
        return bool(value == True)  # noqa: E712
    raise TypeError("not a bool")


def text_bytes(value: Any) -> bytes:
    """A string field's UTF-8 bytes (the slow path: a str is encoded as it is).
    Only a str (or a subclass) is text: an object that merely has an
    ``encode`` method is refused, as the checker refuses it."""
    if isinstance(value, str):
        return value.encode()
    raise TypeError("not a str")


def bool_bytes(items: Any) -> bytes:
    if not isinstance(items, (list, tuple)):
        raise TypeError("not a list of bools")
    if any(x is not True and x is not False for x in items):
        items = [to_bool(x) for x in items]
    return bytes(items)


def ubytes(value: Any) -> bytes:
    """A [ubyte] vector's bytes, from a bytes-like object or a sequence of ints."""
    return value if value.__class__ is bytes else bytes(bytes_like(value))


# Buffer format codes whose items are addresses, not data (PEP 3118 and
# ctypes): O a Python object, P void*, & a pointer to the type after it,
# z / Z (alone) char* / wchar_t*, X a function pointer. "Zf", "Zd", "Zg"
# are complex numbers (data). Field names (":name:") are dropped first.
_FIELD_NAMES = re.compile(r":[^:]*:")
_POINTER_CODES = re.compile(r"[OP&zX]|Z(?![fdg])")


class PointerBufferError(TypeError):
    """A buffer of addresses where a blob goes; ``expected`` says what would do."""

    def __init__(self, fmt: str) -> None:
        self.expected = f"a bytes-like object of data, not of pointers (format {fmt!r})"
        super().__init__(self.expected)


def holds_pointers(fmt: str) -> bool:
    """Whether a buffer of format ``fmt`` holds addresses (see _POINTER_CODES)."""
    return _POINTER_CODES.search(_FIELD_NAMES.sub("", fmt)) is not None


def bytes_like(value: Any) -> Any:
    """``value`` as bytes, bytearray or a flat memoryview, copying only lists
    and non-contiguous buffers (a strided view is copied in logical order).

    A buffer of addresses (numpy's object arrays, ctypes pointer arrays: see
    holds_pointers) is refused with TypeError: its bytes are the process's
    memory addresses, which must never go into a file. Every blob, in every
    container and field, goes through here."""
    if isinstance(value, (bytes, bytearray)):
        return value
    if isinstance(value, (list, tuple)):
        return bytes(value)
    view = memoryview(value)
    fmt = view.format
    if fmt != "B" and holds_pointers(fmt):
        raise PointerBufferError(fmt)
    if not view.c_contiguous:
        return view.tobytes()
    if fmt != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def present_integer(value: Any, default: int) -> bool:
    """Whether an integer field's value that is not an int differs from the
    field's ``default``, judged by ``operator.index`` (how struct packs it):
    TypeError for what is not integer-like (``0.0``, ``Decimal(0)``)."""
    return operator.index(value) != default


def to_float(value: Any) -> float:
    """A float field's value: a real number, or the strings "inf" / "-inf"
    (see the module docstring)."""
    if isinstance(value, str):
        if value == "inf":
            return math.inf
        if value == "-inf":
            return -math.inf
        raise TypeError("not a number")
    if value.__class__ is float:
        same: float = value
        return same
    if isinstance(value, (bool, bytes, bytearray)) or not hasattr(type(value), "__float__") \
            or is_foreign_bool(value):
        raise TypeError("not a number")
    return float(value)  # always a float, whatever class __float__ returns
