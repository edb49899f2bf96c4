"""Field values as the writer takes them: conversions that check as they go.

Each raises TypeError (or ValueError) on a value of the wrong type; the
codec then names the place (see check.py).

What a scalar field takes, beyond the Python type the schema names:

- integer fields: integer-likes (``operator.index``: IntEnum, numpy
  integers; bool too, as ``struct`` and the flatbuffers Builder take it);
- float fields: real numbers, i.e. int, float and any object whose type
  defines ``__float__`` (numpy floats, Decimal, Fraction; the Builder packs
  them all through ``struct``), and the strings "inf", "+inf" and "-inf"
  (ExecuTorch's Double holds infinities so, and its XNNPACK graphs so). Not bool, nor a bool of
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
import struct
from typing import Any, Callable, List, Sequence, Tuple

__all__ = ["present_integer", "bool_bytes", "bytes_like", "holds_pointers", "PointerBufferError", "to_bool", "to_float",
           "ubytes", "float32_from_text", "float32_field", "float32s_from_text", "float32_converters"]

_INFINITIES = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf}


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
        if value in _INFINITIES:
            return _INFINITIES[value]
        raise TypeError("not a number")
    if value.__class__ is float:
        same: float = value
        return same
    if isinstance(value, (bool, bytes, bytearray)) or not hasattr(type(value), "__float__") \
            or is_foreign_bool(value):
        raise TypeError("not a number")
    return float(value)  # always a float, whatever class __float__ returns


# --- float (32-bit) fields as flatc stores them (LayoutPolicy.float32_from_text)
#
# flatc reads a JSON number with strtof: one correct rounding from the decimal
# text to float32. The JSON holds repr() of a Python float (the shortest text
# that reads back as the same double) or the digits of an int. struct rounds
# twice (text -> double -> float32), which differs exactly when the double is
# a midpoint between two float32s and its text is not (1 + 2**-24 prints as
# "1.0000000596046448", above the midpoint: strtof rounds up, struct to even,
# down); and strtof overflows to infinity where struct raises OverflowError,
# keeping FLT_MAX for text below the midpoint between FLT_MAX and 2**128.

_F32 = struct.Struct("<f")
_U32 = struct.Struct("<I")
_F32_OVERFLOW = 2**128 - 2**103  # text at or above it is infinity


def _round_float32(numerator: int, denominator: int) -> float:
    """The fraction numerator / denominator (denominator > 0) rounded once,
    to nearest even, to float32, as a Python float (strtof)."""
    sign = -1.0 if numerator < 0 else 1.0
    n = abs(numerator)
    if n == 0:
        return sign * 0.0
    if n >= _F32_OVERFLOW * denominator:
        return sign * math.inf
    e = n.bit_length() - denominator.bit_length()  # 2**e <= n/d < 2**(e+1), once adjusted
    if (n << max(-e, 0)) < (denominator << max(e, 0)):
        e -= 1
    q = max(e, -126) - 23  # the float32 quantum there (subnormals below 2**-126)
    num, den = (n, denominator << q) if q >= 0 else (n << -q, denominator)
    m, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and m & 1):
        m += 1
    return sign * math.ldexp(m, q)


def _text_fraction(x: float) -> Tuple[int, int]:
    """The exact value of repr(x), the text a JSON encoder writes for x."""
    from fractions import Fraction  # here: only a double at a float32 midpoint needs it

    exact = Fraction(repr(x))
    return exact.numerator, exact.denominator


def float32_from_text(value: Any) -> float:
    """What flatc stores in a float (32-bit) field for the JSON text of
    ``value`` (a float's repr, an int's digits; "inf", "+inf", "-inf"; any
    other real through float()), as a Python float that ``struct`` packs to
    the same bytes. NaN stays NaN. TypeError for what is not a number."""
    if value.__class__ is not float:
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value) if -2**24 <= value <= 2**24 else _round_float32(int(value), 1)
        value = to_float(value)
    try:
        f: float = _F32.unpack(_F32.pack(value))[0]
    except OverflowError:  # beyond FLT_MAX by the double: the text decides
        return _round_float32(*_text_fraction(value))
    if f == value or f != f:  # exactly a float32 (the usual case), or NaN
        return f
    # Only a double exactly halfway between two float32s may round otherwise
    # from its text (which then lies off the midpoint).
    bits = _U32.unpack(_F32.pack(f))[0]
    other: float = _F32.unpack(_U32.pack(bits + 1 if abs(f) < abs(value) else bits - 1))[0]
    if value - f != other - value:
        return f
    return _round_float32(*_text_fraction(value))


def float32_field(value: Any) -> float:
    """A float (32-bit) scalar field's value as flatc stores it
    (:func:`float32_from_text`), a nonzero value too small for float32 as
    +0.0: flatc compares the value it parsed with the field's default (0,
    the only float32 default the generator takes) and leaves it out, sign
    and all."""
    f = float32_from_text(value)
    return 0.0 if f == 0.0 and value != 0.0 else f


def float32s_from_text(items: Sequence[Any]) -> Sequence[Any]:
    """A [float] vector's items as flatc stores them (:func:`float32_from_text`;
    an item too small for float32 keeps its sign: vector items have no
    default). ``items`` itself when every item is already a float32 float."""
    if not isinstance(items, (list, tuple)):
        raise TypeError("not a list")
    if set(map(type, items)) <= {float}:
        try:
            same = list(struct.unpack(f"<{len(items)}f", struct.pack(f"<{len(items)}f", *items)))
        except OverflowError:
            same = []
        if same == list(items):
            return items
    return [float32_from_text(x) for x in items]


def _as_given(items: Sequence[Any]) -> Sequence[Any]:
    return items


def float32_converters(from_text: bool) -> Tuple[Callable[[Any], float], Callable[[Sequence[Any]], Sequence[Any]]]:
    """The generated encoders' converters of a float (32-bit) scalar and of a
    [float] vector's items: flatc's (``from_text``, see
    LayoutPolicy.float32_from_text), or the double as it is, which struct
    rounds when packing (the Builder's)."""
    if from_text:
        return float32_field, float32s_from_text
    return to_float, _as_given
