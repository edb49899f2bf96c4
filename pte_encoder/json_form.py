"""ExecuTorch's JSON form of a Program, read into the model and written back.

The form is the one ExecuTorch hands to ``flatc``: fields in schema order, a
union field ``X`` followed by ``X_type`` naming the member table, enums as
integers, byte vectors as lists of integers, absent fields as ``null`` and
infinite doubles as the strings ``"inf"`` and ``"-inf"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union, cast

from . import model
from ._codecs import PROGRAM
from .engine.check import check_scalar
from .engine.json import to_json
from .errors import VALUE_LIMIT, EncodeError, key_text, member
from ._entries import check_entry
from ._segments import MAX_SEGMENT_ALIGNMENT, check_alignment, check_segment_alignment
from .flatbuffer import MAX_FLATBUFFER_ALIGNMENT
from .payload import DataEntry, DataPayload, NamedDataOutput, TensorLayout

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from .types import DataFileOptions, EncodeOptions, ProgramLike

__all__ = ["program_from_json", "program_to_json", "options_from_json", "payload_from_json"]

_SCHEMA = PROGRAM.schema
_ENUMS: Dict[str, Any] = dict(PROGRAM.enum_types)


def _fail(path: str, value: Any, expected: str, root: str = "program") -> EncodeError:
    if isinstance(value, (str, int, float, bool, type(None))):
        import json  # here, not at import: a program written without JSON never needs it

        text = json.dumps(value[:VALUE_LIMIT] if isinstance(value, str) else value)
        if len(text) > VALUE_LIMIT:
            text = text[:VALUE_LIMIT - 3] + "..."
    else:
        text = "an object" if isinstance(value, dict) else "a list" if isinstance(value, list) \
            else type(value).__name__
    return EncodeError(f"{path or root}: expected {expected}, got {text}",
                       path=path, value=value, expected=expected, has_value=True)


def _missing(path: str, expected: str) -> EncodeError:
    return EncodeError(f"{path}: missing (expected {expected})", path=path, expected=expected)


class _Object(Dict[str, Any]):
    """A JSON object as read, with the first key it set more than once."""

    duplicate: Optional[str] = None


def _object(pairs: List[Tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    if len(obj) != len(pairs):
        seen = set()
        for key, _value in pairs:
            if key in seen:
                obj.duplicate = key
                break
            seen.add(key)
    return obj


def _parse(source: Union[str, bytes]) -> Any:
    """JSON text as Python values, objects as :class:`_Object`."""
    import json  # here, not at import (see _fail)

    try:
        return json.loads(source, object_pairs_hook=_object)
    except RecursionError:
        raise EncodeError("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and UnicodeDecodeError for bytes
        raise EncodeError(f"invalid JSON: {exc}") from None


def _check_keys(path: str, data: Dict[Any, Any], known: Any, what: str) -> None:
    """Refuse, as flatc does, a key set twice and a key that is not a field."""
    duplicate = getattr(data, "duplicate", None)
    if duplicate is not None:
        where = member(path, duplicate)
        raise EncodeError(f"{where}: field set more than once", path=where)
    for key in data:
        if key not in known:
            where = member(path, key)
            raise EncodeError(f"{where}: not a field of {what}", path=where, value=key, has_value=True)


def _scalar(path: str, value: Any, fmt: str, enum: Any) -> Any:
    if fmt in "df" and isinstance(value, str):
        if value in ("inf", "-inf", "nan"):
            return float(value)
        raise _fail(path, value, "a number")
    if fmt in "df" and isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:
            raise _fail(path, value, "a number in the range of a 64-bit float") from None
    if fmt not in "?df" and isinstance(value, bool):  # flatc refuses true and false here too
        raise _fail(path, value, "an integer")
    check_scalar(path, value, fmt)
    if enum is not None:
        try:
            return enum(value)
        except ValueError:
            return value
    return value


def _table(path: str, data: Any, table: str) -> Any:
    if not isinstance(data, dict):
        raise _fail(path, data, f"an object (a {table})")
    fields = _SCHEMA.tables[table]
    known = {f.name for f in fields}
    known |= {f.name + "_type" for f in _SCHEMA.fields(table, "UNION")}
    _check_keys(path, data, known, table)
    kwargs = {}
    for name, kind, _slot, elem, _default, _align, enum_name in fields:
        where = f"{path}.{name}" if path else name
        if name not in data:
            continue
        value = data[name]
        if kind == "SCALAR":
            kwargs[name] = _scalar(where, value, elem or "", _ENUMS.get(enum_name or ""))
        elif value is None:
            kwargs[name] = None
        elif kind == "STRING":
            if not isinstance(value, str):
                raise _fail(where, value, "a string")
            kwargs[name] = value
        elif kind == "TABLE":
            kwargs[name] = _table(where, value, elem or "")
        elif kind == "UNION":
            member = data.get(name + "_type")
            if not isinstance(member, str) or member not in _SCHEMA.unions[elem or ""]:
                raise _fail(where + "_type", member, f"a member of {elem}")
            kwargs[name] = _table(where, value, member)
        elif kind == "TABLE_VECTOR":
            if not isinstance(value, list):
                raise _fail(where, value, "a list")
            kwargs[name] = [_table(f"{where}[{i}]", item, elem or "") for i, item in enumerate(value)]
        else:
            if not isinstance(value, list):
                raise _fail(where, value, "a list")
            enum = _ENUMS.get(enum_name or "")
            items = [_scalar(f"{where}[{i}]", item, elem or "", enum) for i, item in enumerate(value)]
            kwargs[name] = bytes(items) if elem == "B" and enum is None else items
    return PROGRAM.models[table](**kwargs)


def program_from_json(source: Union[str, bytes, Dict[str, Any]]) -> model.Program:
    """Read a Program from ExecuTorch's JSON form (text, or already parsed).

    Raises :class:`EncodeError` naming the JSON path of a bad value.
    """
    if isinstance(source, (str, bytes, bytearray)):
        source = _parse(source)
    program: model.Program = _table("", source, _SCHEMA.root_table)
    return program


def program_to_json(program: ProgramLike) -> str:
    """Write a Program in ExecuTorch's JSON form, as flatc reads it.

    The program is checked as :func:`encode_flatbuffer` checks it: bad input
    raises :class:`EncodeError` naming the place.
    """
    return to_json(_SCHEMA, program)


_OPTION_KEYS = ("extract_delegate_segments", "segment_alignment", "constant_tensor_alignment",
                "delegate_alignment", "mutable_data", "named_data")


def _base64(path: str, value: Any) -> bytes:
    if not isinstance(value, str):
        raise _fail(path, value, "a base64 string")
    import base64  # here, not at import (see _fail)

    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise _fail(path, value, "a base64 string") from None


def _alignment(path: str, value: Any, limit: int) -> Any:
    if isinstance(value, bool):  # check_alignment refuses it too; this says it in JSON
        raise _fail(path, value, "a power of two")
    return check_alignment(path, value, limit)


def _named_data(path: str, value: Any) -> NamedDataOutput:
    if not isinstance(value, dict):
        raise _fail(path, value, "an object with 'buffers' and 'pte_data'")
    _check_keys(path, value, ("buffers", "pte_data"), "named_data")
    for name in ("buffers", "pte_data"):
        if name not in value:
            raise _missing(f"{path}.{name}", "a list of base64 strings" if name == "buffers"
                           else "an object of key -> {buffer_index, alignment}")
    buffers, pte_data = value["buffers"], value["pte_data"]
    if not isinstance(buffers, list):
        raise _fail(f"{path}.buffers", buffers, "a list of base64 strings")
    if not isinstance(pte_data, dict):
        raise _fail(f"{path}.pte_data", pte_data, "an object of key -> {buffer_index, alignment}")
    _check_keys(f"{path}.pte_data", pte_data, pte_data.keys(), "pte_data")
    blobs = [_base64(f"{path}.buffers[{i}]", b) for i, b in enumerate(buffers)]
    entries = {}
    for name, entry in pte_data.items():
        where = f"{path}.pte_data[{key_text(name)}]"
        if not isinstance(entry, dict):
            raise _fail(where, entry, "an object with 'buffer_index' and 'alignment'")
        _check_keys(where, entry, ("buffer_index", "alignment"), "a pte_data entry")
        if "buffer_index" not in entry:
            raise _missing(f"{where}.buffer_index", "an integer")
        index = entry["buffer_index"]
        if isinstance(index, bool) or not isinstance(index, int):
            raise _fail(f"{where}.buffer_index", index, f"an index into the {len(blobs)} {path}.buffers")
        alignment = entry.get("alignment")
        if isinstance(alignment, bool):
            raise _fail(f"{where}.alignment", alignment, "a power of two")
        entries[name] = DataEntry(index, 1 if alignment is None else alignment)
        # The check encode_program makes, here (values as JSON shows them checked above).
        check_entry(f"{path}.pte_data", name, entries[name], len(blobs), f"{path}.buffers", layouts=False)
    return NamedDataOutput(blobs, entries)


def options_from_json(source: Union[str, bytes, Dict[str, Any]]) -> EncodeOptions:
    """Read :func:`encode_program`'s keyword arguments from their JSON form.

    The form is that of the corpus ``options.json``: the alignments and
    ``extract_delegate_segments`` as they are, ``mutable_data`` as a list of
    base64 blobs, ``named_data`` as ``buffers`` (base64 blobs) and
    ``pte_data`` (key -> ``buffer_index``, ``alignment``). ``null`` or a
    missing key means the default (an entry's missing ``alignment``: 1).
    Every value is checked here, as :func:`encode_program` checks it; bad
    input raises :class:`EncodeError` naming the option.
    """
    if isinstance(source, (str, bytes, bytearray)):
        source = _parse(source)
    if not isinstance(source, dict):
        raise _fail("", source, "an object", root="options")
    duplicate = getattr(source, "duplicate", None)
    if duplicate is not None:
        where = member("", duplicate)
        raise EncodeError(f"{where}: option set more than once", path=where)
    options: Dict[str, Any] = {}
    for key, value in source.items():
        if key not in _OPTION_KEYS:
            where = member("", key)
            raise EncodeError(f"{where}: not an option (expected one of {', '.join(_OPTION_KEYS)})",
                              path=where, value=key, has_value=True)
        if value is None:
            continue
        if key == "mutable_data":
            if not isinstance(value, list):
                raise _fail(key, value, "a list of base64 strings")
            value = [_base64(f"{key}[{i}]", blob) for i, blob in enumerate(value)]
        elif key == "named_data":
            value = _named_data(key, value)
        elif key == "extract_delegate_segments":
            if not isinstance(value, bool):
                raise _fail(key, value, "true or false")
        else:
            value = _alignment(key, value, MAX_SEGMENT_ALIGNMENT if key == "segment_alignment"
                               else MAX_FLATBUFFER_ALIGNMENT)
        options[key] = value
    # Each key is one of EncodeOptions' (a test holds them equal) and each
    # value was checked above as that key's type.
    return cast("EncodeOptions", options)


# The .ptd payload's JSON form (tests/data/corpus-ptd/*/payload.json).

_PAYLOAD_KEYS = ("segment_alignment", "buffers", "named_data")
_ENTRY_KEYS = ("buffer_index", "alignment", "tensor_layout")
_LAYOUT_KEYS = ("scalar_type", "sizes", "dim_order")


def _json_integer(path: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, value, "an integer", root="payload")
    number: int = value
    return number


def _json_integers(path: str, value: Any) -> List[int]:
    if not isinstance(value, list):
        raise _fail(path, value, "a list of integers", root="payload")
    return [_json_integer(f"{path}[{i}]", item) for i, item in enumerate(value)]


def _json_object(path: str, value: Any, known: Tuple[str, ...], what: str) -> Dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, value, f"an object ({what})", root="payload")
    _check_keys(path, value, known, what)
    return value


def _json_layout(path: str, value: Any) -> TensorLayout:
    layout = _json_object(path, value, _LAYOUT_KEYS, "a TensorLayout")
    for name in _LAYOUT_KEYS:
        if name not in layout:
            raise _missing(f"{path}.{name}", "an integer" if name == "scalar_type" else "a list of integers")
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
        source = _parse(source)
    data = _json_object("", source, _PAYLOAD_KEYS, "a payload")
    options: Dict[str, Any] = {}
    if data.get("segment_alignment") is not None:
        options["segment_alignment"] = check_segment_alignment(
            _json_integer("segment_alignment", data["segment_alignment"]))
    if "buffers" not in data:
        raise _missing("buffers", _BUFFERS)
    buffers = data["buffers"]
    if not isinstance(buffers, list):
        raise _fail("buffers", buffers, _BUFFERS)
    blobs = [_base64(f"buffers[{i}]", item) for i, item in enumerate(buffers)]
    if "named_data" not in data:
        raise _missing("named_data", _NAMED)
    named = data["named_data"]
    if not isinstance(named, dict):
        raise _fail("named_data", named, _NAMED)
    duplicate = getattr(named, "duplicate", None)
    if duplicate is not None:
        where = f"named_data[{key_text(duplicate)}]"
        raise EncodeError(f"{where}: key set more than once", path=where)
    entries: Dict[str, DataEntry] = {}
    for key, entry in named.items():
        where = f"named_data[{key_text(key)}]"
        fields = _json_object(where, entry, _ENTRY_KEYS, "a named data entry")
        if "buffer_index" not in fields:
            raise _missing(f"{where}.buffer_index", "an integer")
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
