"""The JSON form of a .ptd payload (as ``tests/data/corpus-ptd/*/payload.json``),
read for :func:`~pte_encoder.encode_data_file`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple, Union, cast

from ...engine.errors import EncodeError, key_text
from ...engine.flatc_json import check_keys, json_error, missing_key, parse_json
from ..common.entries import check_entry
from ..common.jsonblobs import base64_blob
from ..common.payload import DataEntry, DataPayload, TensorLayout
from ..common.segments import check_segment_alignment

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from .types import DataFileOptions

__all__ = ["payload_from_json"]

_PAYLOAD_KEYS = ("segment_alignment", "buffers", "named_data")
_ENTRY_KEYS = ("buffer_index", "alignment", "tensor_layout")
_LAYOUT_KEYS = ("scalar_type", "sizes", "dim_order")


def _json_integer(path: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise json_error(path, value, "an integer", root="payload")
    number: int = value
    return number


def _json_integers(path: str, value: Any) -> List[int]:
    if not isinstance(value, list):
        raise json_error(path, value, "a list of integers", root="payload")
    return [_json_integer(f"{path}[{i}]", item) for i, item in enumerate(value)]


def _json_object(path: str, value: Any, known: Tuple[str, ...], what: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise json_error(path, value, f"an object ({what})", root="payload")
    check_keys(path, value, known, what)
    return value


def _json_layout(path: str, value: Any) -> TensorLayout:
    layout = _json_object(path, value, _LAYOUT_KEYS, "a TensorLayout")
    for name in _LAYOUT_KEYS:
        if name not in layout:
            raise missing_key(f"{path}.{name}", "an integer" if name == "scalar_type" else "a list of integers")
    return TensorLayout(scalar_type=_json_integer(f"{path}.scalar_type", layout["scalar_type"]),
                        sizes=_json_integers(f"{path}.sizes", layout["sizes"]),
                        dim_order=_json_integers(f"{path}.dim_order", layout["dim_order"]))


_BUFFERS = "a list of base64 strings"
_NAMED = "an object: key -> {buffer_index, alignment, tensor_layout}"


def payload_from_json(source: Union[str, bytes, Dict[str, Any]]) -> Tuple[DataPayload, DataFileOptions]:
    """Read a .ptd payload from its JSON form (text, or already parsed);
    return it with :func:`encode_data_file`'s keyword arguments
    (``segment_alignment``).

    The form: ``segment_alignment`` (``null`` or missing: the default),
    ``buffers`` (base64 blobs) and ``named_data`` (key -> ``buffer_index``,
    ``alignment`` (``null`` or missing: 1), ``tensor_layout``: ``null`` or
    ``scalar_type`` (an integer), ``sizes``, ``dim_order``). The JSON reader's
    rules apply (a key set twice, an unknown field, ``true``/``false`` for an
    integer, deep nesting are refused), and every value is checked as
    :func:`encode_data_file` checks it. Raises :class:`EncodeError` naming
    the place.
    """
    if isinstance(source, (str, bytes, bytearray)):
        source = parse_json(source)
    data = _json_object("", source, _PAYLOAD_KEYS, "a payload")
    options: Dict[str, Any] = {}
    if data.get("segment_alignment") is not None:
        options["segment_alignment"] = check_segment_alignment(
            _json_integer("segment_alignment", data["segment_alignment"]))
    if "buffers" not in data:
        raise missing_key("buffers", _BUFFERS)
    buffers = data["buffers"]
    if not isinstance(buffers, list):
        raise json_error("buffers", buffers, _BUFFERS)
    blobs = [base64_blob(f"buffers[{i}]", item) for i, item in enumerate(buffers)]
    if "named_data" not in data:
        raise missing_key("named_data", _NAMED)
    named = data["named_data"]
    if not isinstance(named, dict):
        raise json_error("named_data", named, _NAMED)
    duplicate = getattr(named, "duplicate", None)
    if duplicate is not None:
        where = f"named_data[{key_text(duplicate)}]"
        raise EncodeError(f"{where}: key set more than once", path=where)
    entries: Dict[str, DataEntry] = {}
    for key, entry in named.items():
        where = f"named_data[{key_text(key)}]"
        fields = _json_object(where, entry, _ENTRY_KEYS, "a named data entry")
        if "buffer_index" not in fields:
            raise missing_key(f"{where}.buffer_index", "an integer")
        index = _json_integer(f"{where}.buffer_index", fields["buffer_index"])
        alignment = fields.get("alignment")
        alignment = 1 if alignment is None else _json_integer(f"{where}.alignment", alignment)
        layout = fields.get("tensor_layout")
        entries[key] = DataEntry(index, alignment,
                                 None if layout is None else _json_layout(f"{where}.tensor_layout", layout))
        # The check encode_data_file makes (values in range, an index into
        # the buffers, a power of two), once, here: the payload is not
        # encoded to check it.
        check_entry("named_data", key, entries[key], len(blobs), "buffers", layouts=True)
    return DataPayload(blobs, entries), cast("DataFileOptions", options)  # its one key, checked above
