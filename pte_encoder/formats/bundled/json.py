"""ExecuTorch's dataclass JSON form of a bundled program, with its layout.

The form is what ExecuTorch's ``json.dumps(bp, cls=_DataclassEncoder)``
writes for a ``bp_schema.BundledProgram`` (and hands to flatc in its legacy
writer): fields in schema order, ``val`` followed by ``val_type`` naming the
member table, scalar types as integers, byte vectors (``data``,
``dim_order``, ``program``) as lists of integers. :func:`bundled_to_json`
writes it indented by one space, as the corpus's ``bundled.json`` files are,
and adds one key, ``"layout"``: the layout the bytes were in, so that
encoding the form again gives back the same file. Infinite and NaN doubles
are the strings ``"inf"``, ``"-inf"`` and ``"nan"`` (ExecuTorch's encoder
writes ``Infinity`` and ``NaN``, which flatc refuses); an empty Value has no
``val`` key.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Tuple, Union, cast

from ...engine.check import check_root
from ...engine.flatc_json import JsonObject, json_error, parse_json, table_to_json
from ...schemas.bundled_program import model
from ...schemas.bundled_program.codec import BUNDLED_PROGRAM

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from ..common.types import LayoutName
    from ...schemas.bundled_program.types import BundledProgramLike

__all__ = ["bundled_to_json", "bundled_json_chunks", "bundled_from_json", "LAYOUT_KEY"]

_PIECE = 1 << 16

#: The key the layout goes in, beside the bundled program's fields.
LAYOUT_KEY = "layout"
_LAYOUTS = ("flatc", "flatbuffers")


def bundled_to_json(bundled: BundledProgramLike, layout: Optional[LayoutName] = None) -> str:
    """``bundled`` in ExecuTorch's dataclass JSON form (indented by one space,
    with a final newline), and ``"layout": layout`` last unless ``layout`` is
    None. Raises :class:`EncodeError` naming the place of a bad value."""
    return b"".join(bundled_json_chunks(bundled, layout)).decode("utf-8")


def bundled_json_chunks(bundled: BundledProgramLike, layout: Optional[LayoutName] = None
                        ) -> Iterator[bytes]:
    """:func:`bundled_to_json`'s text, UTF-8 encoded, in pieces of about 64 KiB:
    written as they come, the text is never whole in memory (indented JSON
    would be some ten small strings per number of a tensor's shape)."""
    schema = BUNDLED_PROGRAM.schema
    check_root(schema, bundled)
    form = table_to_json(schema, schema.root_table, bundled)
    if layout is not None:
        BUNDLED_PROGRAM.layout(layout)
        form[LAYOUT_KEY] = layout
    batch: List[str] = []
    size = 0
    for piece in json.JSONEncoder(indent=1).iterencode(form):
        batch.append(piece)
        size += len(piece)
        if size >= _PIECE:
            yield "".join(batch).encode("utf-8")
            batch, size = [], 0
    batch.append("\n")
    yield "".join(batch).encode("utf-8")


def bundled_from_json(source: Union[str, bytes, Dict[str, Any]]
                      ) -> Tuple[model.BundledProgram, Optional[LayoutName]]:
    """The bundled program in ExecuTorch's dataclass JSON form (text, or
    already parsed), and the layout its ``"layout"`` key names (None if it
    has none). Raises :class:`EncodeError` naming the JSON path of a bad
    value."""
    if isinstance(source, (str, bytes, bytearray)):
        source = parse_json(source)
    if not isinstance(source, dict):
        raise json_error("", source, "an object (a BundledProgram)", root=BUNDLED_PROGRAM.schema.name)
    layout = None
    if LAYOUT_KEY in source:
        fields = JsonObject(source)  # (the caller's dict is not changed)
        fields.duplicate = getattr(source, "duplicate", None)  # a key set twice is still refused
        layout = fields.pop(LAYOUT_KEY)
        source = fields
        if layout not in _LAYOUTS:
            raise json_error(LAYOUT_KEY, layout, " or ".join(map(repr, _LAYOUTS)))
    bundled: model.BundledProgram = BUNDLED_PROGRAM.from_json(source)
    return bundled, cast("Optional[LayoutName]", layout)
