"""The touch bound: read every field of a program once, and nothing more.

A pure-Python encoder has to do at least this much work; the benchmark
reports our encoder's time as a multiple of it.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

from pte_encoder import _layouts

Walker = Callable[[Any], None]


def _walker(table: str, walkers: Dict[str, Walker]) -> Walker:
    fields = [(name, kind, elem) for name, kind, _slot, elem, *_ in _layouts.TABLES[table]]

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


def touch_all() -> Walker:
    walkers: Dict[str, Walker] = {}
    for table in _layouts.TABLES:
        walkers[table] = _walker(table, walkers)
    return walkers[_layouts.ROOT_TABLE]


touch_program = touch_all()
