"""The engine's errors for bad input, one per direction, and how their messages are built.

:class:`EncodeError` (a tree that cannot be written) and :class:`DecodeError`
(bytes that are not a valid buffer of the schema) share the base
:class:`FlatBufferError`, a ``ValueError``. The package re-exports them as its
public errors (``pte_encoder.EncodeError``, ``pte_encoder.DecodeError``,
``pte_encoder.PteEncoderError`` for the base): the file formats built on the
engine raise the same classes, so a caller catches one pair whatever layer
failed.
"""

from __future__ import annotations

import reprlib
from typing import Any, Optional

__all__ = ["FlatBufferError", "EncodeError", "DecodeError", "bad_value", "describe", "key_text", "member",
           "one_line", "subpath"]

# Longest text of a value (or of a key in a path) shown in a message, and of
# a whole message: an error is always one readable line.
VALUE_LIMIT = 80
MESSAGE_LIMIT = 1000


def _short_repr() -> reprlib.Repr:
    shortener = reprlib.Repr()
    shortener.maxstring = shortener.maxother = VALUE_LIMIT
    shortener.maxlist = shortener.maxtuple = shortener.maxdict = 8
    return shortener


_REPR = _short_repr()


class FlatBufferError(ValueError):
    """Base of every error raised for bad input, encoding or decoding
    (``pte_encoder.PteEncoderError``)."""


class EncodeError(FlatBufferError):
    """The program or an option cannot be encoded.

    The message names the place (for example
    ``execution_plan[0].values[12].val.sizes[1]``), the value found and what
    was expected there. It is always one line of at most about a thousand
    characters: values and keys are shortened and control characters escaped.

    The same facts as data:

    - ``path``: the place, as it starts the message: a program field
      (``execution_plan[0].name``), an option (``segment_alignment``,
      ``named_data.pte_data['w'].alignment``), or ``""`` when the error is
      about the whole input (a program too big to encode, text that is not
      JSON).
    - ``value``: the value found there (``None`` when there is none to show,
      or the value was ``None``; see ``has_value``).
    - ``expected``: what was expected there, as text, or ``None``.
    """

    path: str
    value: Any
    expected: Optional[str]
    has_value: bool

    def __init__(self, message: str, *, path: str = "", value: Any = None,
                 expected: Optional[str] = None, has_value: bool = False) -> None:
        super().__init__(one_line(str(message)))
        self.path = path
        self.value = value
        self.expected = expected
        self.has_value = has_value


class DecodeError(FlatBufferError):
    """The bytes are not a valid file of the schema.

    The message names the field path (for example
    ``execution_plan[0].values[12].val.sizes``), the byte offset where the
    problem is and what was expected there; ``path`` and ``offset`` hold
    the same (``offset`` is ``None`` when no single byte is at fault). Like
    :class:`EncodeError`'s, the message is one line.
    """

    path: str
    offset: Optional[int]

    def __init__(self, message: str, path: str = "", offset: Optional[int] = None) -> None:
        super().__init__(one_line(str(message)))
        self.path = path
        self.offset = offset


def bad_value(path: str, value: Any, expected: str, *, root: str = "program") -> EncodeError:
    """The error ``path: expected <expected>, got <value>``, the value shortened
    (to raise: ``raise bad_value(...)``)."""
    return EncodeError(f"{path or root}: expected {expected}, got {describe(value)}",
                       path=path, value=value, expected=expected, has_value=True)


def describe(value: Any, limit: int = VALUE_LIMIT) -> str:
    """``repr(value)``, shortened to about ``limit`` characters (long strings,
    bytes and lists are cut before they are shown); never fails: an object
    whose ``repr`` raises is shown by its type."""
    try:
        text = _REPR.repr(value)
    except Exception:  # a hostile __repr__ must not replace the real error
        text = f"<{type(value).__name__} object>"
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return text


def key_text(key: Any) -> str:
    """A mapping key as it appears in a path: ``repr``, shortened."""
    return describe(key, 60)


def member(path: str, key: Any) -> str:
    """The path of ``key`` in an object at ``path``: ``path.key`` for a short
    identifier, else ``path[<key_text>]``."""
    if isinstance(key, str) and key.isidentifier() and len(key) <= 60:
        return subpath(path, key)
    return f"{path}[{key_text(key)}]"


def subpath(path: str, name: str) -> str:
    """The path of the field ``name`` of the object at ``path``: ``path.name``."""
    return f"{path}.{name}" if path else name


def one_line(text: str) -> str:
    """``text`` with control characters escaped, at most :data:`MESSAGE_LIMIT` long."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                       for c in text)
    if len(text) > MESSAGE_LIMIT:
        text = text[:MESSAGE_LIMIT - 3] + "..."
    return text
