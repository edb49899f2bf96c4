"""An ETDump in the JSON form of ExecuTorch's dataclasses: what
``deserialize_from_etdump_flatcc`` returns (``devtools/etdump/schema_flatcc.py``),
each dataclass an object with its fields in ExecuTorch's order, ``null``
for None, ``Value.val`` by its name (``"Tensor"``), ``scalar_type`` by its
number, ``delegate_debug_metadata`` as a list of byte values.

Where ExecuTorch would fail (see formats/etdump/read.py), this still writes
something: a missing required field as ``null``, an enum value the schema
does not name as its number, and NaN or infinite floats as the
``NaN``/``Infinity`` tokens Python's ``json`` reads.
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any, Dict, Iterator, List, Tuple

from ...schemas.etdump import model

__all__ = ["etdump_json_form", "etdump_to_json", "etdump_json_chunks"]

_PIECE = 1 << 16

# ExecuTorch's dataclasses' field order, where it is not the schema's.
_ORDER: Dict[type, Tuple[str, ...]] = {
    model.DebugEvent: ("name", "chain_index", "instruction_id", "delegate_debug_id_int",
                       "delegate_debug_id_str", "debug_entry"),
}


def _form(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, IntEnum):
        return value.name if isinstance(value, model.ValueType) else int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, (list, tuple)):
        return [_form(item) for item in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return list(bytes(value))
    cls = type(value)
    fields = _ORDER.get(cls) or getattr(cls, "__slots__", None)
    if fields is None:
        raise TypeError(f"not a value of the ETDump model: {cls.__name__}")
    return {name: _form(getattr(value, name)) for name in fields}


def etdump_json_form(dump: model.ETDump) -> Dict[str, Any]:
    """``dump`` as the dicts and lists of ExecuTorch's dataclass JSON form."""
    form: Dict[str, Any] = _form(dump)
    return form


def etdump_to_json(dump: model.ETDump) -> str:
    """``dump`` as ExecuTorch's dataclasses dumped to JSON (indented by one)."""
    return b"".join(etdump_json_chunks(dump)).decode("utf-8")


def etdump_json_chunks(dump: model.ETDump) -> Iterator[bytes]:
    """:func:`etdump_to_json`'s text, UTF-8 encoded, in pieces of about 64
    KiB, made as they are written: the text as ``json.dumps(form, indent=1,
    ensure_ascii=False)`` writes it, without making the form (a dict per
    event) or the whole text first."""
    batch: List[str] = []
    size = 0
    for piece in _pieces(dump, 0):
        batch.append(piece)
        size += len(piece)
        if size >= _PIECE:
            yield "".join(batch).encode("utf-8")
            batch, size = [], 0
    yield "".join(batch).encode("utf-8")


def _pieces(value: Any, depth: int) -> Iterator[str]:
    """The JSON text of ``value`` (as :func:`_form` gives it) in pieces, laid
    out as ``json.dumps`` lays out ``indent=1``: a list of tables item by
    item, a table holding such a list field by field, anything else (an
    event, say) in one piece."""
    if isinstance(value, (list, tuple)) and any(_is_table(item) for item in value):
        inner = "\n" + " " * (depth + 1)
        yield "["
        for i, item in enumerate(value):
            yield ("," if i else "") + inner
            yield from _pieces(item, depth + 1)
        yield "\n" + " " * depth + "]"
        return
    fields = _ORDER.get(type(value)) or getattr(type(value), "__slots__", None) if _is_table(value) else None
    if fields and any(isinstance(getattr(value, name), (list, tuple)) for name in fields):
        inner = "\n" + " " * (depth + 1)
        yield "{"
        for i, name in enumerate(fields):
            yield ("," if i else "") + inner + json.dumps(name, ensure_ascii=False) + ": "
            yield from _pieces(getattr(value, name), depth + 1)
        yield "\n" + " " * depth + "}"
        return
    yield _dumps(_form(value), depth)


def _is_table(value: Any) -> bool:
    return value is not None and not isinstance(value, (str, bytes, bytearray, memoryview, int, float,
                                                        list, tuple))


def _dumps(form: Any, depth: int) -> str:
    """A scalar, or a list of scalars, as ``json.dumps(indent=1)`` writes it at ``depth``."""
    text = json.dumps(form, indent=1, ensure_ascii=False)
    return text.replace("\n", "\n" + " " * depth) if depth and "\n" in text else text
