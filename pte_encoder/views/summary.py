"""What is inside a decoded .pte or .ptd, as a JSON-able summary and as text (``inspect``)."""

from __future__ import annotations

import operator
from collections import Counter
from typing import Any, Dict, List, Optional

from ..schemas.program import model
from ..engine.errors import one_line
from ..formats.ptd.read import PtdFile
from ..formats.pte.read import PteFile
from .xnnpack import delegate_lines, xnnpack_delegate

__all__ = ["summarize", "format_summary", "summarize_data_file", "format_data_summary"]


def _nbytes(blob: Any) -> int:
    return len(memoryview(blob)) if blob is not None and not isinstance(blob, list) \
        else len(blob or [])


def _dtype(value: Any) -> str:
    return value.name.lower() if isinstance(value, model.ScalarType) else f"dtype {int(value)}"


def _describe(value: Optional[model.EValue]) -> str:
    """One value in a few words: ``Tensor float[1, 3]``, ``Int 4``, ..."""
    val = value.val if value is not None else None
    if val is None:
        return "none"
    kind = type(val).__name__
    if isinstance(val, model.Tensor):
        sizes = ", ".join(str(s) for s in val.sizes or [])
        dynamic = "" if val.shape_dynamism in (0, None) else " (dynamic)"
        return f"Tensor {_dtype(val.scalar_type)}[{sizes}]{dynamic}"
    if isinstance(val, model.Int):
        return f"{kind} {val.int_val}"
    if isinstance(val, model.Bool):
        return f"{kind} {val.bool_val}"
    if isinstance(val, model.Double):
        return f"{kind} {val.double_val}"
    if isinstance(val, model.String):
        return f"String {val.string_val!r}"
    items = getattr(val, "items", None)
    if items is not None:
        return f"{kind} of {len(items)}"
    return kind


def _method(pte: PteFile, index: int, plan: model.ExecutionPlan,
            stored_plan: Optional[model.ExecutionPlan]) -> Dict[str, Any]:
    values = plan.values or []

    def describe(i: int) -> Dict[str, Any]:
        value = values[i] if 0 <= i < len(values) else None
        return {"index": i, "value": _describe(value) if value is not None else "out of range"}

    operators = plan.operators or []
    calls: Counter[str] = Counter()
    instructions: Counter[str] = Counter()
    for chain in plan.chains or []:
        for instruction in chain.instructions or []:
            args = instruction.instr_args
            instructions[type(args).__name__ if args is not None else "none"] += 1
            if isinstance(args, model.KernelCall):
                op = operators[args.op_index] if 0 <= args.op_index < len(operators) else None
                calls[f"{op.name}.{op.overload}" if op and op.overload else
                      (op.name or "?") if op else f"operator {args.op_index}"] += 1
    for op in operators:
        calls.setdefault(f"{op.name}.{op.overload}" if op.overload else op.name or "?", 0)
    delegates = []
    stored_delegates = (stored_plan.delegates if stored_plan else None) or []
    inline = pte.program.backend_delegate_data or []
    for d, delegate in enumerate(plan.delegates or []):
        ref = delegate.processed
        blob = inline[ref.index].data if ref is not None and 0 <= ref.index < len(inline) else None
        stored_ref = stored_delegates[d].processed if d < len(stored_delegates) else ref
        where = "inline"
        if stored_ref is not None and stored_ref.location == model.DataLocation.SEGMENT:
            where = f"segment {stored_ref.index}"
        delegates.append({"id": delegate.id, "bytes": _nbytes(blob), "stored": where,
                          "compile_specs": [c.key for c in delegate.compile_specs or []],
                          **xnnpack_delegate(pte, delegate.id, blob)})
    return {
        "name": plan.name,
        "inputs": [describe(i) for i in plan.inputs or []],
        "outputs": [describe(i) for i in plan.outputs or []],
        "values": dict(Counter(type(v.val).__name__ if v.val is not None else "none"
                               for v in values).most_common()),
        "value_count": len(values),
        "instructions": dict(instructions.most_common()),
        "operators": dict(calls.most_common()),
        "delegates": delegates,
        "memory_planned_buffers": list(plan.non_const_buffer_sizes or []),
    }


def summarize(pte: PteFile) -> Dict[str, Any]:
    """A JSON-able summary: methods, segments, constants, named data, sizes."""
    program, stored = pte.program, pte.stored or pte.program
    header = pte.header
    program_size = header.program_size if header else pte.size
    base = header.segment_base_offset if header else 0
    segments = []
    by_role: Counter[str] = Counter()
    for i, segment in enumerate(stored.segments or []):
        if not base:  # as ExecuTorch: without a header, segments are not in this file
            segments.append({"index": i, "offset": None, "size": segment.size,
                             "holds": ["not in this file (no extended header)"]})
            continue
        roles = pte.segment_roles[i] if i < len(pte.segment_roles) else []
        segments.append({"index": i, "offset": base + segment.offset, "size": segment.size,
                         "holds": roles})
        kind = roles[0].split(" ")[0] if roles else "unused"
        by_role["named data" if kind == "named" else
                "mutable data" if kind == "mutable" else
                "delegate data" if kind == "delegate" else kind] += segment.size
    constants = [_nbytes(b.storage) for b in program.constant_buffer or []]
    inline_constants = sum(_nbytes(b.storage) for b in stored.constant_buffer or [])
    inline_delegates = sum(_nbytes(d.data) for d in stored.backend_delegate_data or [])
    named = []
    if pte.named_data is not None:
        for key, entry in pte.named_data.pte_data.items():
            index = operator.index(entry.buffer_index)
            named.append({"key": key, "bytes": _nbytes(pte.named_data.buffers[index]), "buffer": index})
    stored_plans = stored.execution_plan or []
    sizes = {"header": (header.length + 8) if header else 8,
             "program": program_size - ((header.length + 8) if header else 8)
             - inline_constants - inline_delegates}
    if inline_constants:
        sizes["constants inline"] = inline_constants
    if inline_delegates:
        sizes["delegate data inline"] = inline_delegates
    for role, size in sorted(by_role.items()):
        sizes[role] = size
    sizes["padding"] = pte.size - sum(sizes.values())
    return {
        "file_bytes": pte.size,
        "version": program.version,
        "extended_header": None if header is None else {
            "program_size": header.program_size, "segment_base_offset": base,
            "segment_data_size": header.segment_data_size},
        "methods": [_method(pte, i, plan, stored_plans[i] if i < len(stored_plans) else None)
                    for i, plan in enumerate(program.execution_plan or [])],
        "segments": segments,
        "constants": {"count": sum(1 for n in constants if n), "bytes": sum(constants),
                      "buffers": len(constants)},
        "mutable_data": None if pte.mutable_data is None else {
            "count": len(pte.mutable_data), "bytes": sum(len(b) for b in pte.mutable_data)},
        "named_data": named,
        "bytes_by_category": sizes,
    }


def _n(value: int) -> str:
    return f"{value:,}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _counts(counts: Dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items()) or "none"


def format_summary(name: str, summary: Dict[str, Any]) -> str:
    """The summary as text for a terminal."""
    lines: List[str] = []
    header = summary["extended_header"]
    where = (f"program {_n(header['program_size'])} bytes, segments from byte "
             f"{_n(header['segment_base_offset'])}") if header else "no extended header"
    lines.append(f"{name}: {_n(summary['file_bytes'])} bytes, ExecuTorch program version "
                 f"{summary['version']}, {where}")
    for method in summary["methods"]:
        count = sum(method["instructions"].values())
        lines.append(f"method {method['name']}: {method['value_count']} values, "
                     f"{count} instruction{'' if count == 1 else 's'} "
                     f"({_counts(method['instructions'])})")
        for label in ("inputs", "outputs"):
            items = method[label]
            text = "; ".join(f"%{v['index']} {v['value']}" for v in items) or "none"
            lines.append(f"  {label}: {text}")
        lines.append(f"  values: {_counts(method['values'])}")
        lines.append(f"  operators (calls): {_counts(method['operators'])}")
        for d in method["delegates"]:
            lines.append(f"  delegate {d['id']}: {_n(d['bytes'])} bytes, {d['stored']}")
            lines += delegate_lines(d)
        if method["memory_planned_buffers"]:
            lines.append("  memory-planned buffers: "
                         + ", ".join(_n(n) for n in method["memory_planned_buffers"]) + " bytes")
    constants = summary["constants"]
    lines.append(f"constants: {_plural(constants['count'], 'tensor')}, "
                 f"{_n(constants['bytes'])} bytes")
    if summary["mutable_data"]:
        mutable = summary["mutable_data"]
        lines.append(f"mutable data: {_plural(mutable['count'], 'tensor')}, "
                     f"{_n(mutable['bytes'])} bytes")
    if summary["named_data"]:
        lines.append(_named_total(summary["named_data"], "buffer"))
        for entry in summary["named_data"]:
            lines.append(f"  {entry['key']}: {_n(entry['bytes'])} bytes")
    if summary["segments"]:
        lines.append("segments:")
        for s in summary["segments"]:
            where = f"byte {_n(s['offset'])}" if s["offset"] is not None else "no offset"
            lines.append(f"  {s['index']}: {where}, {_n(s['size'])} bytes, "
                         f"{one_line(', '.join(s['holds'])) or 'unused'}")
    lines.append("bytes by category: " + ", ".join(
        f"{name} {_n(size)}" for name, size in summary["bytes_by_category"].items()))
    return "\n".join(lines)


def summarize_data_file(ptd: PtdFile) -> Dict[str, Any]:
    """A JSON-able summary of a .ptd: named data (sizes, dtype, shape),
    segments, sizes by category."""
    header, payload = ptd.header, ptd.payload
    named = []
    for key, entry in payload.named_data.items():
        index = operator.index(entry.buffer_index)
        item: Dict[str, Any] = {"key": key, "bytes": len(payload.buffers[index]),
                                "segment": index}
        layout = entry.tensor_layout
        if layout is not None:
            item["dtype"] = _dtype(layout.scalar_type)
            item["sizes"] = list(layout.sizes)
            item["dim_order"] = list(layout.dim_order)
        named.append(item)
    segments: List[Dict[str, Any]] = [
        {"index": i, "offset": header.segment_base_offset + segment.offset,
         "size": segment.size, "holds": ptd.segment_keys[i]}
        for i, segment in enumerate(ptd.stored.segments or [])]
    sizes = {"header": 8 + header.length,
             "flatbuffer": header.flatbuffer_end - 8 - header.length}
    named_bytes = sum(s["size"] for s in segments if s["holds"])
    unused = sum(s["size"] for s in segments if not s["holds"])
    sizes["named data"] = named_bytes
    if unused:
        sizes["unused segments"] = unused
    sizes["padding"] = ptd.size - sum(sizes.values())
    return {
        "file_bytes": ptd.size,
        "version": ptd.stored.version,
        "header": {"flatbuffer_offset": header.flatbuffer_offset,
                   "flatbuffer_size": header.flatbuffer_size,
                   "segment_base_offset": header.segment_base_offset,
                   "segment_data_size": header.segment_data_size},
        "segment_alignment": ptd.segment_alignment,
        "named_data": named,
        "segments": segments,
        "bytes_by_category": sizes,
    }


def _shape(entry: Dict[str, Any]) -> str:
    if "dtype" not in entry:
        return "no tensor layout"
    text = f"{entry['dtype']}[{', '.join(str(s) for s in entry['sizes'])}]"
    if entry["dim_order"] != list(range(len(entry["dim_order"]))):
        text += f" dim_order ({', '.join(str(d) for d in entry['dim_order'])})"
    return text


def _named_total(named: List[Dict[str, Any]], holder: str) -> str:
    """The named data's line: its keys, and the bytes of the blobs they name,
    each counted once however many keys share it (``holder``: the entries'
    field telling which blob)."""
    sizes = {entry[holder]: entry["bytes"] for entry in named}
    text = f"named data: {_plural(len(named), 'key')}, {_n(sum(sizes.values()))} bytes"
    if len(sizes) < len(named):
        text += f" in {_plural(len(sizes), holder)}"
    return text


def format_data_summary(name: str, summary: Dict[str, Any]) -> str:
    """The .ptd summary as text for a terminal."""
    header = summary["header"]
    lines = [f"{name}: {_n(summary['file_bytes'])} bytes, ExecuTorch data file version "
             f"{summary['version']}, flatbuffer {_n(header['flatbuffer_offset'] + header['flatbuffer_size'])} "
             f"bytes, segments from byte {_n(header['segment_base_offset'])} "
             f"(alignment {_n(summary['segment_alignment'])})"]
    named = summary["named_data"]
    lines.append(_named_total(named, "segment"))
    for entry in named:
        lines.append(f"  {one_line(entry['key'])}: {_shape(entry)}, {_n(entry['bytes'])} bytes, "
                     f"segment {entry['segment']}")
    if summary["segments"]:
        lines.append("segments:")
        for s in summary["segments"]:
            lines.append(f"  {s['index']}: byte {_n(s['offset'])}, {_n(s['size'])} bytes, "
                         f"{one_line(', '.join(s['holds'])) or 'unused'}")
    lines.append("bytes by category: " + ", ".join(
        f"{name} {_n(size)}" for name, size in summary["bytes_by_category"].items()))
    return "\n".join(lines)
