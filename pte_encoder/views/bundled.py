"""What is inside a decoded .bpte (a bundled program), as a JSON-able summary
and as text (``inspect``): each method's test cases, their inputs and
expected outputs (dtype and shape of tensors, the value of others), and the
embedded program summarised as ``inspect`` summarises a .pte."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..engine.errors import DecodeError, one_line
from ..formats.pte.read import decode_program
from ..schemas.bundled_program import model
from .summary import format_summary, summarize

__all__ = ["summarize_bundled", "format_bundled_summary"]


def _nbytes(blob: Any) -> int:
    """The size of a decoded blob (a view; a list of ints in a model made by hand)."""
    return 0 if blob is None else len(blob) if isinstance(blob, list) else memoryview(blob).nbytes


def _dtype(value: Any) -> str:
    return value.name.lower() if isinstance(value, model.ScalarType) else f"dtype {int(value)}"


def _value(value: model.Value) -> Dict[str, Any]:
    val = value.val
    if val is None:
        return {"kind": "none"}
    if isinstance(val, model.Tensor):
        return {"kind": "Tensor", "dtype": _dtype(val.scalar_type), "sizes": list(val.sizes or []),
                "dim_order": list(val.dim_order or []),
                "bytes": _nbytes(val.data)}
    if isinstance(val, model.Int):
        return {"kind": "Int", "value": val.int_val}
    if isinstance(val, model.Bool):
        return {"kind": "Bool", "value": val.bool_val}
    double = val.double_val
    if isinstance(double, float) and (double != double or double in (float("inf"), float("-inf"))):
        return {"kind": "Double", "value": repr(double)}  # (JSON has no such numbers)
    return {"kind": "Double", "value": double}


def summarize_bundled(bundled: model.BundledProgram, size: int,
                      layout: Optional[str]) -> Dict[str, Any]:
    """A JSON-able summary of a decoded .bpte of ``size`` bytes, written in
    ``layout`` (None: in neither): version, test suites, the embedded
    program's own summary and the bytes by category. A program that is no
    valid .pte is a :class:`DecodeError` naming it."""
    program = bundled.program
    program_bytes = _nbytes(program)
    # (decoded, ``program`` is a view of the file; a model built by hand may hold a list of ints)
    data = program if isinstance(program, (bytes, bytearray, memoryview)) else bytes(program or b"")
    try:
        program_summary = summarize(decode_program(data)) if program_bytes else None
    except DecodeError as exc:
        raise DecodeError(f"program (the embedded .pte): {exc}", "program", exc.offset) from None
    suites: List[Dict[str, Any]] = []
    tensor_bytes = 0
    for suite in bundled.method_test_suites or []:
        cases = []
        for case in suite.test_cases or []:
            inputs = [_value(v) for v in case.inputs or []]
            outputs = [_value(v) for v in case.expected_outputs or []]
            tensor_bytes += sum(v.get("bytes", 0) for v in inputs + outputs)
            cases.append({"inputs": inputs, "expected_outputs": outputs})
        suites.append({"method_name": suite.method_name, "test_cases": cases})
    return {
        "file_bytes": size,
        "version": bundled.version,
        "layout": layout,
        "method_test_suites": suites,
        "program": program_summary,
        "bytes_by_category": {"program": program_bytes, "tensor data": tensor_bytes,
                              "other": size - program_bytes - tensor_bytes},
    }


def _n(value: int) -> str:
    return f"{value:,}"


def _describe(value: Dict[str, Any]) -> str:
    kind = value["kind"]
    if kind == "Tensor":
        text = f"Tensor {value['dtype']}[{', '.join(str(s) for s in value['sizes'])}]"
        if value["dim_order"] != list(range(len(value["dim_order"]))):
            text += f" dim_order ({', '.join(str(d) for d in value['dim_order'])})"
        return f"{text} ({_n(value['bytes'])} bytes)"
    if kind == "none":
        return "none"
    return f"{kind} {value['value']}"


def format_bundled_summary(name: str, summary: Dict[str, Any]) -> str:
    """The .bpte summary as text for a terminal."""
    layout = summary["layout"]
    written = f"{layout} layout" if layout else "in neither writer's layout"
    lines = [f"{name}: {_n(summary['file_bytes'])} bytes, bundled program version "
             f"{summary['version']}, {written}"]
    for suite in summary["method_test_suites"]:
        cases = suite["test_cases"]
        method = "(no name)" if suite["method_name"] is None else one_line(suite["method_name"])
        lines.append(f"method {method}: {len(cases)} test case{'' if len(cases) == 1 else 's'}")
        for i, case in enumerate(cases):
            for label in ("inputs", "expected_outputs"):
                text = "; ".join(_describe(v) for v in case[label]) or "none"
                lines.append(f"  case {i} {label.replace('_', ' ')}: {text}")
    program = summary["program"]
    if program is None:
        lines.append("embedded program: none")
    else:
        first, *rest = format_summary("embedded program", program).splitlines()
        lines += [first, *("  " + line for line in rest)]
    lines.append("bytes by category: " + ", ".join(
        f"{name} {_n(size)}" for name, size in summary["bytes_by_category"].items()))
    return "\n".join(lines)
