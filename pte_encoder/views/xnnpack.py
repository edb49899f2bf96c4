"""What is inside an XNNPACK delegate blob, for ``inspect``: its nodes by
type, its values (external inputs and outputs, internal, constants), and
where its constants are (bytes in the blob's own constant data, or keys of
the program's named data), as a JSON-able summary and as text.

A blob is summarized alone (``inspect blob.bin``) or as a delegate of a
.pte (backend id ``XnnpackBackend``), where each named key is looked up in
the file's named data. A delegate whose blob does not decode is reported
as such (``{"error": ...}``), never raised.
"""

from __future__ import annotations

import operator
from collections import Counter
from typing import Any, Dict, List, Mapping, Optional

from ..engine.errors import DecodeError, one_line
from ..formats.pte.read import PteFile
from ..formats.xnnpack.read import XnnpackBlob, decode_xnnpack_blob
from ..schemas.xnnpack import model

__all__ = ["BACKEND_ID", "summarize_xnnpack", "format_xnnpack", "format_blob_summary",
           "xnnpack_delegate", "delegate_lines"]

# The backend id ExecuTorch's XNNPACK delegates carry.
BACKEND_ID = "XnnpackBackend"
# XNNTensorValue.flags bits (the runtime refuses any other)
_EXTERNAL_INPUT, _EXTERNAL_OUTPUT = 1, 2


def _n(value: int) -> str:
    return f"{value:,}"


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items()) or "none"


def _datatype(value: Any) -> str:
    if isinstance(value, model.XNNDatatype):
        return value.name[len("xnn_datatype_"):]
    return f"datatype {int(value)}"


def summarize_xnnpack(blob: XnnpackBlob, named_sizes: Optional[Mapping[str, int]] = None
                      ) -> Dict[str, Any]:
    """A JSON-able summary of a decoded blob. ``named_sizes`` (key -> bytes)
    is the named data of the program holding it, if known: each named
    constant gets ``stored_bytes``, its size there (None if the key is not
    in it, as for weights in an external .ptd)."""
    graph = blob.graph
    nodes = graph.xnodes or []
    listed = [{"type": type(n.xnode_union).__name__ if n.xnode_union is not None else "none",
               "debug_handle": n.debug_handle} for n in nodes]
    values: Counter[str] = Counter()
    datatypes: Counter[str] = Counter()
    for value in graph.xvalues or []:
        union = value.xvalue_union
        tensor = union.tensor_value if isinstance(union, model.XNNQuantizedTensorValue) else union
        if not isinstance(tensor, model.XNNTensorValue):
            values["none"] += 1
            continue
        if isinstance(union, model.XNNQuantizedTensorValue):
            values["quantized"] += 1
        datatypes[_datatype(tensor.datatype)] += 1
        if tensor.flags & _EXTERNAL_INPUT:
            values["external_inputs"] += 1
        if tensor.flags & _EXTERNAL_OUTPUT:
            values["external_outputs"] += 1
        if tensor.constant_buffer_idx:
            values["constants"] += 1
        elif not tensor.flags & (_EXTERNAL_INPUT | _EXTERNAL_OUTPUT):
            values["internal"] += 1
    named, in_blob = [], []
    # Entry 0 is reserved (an index of 0 means "no constant"). An entry with
    # a named key (even "") is the named data's, as the runtime reads it.
    for index, entry in enumerate(graph.constant_data or []):
        if index == 0:
            continue
        if entry.named_key is not None:
            item: Dict[str, Any] = {"index": index, "key": entry.named_key, "bytes": entry.size}
            if named_sizes is not None:
                item["stored_bytes"] = named_sizes.get(entry.named_key)
            named.append(item)
        else:
            in_blob.append({"index": index, "offset": entry.offset, "bytes": entry.size})
    header = blob.header
    return {
        "blob_bytes": blob.size,
        "header": None if header is None else {
            "flatbuffer_offset": header.flatbuffer_offset, "flatbuffer_size": header.flatbuffer_size,
            "constant_data_offset": header.constant_data_offset,
            "constant_data_size": header.constant_data_size},
        "version": graph.version,
        "node_count": len(nodes),
        "node_types": dict(Counter(item["type"] for item in listed).most_common()),
        "nodes": listed,
        "value_count": len(graph.xvalues or []),
        "values": {key: values[key] for key in ("external_inputs", "external_outputs", "internal",
                                                "constants", "quantized", "none") if values[key]},
        "datatypes": dict(datatypes.most_common()),
        "num_externs": graph.num_externs,
        "input_ids": list(graph.input_ids or []),
        "output_ids": list(graph.output_ids or []),
        "constant_data_bytes": len(blob.constant_data),
        "constants": {"named": named, "named_bytes": sum(c["bytes"] for c in named),
                      "in_blob": in_blob, "in_blob_bytes": sum(c["bytes"] for c in in_blob)},
    }


def format_xnnpack(summary: Dict[str, Any], indent: str = "") -> List[str]:
    """The lines of a blob's summary (or of its error), each starting with ``indent``."""
    if "error" in summary:
        return [f"{indent}XNNPACK blob that does not decode: {one_line(summary['error'])}"]
    lines = [f"{indent}XNNPACK graph: {summary['node_count']} node"
             f"{'' if summary['node_count'] == 1 else 's'} ({_counts(summary['node_types'])})",
             f"{indent}values: {summary['value_count']} "
             f"({_counts({k.replace('_', ' '): v for k, v in summary['values'].items()})}; "
             f"{_counts(summary['datatypes'])}), inputs "
             f"{', '.join(f'%{i}' for i in summary['input_ids']) or 'none'}, outputs "
             f"{', '.join(f'%{i}' for i in summary['output_ids']) or 'none'}"]
    constants = summary["constants"]
    named, in_blob = constants["named"], constants["in_blob"]
    text = f"{indent}constants: {len(named)} named, {_n(constants['named_bytes'])} bytes"
    stored = [c for c in named if "stored_bytes" in c]
    if named and not stored:
        text += " (keys of the program's named data)"
    if stored:
        here = [c for c in stored if c["stored_bytes"] is not None]
        text += (" (all in this file's named data)" if len(here) == len(named) else
                 f" ({len(here)} in this file's named data, {len(named) - len(here)} not in this file)")
    text += (f"; {len(in_blob)} in the blob's constant data, {_n(constants['in_blob_bytes'])} bytes"
             if in_blob else "; none in the blob's constant data")
    lines.append(text)
    for c in named:
        where = ""
        if "stored_bytes" in c:
            where = (", not in this file" if c["stored_bytes"] is None else
                     f", stored {_n(c['stored_bytes'])} bytes" if c["stored_bytes"] != c["bytes"] else "")
        lines.append(f"{indent}  {c['index']}: {one_line(repr(c['key']) if not c['key'] else c['key'])}, "
                     f"{_n(c['bytes'])} bytes{where}")
    for c in in_blob:
        lines.append(f"{indent}  {c['index']}: {_n(c['bytes'])} bytes at {_n(c['offset'])} of the "
                     "blob's constant data")
    return lines


def format_blob_summary(name: str, summary: Dict[str, Any]) -> str:
    """A blob's summary as text for a terminal (``inspect blob.bin``)."""
    header = summary["header"]
    where = "no header (a bare FlatBuffer)" if header is None else (
        f"FlatBuffer {_n(header['flatbuffer_size'])} bytes at byte {_n(header['flatbuffer_offset'])}, "
        f"constant data {_n(header['constant_data_size'])} bytes at byte "
        f"{_n(header['constant_data_offset'])}")
    lines = [f"{name}: {_n(summary['blob_bytes'])} bytes, XNNPACK delegate blob, graph version "
             f"{one_line(repr(summary['version']))}, {where}"]
    return "\n".join(lines + format_xnnpack(summary))


def _named_sizes(pte: PteFile) -> Dict[str, int]:
    named = pte.named_data
    if named is None:
        return {}
    return {key: len(named.buffers[operator.index(entry.buffer_index)])
            for key, entry in named.pte_data.items()}


def xnnpack_delegate(pte: PteFile, backend_id: Optional[str], blob: Any) -> Dict[str, Any]:
    """For a delegate of ``pte``: ``{"xnnpack": summary}`` if it is an XNNPACK
    one (its summary, or ``{"error": ...}`` when its blob does not decode),
    else ``{}`` (other backends stay opaque)."""
    if backend_id != BACKEND_ID:
        return {}
    if blob is None:
        return {"xnnpack": {"error": "the delegate has no data"}}
    try:
        decoded = decode_xnnpack_blob(blob)
    except DecodeError as exc:
        return {"xnnpack": {"error": str(exc)}}
    return {"xnnpack": summarize_xnnpack(decoded, _named_sizes(pte))}


def delegate_lines(delegate: Dict[str, Any]) -> List[str]:
    """The lines under a delegate's line in a .pte's summary: its compile
    specs' keys, and for an XNNPACK delegate its graph."""
    lines = []
    if delegate.get("compile_specs"):
        lines.append("    compile specs: " + one_line(", ".join(delegate["compile_specs"])))
    if "xnnpack" in delegate:
        lines += format_xnnpack(delegate["xnnpack"], "    ")
    return lines
