"""The touch bound: read every field of a program once, and nothing more.

A pure-Python encoder has to do at least this much work; the benchmark
reports our encoder's time as a multiple of it.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

from pte_encoder.schemas.program.codec import PROGRAM
from pte_encoder.engine.schema import Schema

Walker = Callable[[Any], None]


def _walker(schema: Schema, table: str, walkers: Dict[str, Walker]) -> Walker:
    fields = [(f.name, f.kind, f.elem) for f in schema.tables[table]]

    def walk(obj: Any) -> None:
        for name, kind, elem in fields:
            value = getattr(obj, name)
            if value is None:
                continue
            if kind == "TABLE":
                walkers[elem](value)
            elif kind == "UNION":
                walkers[type(value).__name__](value)
            elif kind == "TABLE_VECTOR":
                inner = walkers[elem]
                for item in value:
                    inner(item)
            elif kind == "VECTOR":
                for _item in value:
                    pass
    return walk


def touch_all(schema: Schema = PROGRAM.schema) -> Walker:
    """A walker of ``schema``'s root table (default: a program)."""
    walkers: Dict[str, Walker] = {}
    for table in schema.tables:
        walkers[table] = _walker(schema, table, walkers)
    return walkers[schema.root_table]


touch_program = touch_all()
