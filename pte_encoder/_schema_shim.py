"""Stand-in for the engine's schema records, built from today's _layouts.

The decoder (_reader.py) depends only on this interface: ``Field``,
``Enum`` and a ``Schema`` with ``name``, ``namespace``, ``file_identifier``,
``file_extension``, ``root_table``, ``tables``, ``unions`` and ``enums``.
When ``pte_encoder/engine/schema.py`` lands with the same records, imports
of this module switch to it and this file goes.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple, Optional, Tuple, Union

from . import _layouts


class Field(NamedTuple):
    name: str
    kind: str  # SCALAR, STRING, TABLE, UNION, VECTOR or TABLE_VECTOR
    slot: int  # a union's value slot; its type field is slot - 1
    elem: Optional[str]  # struct format of a scalar (or vector item), else a table or union
    default: Union[None, bool, int, float]
    force_align: int
    enum: Optional[str]


class Enum(NamedTuple):
    name: str
    fmt: str
    values: Tuple[Tuple[str, int], ...]


class Schema(NamedTuple):
    name: str
    namespace: str
    file_identifier: bytes
    file_extension: str
    root_table: str
    tables: Mapping[str, Tuple[Field, ...]]
    unions: Mapping[str, Tuple[str, ...]]
    enums: Mapping[str, Enum]


PROGRAM_SCHEMA = Schema(
    name="program",
    namespace="executorch_flatbuffer",
    file_identifier=_layouts.FILE_IDENTIFIER,
    file_extension=_layouts.FILE_EXTENSION,
    root_table=_layouts.ROOT_TABLE,
    tables={name: tuple(Field(*f) for f in fields) for name, fields in _layouts.TABLES.items()},
    unions=dict(_layouts.UNIONS),
    enums={name: Enum(name, fmt, values) for name, (fmt, values) in _layouts.ENUMS.items()},
)
