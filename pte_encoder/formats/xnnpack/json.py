"""An XNNPACK graph's JSON form: ExecuTorch's dataclass JSON.

ExecuTorch hands flatc its ``XNNGraph`` dataclasses as JSON
(``json.dumps(graph, cls=_DataclassEncoder)``): each dataclass an object
of its fields in order; a union field ``X`` followed by ``X_type``, the
member's class name; enums (``XNNDatatype``) as numbers; ``version`` a
string; ``output_min_max`` ``null`` when absent; infinities as the strings
``"+inf"`` and ``"-inf"`` (ExecuTorch's own values); and
``PerChannelGroupQuant``'s deprecated ``scale_bf16`` as ``null``.
:func:`graph_to_json` writes that form (floats as floats: ``0.0`` where
ExecuTorch may have written ``0``; a NaN as ``"nan"``), and
:func:`graph_from_json` reads it (and whatever flatc reads of it), so that
``encode_xnnpack_blob(graph_from_json(text))`` is the blob ExecuTorch
wrote from ``text``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Union

from ...engine.check import check_root
from ...engine.flatc_json import table_to_json
from ...schemas.xnnpack import model
from ...schemas.xnnpack.codec import XNNPACK

if TYPE_CHECKING:
    from ...schemas.xnnpack.types import XNNGraphLike

__all__ = ["graph_to_json", "graph_from_json", "graph_to_json_form"]

# Deprecated fields ExecuTorch's dataclasses still have, written as null:
# table -> (field, the field it follows).
_DATACLASS_ONLY = {"PerChannelGroupQuant": ("scale_bf16", "group_size")}


def _executorch_form(table: str, obj: Dict[str, Any]) -> Dict[str, Any]:
    """The engine's JSON of one table (flatc's form) as ExecuTorch writes it."""
    schema = XNNPACK.schema
    for f in schema.tables[table]:
        value = obj.get(f.name)
        if value is None:
            continue
        if f.kind == "SCALAR" and f.elem in ("f", "d") and value == "inf":
            obj[f.name] = "+inf"
        elif f.kind == "VECTOR" and f.elem in ("f", "d"):
            obj[f.name] = ["+inf" if x == "inf" else x for x in value]
        elif f.kind == "TABLE":
            _executorch_form(str(f.elem), value)
        elif f.kind == "TABLE_VECTOR":
            for item in value:
                _executorch_form(str(f.elem), item)
        elif f.kind == "UNION":
            _executorch_form(obj[f.name + "_type"], value)
    extra = _DATACLASS_ONLY.get(table)
    if extra is None:
        return obj
    name, after = extra
    out: Dict[str, Any] = {}
    for key, value in obj.items():
        out[key] = value
        if key == after:
            out[name] = None
    obj.clear()
    obj.update(out)
    return obj


def graph_to_json_form(graph: XNNGraphLike) -> Dict[str, Any]:
    """``graph`` as the JSON-ready dict of ExecuTorch's dataclass JSON.
    Raises :class:`EncodeError` at the first value that cannot be encoded."""
    schema = XNNPACK.schema
    check_root(schema, graph)
    return _executorch_form(schema.root_table, table_to_json(schema, schema.root_table, graph))


def graph_to_json(graph: XNNGraphLike) -> str:
    """``graph`` as ExecuTorch's dataclass JSON, indented by one space."""
    import json  # here: most programs never write JSON

    return json.dumps(graph_to_json_form(graph), indent=1)


def graph_from_json(source: Union[str, bytes, bytearray, Dict[str, Any]]) -> model.XNNGraph:
    """The graph in ExecuTorch's dataclass JSON ``source`` (text, or parsed),
    as this package's model. :class:`EncodeError` names the JSON path of a
    bad value, as flatc would refuse it (an unknown field, a key given
    twice, a member that is not one, ``true`` in a number)."""
    graph: model.XNNGraph = XNNPACK.from_json(source)
    return graph
