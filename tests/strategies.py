"""Hypothesis strategies for whole programs, derived from the schema layouts.

Every table, union member, enum value and vector kind is reachable; lists may
be absent (None) or empty; integers reach their extremes; strings reach
non-ASCII text; doubles reach NaN and the infinities.
"""

from __future__ import annotations

import math
import struct
from typing import Any, Dict

from hypothesis import strategies as st

from pte_encoder.schemas.program.codec import PROGRAM
from pte_encoder.engine.codec import Codec
from pte_encoder.engine.templates import SHORT_VECTOR

_RANGES = {c: (-(2 ** (8 * struct.calcsize(c) - 1)), 2 ** (8 * struct.calcsize(c) - 1) - 1)
           for c in "bhiq"}
_RANGES.update({c: (0, 2 ** (8 * struct.calcsize(c)) - 1) for c in "BHIQ"})

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


def integers(fmt: str) -> st.SearchStrategy[int]:
    low, high = _RANGES[fmt]
    return st.one_of(st.sampled_from([low, high, 0, 1]), st.integers(low, high))


def doubles(flatc_safe: bool) -> st.SearchStrategy[Any]:
    """Doubles; flatc_safe leaves out what JSON cannot carry to flatc
    (-0.0, which flatc drops, and NaNs other than the canonical one)."""
    values = st.floats(allow_nan=not flatc_safe, allow_infinity=True)
    if flatc_safe:
        values = values.filter(lambda x: not (x == 0 and math.copysign(1, x) < 0))
        values = st.one_of(values, st.just(math.nan))
    return st.one_of(values, st.sampled_from(["inf", "-inf"]), st.just(0.0))


def scalar(fmt: str, enum: Any, flatc_safe: bool, codec: Codec = PROGRAM) -> st.SearchStrategy[Any]:
    if fmt == "?":
        return st.booleans()
    if fmt in "df":
        return doubles(flatc_safe)
    if enum:
        members = list(codec.enum_types[enum])
        return st.one_of(st.sampled_from(members), st.sampled_from([int(m) for m in members]))
    return integers(fmt)


def table(name: str, flatc_safe: bool = True, dense: bool = False,
          codec: Codec = PROGRAM) -> st.SearchStrategy[Any]:
    """Objects of one table of ``codec``'s schema (default: the program's).
    Dense ones have every optional field present and every list non-empty, so
    that deep tables (Frame, say) come up often."""
    min_size = 1 if dense else 0
    size = 2 if dense else 3

    def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return strategy if dense else st.one_of(st.none(), strategy)

    kwargs: Dict[str, st.SearchStrategy[Any]] = {}
    for f in codec.schema.tables[name]:
        attr, kind, elem, enum = f.name, f.kind, str(f.elem), f.enum
        if kind == "SCALAR":
            kwargs[attr] = scalar(elem, enum, flatc_safe, codec)
        elif kind == "STRING":
            kwargs[attr] = maybe(TEXT)
        elif kind == "TABLE":
            kwargs[attr] = maybe(st.deferred(lambda e=elem: table(e, flatc_safe, dense, codec)))
        elif kind == "UNION":
            members = [st.deferred(lambda m=m: table(m, flatc_safe, dense, codec))
                       for m in codec.schema.unions[elem]]
            kwargs[attr] = maybe(st.one_of(members))
        elif kind == "TABLE_VECTOR":
            item = st.deferred(lambda e=elem: table(e, flatc_safe, dense, codec))
            kwargs[attr] = maybe(st.lists(item, min_size=min_size, max_size=size))
        elif elem == "B" and enum is None:
            kwargs[attr] = maybe(st.one_of(st.binary(max_size=40),
                                           st.lists(st.integers(0, 255), min_size=min_size, max_size=5)))
        else:
            kwargs[attr] = maybe(scalar_vectors(scalar(elem, enum, flatc_safe, codec), min_size))
    return st.builds(codec.models[name], **kwargs)


def scalar_vectors(item: st.SearchStrategy[Any], min_size: int) -> st.SearchStrategy[Any]:
    """Short lists, tuples, and lists around the length beyond which a template
    takes a vector as one packed value (engine.templates.SHORT_VECTOR)."""
    return st.one_of(st.lists(item, min_size=min_size, max_size=5),
                     st.lists(item, min_size=min_size, max_size=5).map(tuple),
                     st.lists(item, min_size=SHORT_VECTOR, max_size=SHORT_VECTOR + 4))


def programs(flatc_safe: bool = True) -> st.SearchStrategy[Any]:
    return st.one_of(table("Program", flatc_safe), table("Program", flatc_safe, dense=True))


# flatc refuses force_align above 32 once it meets such a vector; we do not.
FLATC_ALIGNMENTS = st.sampled_from([None, 1, 2, 4, 8, 16, 32])
ALIGNMENTS = st.sampled_from([None, 1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096])
