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
from typing import Any, Dict, Tuple

from ...schemas.etdump import model

__all__ = ["etdump_json_form", "etdump_to_json"]

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
    return json.dumps(etdump_json_form(dump), indent=1, ensure_ascii=False)
