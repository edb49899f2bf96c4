"""A FlatBuffer schema as records: tables of fields, unions and enums.

tools/gen_schema.py writes one :class:`Schema` per ``.fbs`` file (the
``_<name>_schema.py`` modules); everything else reads the schema from it.
Names are short and unique within one schema (the generator resolves
qualified names such as ``other_namespace.Type``).
"""

from __future__ import annotations

from typing import Dict, Iterator, Mapping, NamedTuple, Optional, Tuple, Union

__all__ = ["Field", "Enum", "Schema", "Spec", "KINDS", "CHILD_KINDS"]

# What a field holds. A VECTOR holds scalars; elem is their struct format.
KINDS = ("SCALAR", "STRING", "TABLE", "UNION", "VECTOR", "TABLE_VECTOR")
# Kinds written before their table, as offsets to them.
CHILD_KINDS = ("STRING", "TABLE", "UNION", "VECTOR", "TABLE_VECTOR")

# A table's stored fields for the layout rules (layout.LayoutPolicy.table_packing):
# (presence bit, slot, struct format, is_offset); a union's type and value share a bit.
Spec = Tuple[Tuple[int, int, str, bool], ...]


# The two records are made with NamedTuple's functional form, which takes
# the field types as objects: the class form would read this module's
# annotations as strings (see the __future__ import) and compile each one
# into a ForwardRef, a millisecond of import time.

Field = NamedTuple("Field", [("name", str), ("kind", str), ("slot", int), ("elem", Optional[str]),
                             ("default", Union[None, bool, int, float]), ("force_align", int),
                             ("enum", Optional[str])])
Field.__doc__ = """One field of a table.

    ``elem`` is the struct format character of a scalar (or of a vector's
    items), or the table or union name; ``slot`` is the field's id (a union's
    hidden type field takes ``slot - 1``); ``default`` is the value flatc leaves
    out (scalars only); ``force_align`` is 0 if unset; ``enum`` names the enum
    of an enum-typed scalar or vector.
    """

Enum = NamedTuple("Enum", [("name", str), ("fmt", str), ("values", Tuple[Tuple[str, int], ...])])
Enum.__doc__ = "An enum: its underlying scalar's struct format and its (name, value) pairs."


class Schema:
    """One schema file: its tables (fields in declaration order), unions
    (member tables; a member's type id is its index + 1) and enums.

    ``deprecated`` names, per table, the fields the schema marks deprecated:
    they have no record (their slots stay empty), are never written and are
    ignored when read; an input object that sets one (not None) is refused.

    Immutable, and compared by its nine arguments, as a frozen dataclass
    would be (written out: importing dataclasses cost more import time than
    the engine's own modules)."""

    __slots__ = ("name", "namespace", "file_identifier", "file_extension", "root_table", "tables",
                 "unions", "enums", "deprecated", "specs", "force_aligned")
    _ARGUMENTS = __slots__[:9]

    name: str
    namespace: str
    file_identifier: bytes
    file_extension: str
    root_table: str
    tables: Mapping[str, Tuple[Field, ...]]
    unions: Mapping[str, Tuple[str, ...]]
    enums: Mapping[str, Enum]
    deprecated: Mapping[str, Tuple[str, ...]]
    # Derived: table -> Spec, and the force-aligned vectors (see force_aligned).
    specs: Mapping[str, Spec]
    force_aligned: Tuple[Tuple[str, str, int], ...]

    def __init__(self, name: str, namespace: str, file_identifier: bytes, file_extension: str,
                 root_table: str, tables: Mapping[str, Tuple[Field, ...]],
                 unions: Mapping[str, Tuple[str, ...]], enums: Mapping[str, Enum],
                 deprecated: Optional[Mapping[str, Tuple[str, ...]]] = None) -> None:
        values = (name, namespace, file_identifier, file_extension, root_table, tables, unions, enums,
                  {} if deprecated is None else deprecated)
        for attribute, value in zip(self._ARGUMENTS, values):
            object.__setattr__(self, attribute, value)
        for table, fields in self.tables.items():
            for f in fields:
                _validate(self, table, f)
        if self.root_table not in self.tables:
            raise ValueError(f"root table {self.root_table!r} is not a table of the schema")
        for table, names in self.deprecated.items():
            if table not in self.tables or {f.name for f in self.tables[table]} & set(names):
                raise ValueError(f"{table}: deprecated fields {names!r} of no table, or with records")
        object.__setattr__(self, "specs", {t: _spec(fields) for t, fields in self.tables.items()})
        # (table, field, schema force_align) of each force-aligned vector, in
        # declaration order: Writer.aligns holds their values in this order.
        aligned = tuple((t, f.name, f.force_align) for t, fields in self.tables.items()
                        for f in fields if f.force_align)
        object.__setattr__(self, "force_aligned", aligned)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a Schema is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a Schema is immutable")

    def _key(self) -> Tuple[object, ...]:
        return tuple(getattr(self, attribute) for attribute in self._ARGUMENTS)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Schema) and other.__class__ is self.__class__:
            return self._key() == other._key()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        shown = ", ".join(f"{attribute}={getattr(self, attribute)!r}" for attribute in self._ARGUMENTS)
        return f"{self.__class__.__qualname__}({shown})"

    def fields(self, table: str, *kinds: str) -> Tuple[Field, ...]:
        """The fields of ``table`` in declaration order, only those of ``kinds`` if given."""
        fields = self.tables[table]
        return tuple(f for f in fields if f.kind in kinds) if kinds else fields

    def children(self, table: str) -> Tuple[Field, ...]:
        """The fields written before the table itself (all but scalars)."""
        return self.fields(table, *CHILD_KINDS)

    def subtables(self, table: str) -> Iterator[str]:
        """The tables a field of ``table`` may hold, union members included."""
        for f in self.fields(table, "TABLE", "TABLE_VECTOR", "UNION"):
            if f.kind == "UNION":
                yield from self.unions[str(f.elem)]
            else:
                yield str(f.elem)

    def member_id(self, union: str, table: str) -> int:
        """The type id of ``table`` in ``union`` (0 if it is not a member)."""
        members = self.unions[union]
        return members.index(table) + 1 if table in members else 0

    def flat_tables(self) -> Tuple[str, ...]:
        """Tables whose whole subtree the templates write with one struct: no
        table vectors, no force_align, and only such tables below."""
        flat: Dict[str, None] = {}
        changed = True
        while changed:
            changed = False
            for table, fields in self.tables.items():
                if table in flat or any(f.kind == "TABLE_VECTOR" or f.force_align for f in fields):
                    continue
                if all(t in flat for t in self.subtables(table)):
                    flat[table] = None
                    changed = True
        return tuple(t for t in self.tables if t in flat)

    def small_tables(self) -> Tuple[str, ...]:
        """Tables that are not flat, but whose subtree the templates still write
        with one struct when it is small (its table vectors short: see
        Writer.small_table): no force_align, and only flat or such tables
        below. A small method (ExecutionPlan), its chains, its delegates."""
        flat = set(self.flat_tables())
        small: Dict[str, None] = {}
        changed = True
        while changed:
            changed = False
            for table, fields in self.tables.items():
                if table in flat or table in small or any(f.force_align for f in fields):
                    continue
                if all(t in flat or t in small for t in self.subtables(table)):
                    small[table] = None
                    changed = True
        return tuple(t for t in self.tables if t in small)


def _validate(schema: Schema, table: str, f: Field) -> None:
    """Refuse a record the encoders could not follow."""
    where = f"{table}.{f.name}"
    if f.kind not in KINDS:
        raise ValueError(f"{where}: unknown kind {f.kind!r}")
    names = {"TABLE": schema.tables, "TABLE_VECTOR": schema.tables, "UNION": schema.unions}
    if f.kind in names and f.elem not in names[f.kind]:
        raise ValueError(f"{where}: {f.elem!r} is not a {f.kind.split('_')[0].lower()} of the schema")
    if f.kind in ("SCALAR", "VECTOR") and (f.elem is None or f.elem not in "?bBhHiIqQfd"):
        raise ValueError(f"{where}: {f.elem!r} is not a scalar format")
    if f.enum is not None and f.enum not in schema.enums:
        raise ValueError(f"{where}: {f.enum!r} is not an enum of the schema")


def _spec(fields: Tuple[Field, ...]) -> Spec:
    spec = []
    for bit, f in enumerate(fields):
        if f.kind == "SCALAR":
            spec.append((bit, f.slot, "B" if f.elem == "?" else str(f.elem), False))
            continue
        if f.kind == "UNION":
            spec.append((bit, f.slot - 1, "B", False))
        spec.append((bit, f.slot, "I", True))
    return tuple(spec)
