"""ExecuTorch's JSON forms of a .pte: the Program (read into the model and
written back) and the options of :func:`~pte_encoder.encode_program`.

The program's form is the one ExecuTorch hands to ``flatc``: fields in
schema order, a union field ``X`` followed by ``X_type`` naming the member
table, enums as integers, byte vectors as lists of integers, absent fields
as ``null`` and infinite doubles as the strings ``"inf"`` and ``"-inf"``
(the engine reads and writes it for any schema: engine/flatc_json.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Union, cast

from ...engine.errors import EncodeError, key_text, member
from ...engine.flatc_json import check_keys, json_error, missing_key, parse_json
from ...schemas.program import model
from ...schemas.program.codec import PROGRAM
from ..common.entries import check_entry
from ..common.jsonblobs import base64_blob
from ..common.payload import DataEntry, NamedDataOutput
from ..common.segments import MAX_SEGMENT_ALIGNMENT, check_alignment
from .flatbuffer import MAX_FLATBUFFER_ALIGNMENT

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from ...schemas.program.types import ProgramLike
    from .types import EncodeOptions

__all__ = ["program_from_json", "program_to_json", "options_from_json"]


def program_from_json(source: Union[str, bytes, Dict[str, Any]]) -> model.Program:
    """Read a Program from ExecuTorch's JSON form (text, or already parsed).

    Raises :class:`EncodeError` naming the JSON path of a bad value.
    """
    program: model.Program = PROGRAM.from_json(source)
    return program


def program_to_json(program: ProgramLike) -> str:
    """Write a Program in ExecuTorch's JSON form, as flatc reads it.

    The program is checked as :func:`encode_flatbuffer` checks it: bad input
    raises :class:`EncodeError` naming the place.
    """
    return PROGRAM.to_json(program)


OPTION_KEYS = ("layout", "extract_delegate_segments", "segment_alignment", "constant_tensor_alignment",
                "delegate_alignment", "mutable_data", "named_data")
_LAYOUTS = ("flatc", "flatbuffers")


def _alignment(path: str, value: Any, limit: int) -> Any:
    if isinstance(value, bool):  # check_alignment refuses it too; this says it in JSON
        raise json_error(path, value, "a power of two")
    return check_alignment(path, value, limit)


def _named_data(path: str, value: Any) -> NamedDataOutput:
    if not isinstance(value, dict):
        raise json_error(path, value, "an object with 'buffers' and 'pte_data'")
    check_keys(path, value, ("buffers", "pte_data"), "named_data")
    for name in ("buffers", "pte_data"):
        if name not in value:
            raise missing_key(f"{path}.{name}", "a list of base64 strings" if name == "buffers"
                           else "an object of key -> {buffer_index, alignment}")
    buffers, pte_data = value["buffers"], value["pte_data"]
    if not isinstance(buffers, list):
        raise json_error(f"{path}.buffers", buffers, "a list of base64 strings")
    if not isinstance(pte_data, dict):
        raise json_error(f"{path}.pte_data", pte_data, "an object of key -> {buffer_index, alignment}")
    check_keys(f"{path}.pte_data", pte_data, pte_data.keys(), "pte_data")
    blobs = [base64_blob(f"{path}.buffers[{i}]", b) for i, b in enumerate(buffers)]
    entries = {}
    for name, entry in pte_data.items():
        where = f"{path}.pte_data[{key_text(name)}]"
        if not isinstance(entry, dict):
            raise json_error(where, entry, "an object with 'buffer_index' and 'alignment'")
        check_keys(where, entry, ("buffer_index", "alignment"), "a pte_data entry")
        if "buffer_index" not in entry:
            raise missing_key(f"{where}.buffer_index", "an integer")
        index = entry["buffer_index"]
        if isinstance(index, bool) or not isinstance(index, int):
            raise json_error(f"{where}.buffer_index", index, f"an index into the {len(blobs)} {path}.buffers")
        alignment = entry.get("alignment")
        if isinstance(alignment, bool):
            raise json_error(f"{where}.alignment", alignment, "a power of two")
        entries[name] = DataEntry(index, 1 if alignment is None else alignment)
        # The check encode_program makes, here (values as JSON shows them checked above).
        check_entry(f"{path}.pte_data", name, entries[name], len(blobs), f"{path}.buffers", layouts=False)
    return NamedDataOutput(blobs, entries)


def options_from_json(source: Union[str, bytes, Dict[str, Any]]) -> EncodeOptions:
    """Read :func:`encode_program`'s keyword arguments from their JSON form.

    The form is that of the corpus ``options.json``: ``layout`` ("flatc" or
    "flatbuffers"), the alignments and
    ``extract_delegate_segments`` as they are, ``mutable_data`` as a list of
    base64 blobs, ``named_data`` as ``buffers`` (base64 blobs) and
    ``pte_data`` (key -> ``buffer_index``, ``alignment``). ``null`` or a
    missing key means the default (an entry's missing ``alignment``: 1).
    Every value is checked here, as :func:`encode_program` checks it; bad
    input raises :class:`EncodeError` naming the option.
    """
    if isinstance(source, (str, bytes, bytearray)):
        source = parse_json(source)
    if not isinstance(source, dict):
        raise json_error("", source, "an object", root="options")
    duplicate = getattr(source, "duplicate", None)
    if duplicate is not None:
        where = member("", duplicate)
        raise EncodeError(f"{where}: option set more than once", path=where)
    options: Dict[str, Any] = {}
    for key, value in source.items():
        if key not in OPTION_KEYS:
            where = member("", key)
            raise EncodeError(f"{where}: not an option (expected one of {', '.join(OPTION_KEYS)})",
                              path=where, value=key, has_value=True)
        if value is None:
            continue
        if key == "mutable_data":
            if not isinstance(value, list):
                raise json_error(key, value, "a list of base64 strings")
            value = [base64_blob(f"{key}[{i}]", blob) for i, blob in enumerate(value)]
        elif key == "named_data":
            value = _named_data(key, value)
        elif key == "layout":
            if value not in _LAYOUTS:
                raise json_error(key, value, " or ".join(f'"{name}"' for name in _LAYOUTS))
        elif key == "extract_delegate_segments":
            if not isinstance(value, bool):
                raise json_error(key, value, "true or false")
        else:
            value = _alignment(key, value, MAX_SEGMENT_ALIGNMENT if key == "segment_alignment"
                               else MAX_FLATBUFFER_ALIGNMENT)
        options[key] = value
    # Each key is one of EncodeOptions' (a test holds them equal) and each
    # value was checked above as that key's type.
    return cast("EncodeOptions", options)
