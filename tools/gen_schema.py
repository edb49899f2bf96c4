"""Generate, for each schema of schema/, its package: records, encoders, model,
protocols and codec.

    python tools/gen_schema.py           # regenerate every schema of the project
    python tools/gen_schema.py --check   # exit 1 if any generated module is stale
    python tools/gen_schema.py --schema schema/X.fbs --target pte_encoder/schemas/x

Every ``schema/X.fbs`` that declares a ``root_type`` (``scalar_type.fbs``,
only included, does not) becomes the package ``pte_encoder/schemas/X/``:

- ``records.py``: the :class:`pte_encoder.engine.schema.Schema` records, ``SCHEMA``;
- ``encoders.py``: ``build``, which makes the table encoders of one layout
  of a :class:`pte_encoder.engine.codec.Codec`;
- ``model.py``: one class per table (as a dataclass would be, with
  ``__slots__``), one IntEnum per enum, one Union per union;
- ``types.py``: read-only protocols of the input, one per table (imported
  only by type checkers);
- ``codec.py``: the codec joining them, named after the schema (``PROGRAM``
  for program.fbs, ``FLAT_TENSOR`` for flat_tensor.fbs);
- ``__init__.py``, which imports nothing: each module is loaded when used.

Each file's first line says it is generated. Adding a schema is adding its
``.fbs`` and running this script; nothing else lists the schemas.

Reads the subset of the FlatBuffers schema language ExecuTorch's schemas use:
include, namespace, file_identifier, file_extension, root_type, enum, union
(members named by their table, or through an alias: ``XNNAdd: _XNNNode2x1``)
and table (scalars, strings, tables, unions and vectors of those, with
defaults and the force_align and deprecated attributes), with type names
qualified by their namespace or not. Anything else is an error, so a schema
change that the encoder cannot follow fails here, not at run time.

A union member named through an alias becomes a table of its own in the
records (its table's fields, under the member's name) and, in the model, an
empty subclass of its table's class (``class XNNAdd(_XNNNode2x1)``, as
ExecuTorch's dataclasses declare it): the encoder tells members apart by
class name and the reader builds the member's class, so the member survives
a round trip; the encoders share the table's functions. A deprecated field
keeps its slot (the fields after it keep theirs) and is otherwise dropped,
as flatc's generated code drops it: no attribute in the model, never
written, ignored when read; a value set on it (ExecuTorch's dataclasses
still have some) is refused (``Schema.deprecated``). Declarations whose name
starts with ``_`` stay out of the model's ``__all__``.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pte_encoder"

if TYPE_CHECKING:
    from pte_encoder.engine.schema import Enum, Field, Schema
else:
    # The records' module alone, by its path: importing the package would
    # import the very modules this script (re)generates.
    _spec = importlib.util.spec_from_file_location("_gen_schema_records", PACKAGE / "engine" / "schema.py")
    _records = importlib.util.module_from_spec(_spec)
    sys.modules[_spec.name] = _records
    _spec.loader.exec_module(_records)
    Enum, Field, Schema = _records.Enum, _records.Field, _records.Schema


class Target(NamedTuple):
    schema: Path   # the .fbs file
    package: Path  # the folder of the generated modules


def project_targets() -> List[Target]:
    """Every schema of schema/ with a root type, and its package under schemas/."""
    return [Target(path, PACKAGE / "schemas" / path.stem)
            for path in sorted((ROOT / "schema").glob("*.fbs")) if parse(path).root_type]

# schema scalar name -> (struct format character, Python type)
SCALARS: Dict[str, Tuple[str, str]] = {
    "bool": ("?", "bool"),
    "byte": ("b", "int"), "int8": ("b", "int"),
    "ubyte": ("B", "int"), "uint8": ("B", "int"),
    "short": ("h", "int"), "int16": ("h", "int"),
    "ushort": ("H", "int"), "uint16": ("H", "int"),
    "int": ("i", "int"), "int32": ("i", "int"),
    "uint": ("I", "int"), "uint32": ("I", "int"),
    "long": ("q", "int"), "int64": ("q", "int"),
    "ulong": ("Q", "int"), "uint64": ("Q", "int"),
    "float": ("f", "float"), "float32": ("f", "float"),
    "double": ("d", "float"), "float64": ("d", "float"),
}

# Vector items Writer.scalars packs: 4- and 8-byte scalars.
WIDE_SCALARS = ("i", "I", "q", "Q", "f", "d")

TOKEN = re.compile(r'\s*(?:(//[^\n]*)|("[^"]*")|([A-Za-z_][\w.]*)|(-?[\d.]+(?:[eE][-+]?\d+)?)|(.))', re.S)


@dataclass
class FieldDef:
    name: str
    type: str          # scalar name, string, or a declared name (qualified once resolved)
    vector: bool
    default: Optional[str]
    attrs: Dict[str, str]
    namespace: str     # where the field is declared, for resolving ``type``


@dataclass
class Parsed:
    """Declarations by qualified name (namespace.Name), in declaration order."""
    enums: Dict[str, Tuple[str, List[Tuple[str, int]]]] = field(default_factory=dict)
    # union -> its members as (member name, table as written): the member is
    # named after its table unless an alias names it (``XNNAdd: _XNNNode2x1``)
    unions: Dict[str, List[Tuple[str, str]]] = field(default_factory=dict)
    tables: Dict[str, List[FieldDef]] = field(default_factory=dict)
    union_namespaces: Dict[str, str] = field(default_factory=dict)
    namespace: str = ""   # the root file's
    file_identifier: str = ""
    file_extension: str = ""
    root_type: str = ""


def tokenize(text: str) -> List[str]:
    tokens = []
    for match in TOKEN.finditer(text):
        if match.group(1):
            continue
        token = next((g for g in match.groups()[1:] if g), None)
        if token is not None and not token.isspace():
            tokens.append(token)
    return tokens


class Parser:
    def __init__(self, parsed: Parsed) -> None:
        self.parsed = parsed
        self.tokens: List[str] = []
        self.pos = 0
        self.namespace = ""
        self.depth = 0
        self.seen: List[Path] = []

    def parse_file(self, path: Path) -> None:
        path = path.resolve()
        if path in self.seen:  # each file once, as flatc does
            return
        self.seen.append(path)
        saved = self.tokens, self.pos, self.namespace
        self.tokens, self.pos, self.namespace = tokenize(path.read_text(encoding="utf-8")), 0, ""
        while self.pos < len(self.tokens):
            self.declaration(path)
        if self.depth == 0:
            self.parsed.namespace = self.namespace
        self.tokens, self.pos, self.namespace = saved

    def next(self) -> str:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, token: str) -> None:
        got = self.next()
        if got != token:
            raise SystemExit(f"schema: expected {token!r}, got {got!r}")

    def qualified(self, name: str) -> str:
        return f"{self.namespace}.{name}" if self.namespace else name

    def declaration(self, path: Path) -> None:
        keyword = self.next()
        if keyword == "include":
            self.depth += 1
            self.parse_file(path.parent / self.next().strip('"'))
            self.depth -= 1
        elif keyword == "namespace":
            self.namespace = self.next()
        elif keyword in ("file_identifier", "file_extension", "root_type"):
            value = self.next().strip('"')
            if self.depth == 0:  # an included file's own root does not count
                setattr(self.parsed, keyword, value)
        elif keyword == "enum":
            self.enum()
            return
        elif keyword == "union":
            self.union()
            return
        elif keyword == "table":
            self.table()
            return
        else:
            raise SystemExit(f"schema: unsupported declaration {keyword!r}")
        self.expect(";")

    def enum(self) -> None:
        name = self.next()
        self.expect(":")
        base = self.next()
        self.expect("{")
        members: List[Tuple[str, int]] = []
        value = 0
        while (token := self.next()) != "}":
            if token == ",":
                continue
            if self.tokens[self.pos] == "=":
                self.pos += 1
                value = int(self.next())
            members.append((token, value))
            value += 1
        self.parsed.enums[self.qualified(name)] = (base, members)

    def union(self) -> None:
        name = self.next()
        self.expect("{")
        members: List[Tuple[str, str]] = []
        while (token := self.next()) != "}":
            if token == ",":
                continue
            if self.tokens[self.pos] == ":":  # an alias: the member's name, then its table
                self.pos += 1
                members.append((token, self.next()))
            else:  # the table's name, perhaps qualified: the member is named by its last part
                members.append((token.rsplit(".", 1)[-1], token))
            if self.tokens[self.pos] not in (",", "}"):
                raise SystemExit(f"schema: union {name}: unsupported member syntax at "
                                 f"{self.tokens[self.pos]!r} (after {token!r})")
        self.parsed.unions[self.qualified(name)] = members
        self.parsed.union_namespaces[self.qualified(name)] = self.namespace

    def table(self) -> None:
        name = self.next()
        self.expect("{")
        fields: List[FieldDef] = []
        while (token := self.next()) != "}":
            self.expect(":")
            vector = self.tokens[self.pos] == "["
            if vector:
                self.pos += 1
            type_name = self.next()
            if vector:
                self.expect("]")
            default = None
            if self.tokens[self.pos] == "=":
                self.pos += 1
                default = self.next()
            attrs = {}
            if self.tokens[self.pos] == "(":
                self.pos += 1
                while (key := self.next()) != ")":
                    if key == ",":
                        continue
                    attrs[key] = ""  # a bare attribute, such as (deprecated)
                    if self.tokens[self.pos] == ":":
                        self.pos += 1
                        attrs[key] = self.next()
            self.expect(";")
            fields.append(FieldDef(token, type_name, vector, default, attrs, self.namespace))
        self.parsed.tables[self.qualified(name)] = fields


def resolve(parsed: Parsed, name: str, namespace: str) -> str:
    """The qualified name ``name`` refers to from ``namespace``: as flatc
    does, the innermost enclosing namespace that declares it first."""
    if name in SCALARS or name == "string":
        return name
    parts = namespace.split(".") if namespace else []
    for depth in range(len(parts), -1, -1):
        candidate = ".".join(parts[:depth] + [name])
        if candidate in parsed.enums or candidate in parsed.unions or candidate in parsed.tables:
            return candidate
    raise SystemExit(f"schema: unknown type {name!r} (in namespace {namespace!r})")


def short_names(parsed: Parsed) -> Dict[str, str]:
    """Qualified name -> short name, refusing two declarations of one short name."""
    names: Dict[str, str] = {}
    for qualified in [*parsed.enums, *parsed.unions, *parsed.tables]:
        short = qualified.rsplit(".", 1)[-1]
        if short in names.values():
            raise SystemExit(f"schema: two declarations named {short!r}")
        names[qualified] = short
    return names


@dataclass
class Declared:
    """A parsed schema with every type resolved and named by its short name."""
    enums: Dict[str, Tuple[str, List[Tuple[str, int]]]]
    unions: Dict[str, List[str]]       # union -> member names, in type id order
    tables: Dict[str, List[FieldDef]]  # with one entry per alias member (its table's fields)
    namespace: str
    file_identifier: str
    file_extension: str
    root_type: str
    aliases: Dict[str, str] = field(default_factory=dict)  # alias member -> the table it names


def parse(path: Path) -> Declared:
    parsed = Parsed()
    Parser(parsed).parse_file(path)
    short = short_names(parsed)
    tables = {}
    for name, fields in parsed.tables.items():
        tables[short[name]] = [FieldDef(f.name, short.get(resolve(parsed, f.type, f.namespace), f.type),
                                        f.vector, f.default, f.attrs, f.namespace) for f in fields]
    unions: Dict[str, List[str]] = {}
    aliases: Dict[str, str] = {}
    for name, members in parsed.unions.items():
        names: List[str] = []
        for member, written in members:
            table = short[resolve(parsed, written, parsed.union_namespaces[name])]
            if table not in tables:
                raise SystemExit(f"schema: union {short[name]}: member {member} is not a table")
            if member in names:
                raise SystemExit(f"schema: union {short[name]}: two members named {member!r}")
            if member != table:
                # An alias: a table of its own in the records and a class of
                # its own in the model (see the module's docstring), so it must
                # not clash with a declaration, and names one table wherever used.
                if member in short.values() or aliases.get(member, table) != table:
                    raise SystemExit(f"schema: union {short[name]}: alias {member!r} clashes with "
                                     "another declaration or alias")
                aliases[member] = table
            names.append(member)
        unions[short[name]] = names
    for member, table in aliases.items():
        tables[member] = tables[table]
    root = short[resolve(parsed, parsed.root_type, parsed.namespace)] if parsed.root_type else ""
    return Declared({short[n]: e for n, e in parsed.enums.items()}, unions, tables, parsed.namespace,
                    parsed.file_identifier, parsed.file_extension, root, aliases)


def scalar_default(schema: Declared, f: FieldDef) -> Any:
    """The default of a scalar field as a Python value."""
    if f.type in schema.enums:
        members = dict(schema.enums[f.type][1])
        return members[f.default] if f.default in members else int(f.default or 0)
    kind = SCALARS[f.type][1]
    if kind == "bool":
        return (f.default or "false") == "true"
    if kind == "float":
        return float(f.default or 0)
    return int(f.default or 0)


def field_records(schema: Declared, table: str) -> Tuple[Field, ...]:
    """One record per field of ``table``, in declaration order."""
    rows: List[Field] = []
    slot = 0
    for f in schema.tables[table]:
        attrs = dict(f.attrs)
        if attrs.pop("deprecated", None) is not None:
            # Its slot is kept (a union's two), nothing else: see deprecated().
            attrs.pop("force_align", None)
            if attrs:
                raise SystemExit(f"schema: {table}.{f.name}: unsupported attributes {attrs}")
            slot += 2 if f.type in schema.unions else 1
            continue
        align = int(attrs.pop("force_align", 0))
        if attrs:
            raise SystemExit(f"schema: {table}.{f.name}: unsupported attributes {attrs}")
        enum = f.type if f.type in schema.enums else None
        scalar = schema.enums[f.type][0] if enum else f.type
        if f.type in schema.unions:
            if f.vector:
                raise SystemExit(f"schema: {table}.{f.name}: vectors of unions are unsupported")
            slot += 1  # the hidden <name>_type field takes the slot before
            row = Field(f.name, "UNION", slot, f.type, None, 0, None)
        elif f.vector:
            if scalar in SCALARS:
                fmt = SCALARS[scalar][0]
                if fmt not in ("B", "?") + WIDE_SCALARS:
                    raise SystemExit(f"schema: {table}.{f.name}: vectors of {fmt} are unsupported")
                row = Field(f.name, "VECTOR", slot, fmt, None, align, enum)
            elif f.type in schema.tables:
                row = Field(f.name, "TABLE_VECTOR", slot, f.type, None, 0, None)
            else:
                raise SystemExit(f"schema: {table}.{f.name}: unsupported vector of {f.type}")
        elif f.type == "string":
            row = Field(f.name, "STRING", slot, None, None, 0, None)
        elif f.type in schema.tables:
            row = Field(f.name, "TABLE", slot, f.type, None, 0, None)
        elif scalar in SCALARS:
            row = Field(f.name, "SCALAR", slot, SCALARS[scalar][0], scalar_default(schema, f), 0, enum)
            if row.elem == "f" and row.default:  # values.float32_field knows only 0
                raise SystemExit(f"schema: {table}.{f.name}: a float (32-bit) field with a default "
                                 "other than 0 is unsupported")
        else:
            raise SystemExit(f"schema: {table}.{f.name}: unknown type {f.type}")
        if align and (row.kind != "VECTOR" or row.elem != "B"):
            raise SystemExit(f"schema: {table}.{f.name}: force_align is supported on [ubyte] only")
        rows.append(row)
        slot += 1
    return tuple(rows)


def live(fields: List[FieldDef]) -> List[FieldDef]:
    """The fields that are not deprecated (the model's attributes)."""
    return [f for f in fields if "deprecated" not in f.attrs]


def deprecated(declared: Declared) -> Dict[str, Tuple[str, ...]]:
    """Per table, its deprecated fields' names (tables without any left out)."""
    found = {t: tuple(f.name for f in fields if "deprecated" in f.attrs)
             for t, fields in declared.tables.items()}
    return {t: names for t, names in found.items() if names}


def records(declared: Declared, name: str) -> Schema:
    return Schema(
        name=name, namespace=declared.namespace,
        file_identifier=declared.file_identifier.encode("ascii"),
        file_extension=declared.file_extension, root_table=declared.root_type,
        tables={t: field_records(declared, t) for t in declared.tables},
        unions={u: tuple(members) for u, members in declared.unions.items()},
        enums={e: Enum(e, SCALARS[base][0], tuple(values))
               for e, (base, values) in declared.enums.items()},
        deprecated=deprecated(declared))


def generated_mark(schema_path: Path) -> str:
    """The first line of every generated module."""
    return f"# Generated by tools/gen_schema.py from {source_name(schema_path)}: do not edit."


def source_name(schema_path: Path) -> str:
    try:
        return schema_path.relative_to(ROOT).as_posix()
    except ValueError:
        return schema_path.name


def header(schema_path: Path, what: str) -> List[str]:
    return [generated_mark(schema_path), f'"""{what}']


def render_schema(schema: Schema, schema_path: Path, engine: str) -> str:
    out = header(schema_path, f"The records of schema/{schema_path.name}: tables, unions and enums.")
    out += [
        "See pte_encoder/engine/schema.py for what each field of a record means.",
        '"""',
        "",
        f"from {engine}.schema import Enum, Field, Schema",
        "",
        "SCHEMA = Schema(",
        f"    name={schema.name!r},",
        f"    namespace={schema.namespace!r},",
        f"    file_identifier={schema.file_identifier!r},",
        f"    file_extension={schema.file_extension!r},",
        f"    root_table={schema.root_table!r},",
        "    tables={",
    ]
    for table, fields in schema.tables.items():
        out.append(f"        {table!r}: (")
        out += [f"            Field{tuple(f)!r}," for f in fields]
        out.append("        ),")
    out.append("    },")
    out += mapping("unions", [f"        {name!r}: {members!r}," for name, members in schema.unions.items()])
    enums = []
    for name, enum in schema.enums.items():
        enums.append(f"        {name!r}: Enum({enum.name!r}, {enum.fmt!r}, (")
        enums += [f"            {value!r}," for value in enum.values]
        enums.append("        )),")
    out += mapping("enums", enums)
    if schema.deprecated:  # (left out when empty, as Schema's default)
        out += mapping("deprecated", [f"        {t!r}: {names!r}," for t, names in schema.deprecated.items()])
    out += [")", ""]
    return "\n".join(out)


def mapping(name: str, lines: List[str]) -> List[str]:
    """A keyword argument holding a dict literal of ``lines``."""
    return [f"    {name}={{", *lines, "    },"] if lines else [f"    {name}={{}},"]


def python_type(schema: Declared, f: FieldDef) -> str:
    if f.type in schema.unions:
        return f"Optional[{f.type}]"
    if f.type == "string":
        return "Optional[str]"
    if f.type in schema.tables:
        return f"Optional[List[{f.type}]]" if f.vector else f"Optional[{f.type}]"
    scalar = schema.enums[f.type][0] if f.type in schema.enums else f.type
    if f.vector:
        if scalar in ("ubyte", "uint8"):
            return "Optional[ByteVector]"
        item = f.type if f.type in schema.enums else SCALARS[scalar][1]
        return f"Optional[List[{item}]]"
    return f.type if f.type in schema.enums else SCALARS[scalar][1]


def python_default(schema: Declared, f: FieldDef) -> str:
    if f.vector or f.type == "string" or f.type in schema.tables or f.type in schema.unions:
        return "None"
    value = scalar_default(schema, f)
    if f.type in schema.enums:
        names = [m for m, v in schema.enums[f.type][1] if v == value]
        return f"{f.type}.{names[0]}" if names else repr(value)
    return repr(value)


def model_class(schema: Declared, table: str, fields: List[FieldDef]) -> List[str]:
    """One table's class: what @dataclass would generate for these fields
    (all with defaults), written out, with __slots__."""
    fields = live(fields)
    names = [f.name for f in fields]
    slots = "".join(f"{n!r}, " for n in names)
    params = "".join(f", {f.name}: {python_type(schema, f)} = {python_default(schema, f)}"
                     for f in fields)
    mine = "".join(f"self.{n}, " for n in names)
    theirs = "".join(f"other.{n}, " for n in names)
    shown = ", ".join(f"{n}={{self.{n}!r}}" for n in names)
    out = [f"class {table}:",
           f"    __slots__ = ({slots})",
           f"    __match_args__ = ({slots})",
           "    __hash__ = None  # type: ignore[assignment]  # as @dataclass(eq=True) leaves it",
           ""]
    out += [f"    {f.name}: {python_type(schema, f)}" for f in fields]
    if fields:
        out.append("")
    out += [f"    def __init__(self{params}) -> None:",
            *([f"        self.{n} = {n}" for n in names] or ["        pass"]),
            "",
            "    @recursive_repr()",
            "    def __repr__(self) -> str:",
            f'        return f"{{self.__class__.__qualname__}}({shown})"',
            "",
            "    def __eq__(self, other: object) -> bool:",
            f"        if isinstance(other, {table}) and other.__class__ is self.__class__:",
            f"            return ({mine}) == ({theirs})",
            "        return NotImplemented",
            ""]
    return out


def render_model(schema: Declared, name: str, schema_path: Path) -> str:
    out = [
        generated_mark(schema_path),
        f'"""The {name.replace("_", " ")} model: one class per table, one IntEnum per enum.',
        "",
        "Attribute names are the schema's field names. Every field may be left",
        "at its default: None for strings, tables, unions and vectors (absent, not",
        "empty), the schema default for scalars.",
        "",
        "Each class behaves as a @dataclass of the same fields would (the same",
        "__init__ signature, __eq__, __repr__, __match_args__, and unhashable), but",
        "is written out in full with __slots__: processing @dataclass at import",
        "took most of the package's import time.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from enum import IntEnum",
        "from reprlib import recursive_repr",
        "from typing import List, Optional, Sequence, Union",
        "",
        "# A [ubyte] vector: any bytes-like object, or a sequence of ints 0..255.",
        "ByteVector = Union[bytes, bytearray, memoryview, Sequence[int]]",
        "",
    ]
    for enum, (_, values) in schema.enums.items():
        out += ["", f"class {enum}(IntEnum):"]
        out += [f"    {member} = {value}" for member, value in values]
        out.append("")
    for table, fields in schema.tables.items():
        if table in schema.aliases:
            # A union member named through an alias: an empty subclass of its
            # table's class under the member's name (as ExecuTorch declares it).
            base = schema.aliases[table]
            unions = [u for u, members in schema.unions.items() if table in members]
            out += ["", f"class {table}({base}):",
                    f'    """The {" and ".join(unions)} member {table}: a {base} table."""',
                    "", "    __slots__ = ()", ""]
            continue
        out += ["", *model_class(schema, table, fields)]
    for union, members in schema.unions.items():
        out += ["", f"{union} = Union[{', '.join(members)}]"]
    out += ["", "", "__all__ = ["]
    names = list(schema.enums) + list(schema.tables) + list(schema.unions) + ["ByteVector"]
    out += [f"    {n!r}," for n in names if not n.startswith("_")]
    out += ["]", ""]
    return "\n".join(out)


def protocol_type(schema: Declared, f: FieldDef) -> str:
    """A field's type as the protocols read it: what the encoder accepts,
    loosely enough that our model and ExecuTorch's dataclasses both fit."""
    if f.type in schema.unions:
        return f"Optional[{f.type}Like]"
    if f.type == "string":
        return "Optional[str]"
    if f.type in schema.tables:
        return f"Optional[Sequence[{f.type}Like]]" if f.vector else f"Optional[{f.type}Like]"
    scalar = schema.enums[f.type][0] if f.type in schema.enums else f.type
    # Integers and enums are integer-likes (operator.index), as the encoder
    # reads them: int, an IntEnum of any enum class, numpy integers.
    kind = {"int": "SupportsIndex"}.get(SCALARS[scalar][1], SCALARS[scalar][1])
    if f.vector:
        if scalar in ("ubyte", "uint8") and f.type not in schema.enums:
            return "Optional[ByteVector]"
        return f"Optional[Sequence[{kind}]]"
    # A float scalar may be ExecuTorch's "inf" / "-inf" (its Double.double_val).
    return "Union[float, str]" if kind == "float" else kind


def render_types(schema: Declared, schema_path: Path) -> str:
    tables = {t: live(fields) for t, fields in schema.tables.items() if t not in schema.aliases}
    empty = [t for t, fields in tables.items() if not fields]
    out = header(schema_path, "Read-only protocols of the input: one per table, one union of them per union.")
    out += [
        "",
        "Imported by type checkers only (``pte_encoder.types`` re-exports the",
        "program's). A ``<Table>Like`` is what the encoder reads as that table: this package's",
        "model, ExecuTorch's own ``exir.schema`` dataclasses, or any object with",
        "these attributes. Fields are read-only properties, so a dataclass with",
        "``List[X]`` fits ``Sequence[XLike]`` and ``X`` fits ``Optional[XLike]``.",
        "Integer and enum fields take integer-likes (``SupportsIndex``: int, any",
        "IntEnum, numpy integers). A union is a Union of its members' protocols;",
        "the encoder tells them apart by class name.",
        "",
        "An empty table has no attribute to check, and an empty Protocol would",
        "match every object, letting any value pass as a union holding it (such",
        "as a str as an EValue's val). It is this package's class or a dataclass",
        "instance instead (ExecuTorch's are dataclasses): any dataclass still",
        "type-checks there, and the encoder refuses it unless its class has the",
        "table's name.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any, ClassVar, Dict, Optional, Protocol, Sequence, SupportsIndex, Union",
        "",
        f"from .model import {', '.join(['ByteVector', *sorted(empty)])}",
        "",
    ]
    if empty:
        out += ["", "class _DataclassInstance(Protocol):",
                "    __dataclass_fields__: ClassVar[Dict[str, Any]]", ""]
    for table, fields in tables.items():
        if not fields:
            out += ["", f"{table}Like = Union[{table}, _DataclassInstance]", ""]
            continue
        out += ["", f"class {table}Like(Protocol):"]
        for f in fields:
            out += ["    @property", f"    def {f.name}(self) -> {protocol_type(schema, f)}: ..."]
        out.append("")
    if schema.aliases:  # a member named through an alias reads as its table
        out.append("")
        out += [f"{member}Like = {table}Like" for member, table in schema.aliases.items()]
        out.append("")
    for union, members in schema.unions.items():
        out += ["", f"{union}Like = Union[{', '.join(m + 'Like' for m in members)}]"]
    out += ["", "", "__all__ = ["]
    out += [f"    {n + 'Like'!r}," for n in [*schema.tables, *schema.unions] if not n.startswith("_")]
    out += ["]", ""]
    return "\n".join(out)


def scalar_lines(var: str, elem: str, default: Any) -> Tuple[List[str], str]:
    """Reading checks for a scalar field, and its presence test.

    A float equal to its default by value but not in sign (-0.0 for 0.0) is
    present when the layout policy says so (``signed_zero``, a local of
    build: the encoders are built once per layout)."""
    if elem == "?":
        # True and False as they are; anything else (numpy's bool_) through
        # to_bool, which refuses what is not a bool (values.py says which).
        return ([f"    if {var} is not True and {var} is not False:",
                 f"        {var} = to_bool({var})"], f"({var} is {not default})")
    if elem == "f":
        # A float (32-bit) as the layout stores it (f32: values.float32_converters,
        # a local of build), converted before the presence test: flatc leaves
        # out what it parses as the default (1e-46 is 0). float32_field
        # knows only the default 0.
        assert not default, "refused by field_records"
        return ([f"    {var} = f32({var})"],
                f"({var} != 0.0 or signed_zero and copysign(1.0, {var}) != 1.0)")
    if elem == "d":
        zero = float(default or 0.0)
        sign = math.copysign(1.0, zero)
        return ([f"    if {var}.__class__ is not float:", f"        {var} = to_float({var})"],
                f"({var} != {zero!r} or signed_zero and copysign(1.0, {var}) != {sign!r})")
    # An int (or an int subclass: IntEnum, bool) is present unless it equals
    # the default. Any other value is judged by its operator.index, as
    # struct packs it: so an integer-like that does not compare equal to its
    # int (no __eq__) is still left out at the default, and a float or
    # Decimal equal to it (0.0 == 0) is refused like any other non-integer.
    return [], (f"({var} != {default!r} if {var}.__class__ is int or isinstance({var}, int) "
                f"else present_integer({var}, {default!r}))")


def encoder_lines(schema: Schema, table: str) -> List[str]:
    """A table's encoder, writing through the Writer: children first, in slot
    order, then the table."""
    body, values, bits = deprecated_lines(schema, table, "o", "    "), {}, []
    flat = schema.flat_tables()
    for f in schema.tables[table]:
        name, kind, slot, elem = f.name, f.kind, f.slot, f.elem
        if kind == "SCALAR":
            var = f"s{slot}"
            checks, present = scalar_lines(var, str(elem), f.default)
            body += [f"    {var} = o.{name}", *checks]
            bits.append(present)
            values[slot] = var
            continue
        var = f"c{slot}"
        body.append(f"    v = o.{name}")
        if kind == "UNION":
            body += ["    if v is None:", f"        u{slot - 1} = {var} = None", "    else:",
                     f"        u{slot - 1}, encode = members_{elem}[v.__class__.__name__]",
                     f"        {var} = encode(w, v)"]
            values[slot - 1] = f"u{slot - 1}"
        else:
            if kind == "STRING":
                call = "w.string(v)"
            elif kind == "TABLE":
                call = f"_{elem}(w, v)"
            elif kind == "TABLE_VECTOR" and elem in flat:
                # a short vector of flat tables is one subtree (Writer.flat_tables)
                call = f"w.flat_tables({'[' + str(elem) + ']'!r}, v, _collect_{elem}, _{elem})"
            elif kind == "TABLE_VECTOR":
                call = f"w.tables(v, _{elem})"
            elif elem == "B":
                if f.force_align:
                    index = schema.force_aligned.index((table, name, f.force_align))
                    call = f"w.byte_vector(v, w.aligns[{index}])"
                else:
                    call = "w.byte_vector(v, 0)"
            elif elem == "?":
                call = "w.bools(v)"
            elif elem == "f":
                call = "w.scalars(f32s(v), 'f')"
            elif elem in WIDE_SCALARS:
                call = f"w.scalars(v, {elem!r})"
            else:
                raise SystemExit(f"schema: {table}.{name}: vectors of {elem} are unsupported")
            body.append(f"    {var} = None if v is None else {call}")
        values[slot] = var
        bits.append(f"({var} is not None)")
    key = " | ".join(["start & 7"] + [f"{b} << {i + 3}" for i, b in enumerate(bits)])
    # by slot; a deprecated field's slot holds None (never present)
    slots = [values.get(i, "None") for i in range(max(values) + 1)] if values else []
    # A small table's encoder writes it as one subtree when it is small
    # enough (small_lines); this one writes it through the writer.
    encoder = f"_write_{table}" if table in schema.small_tables() else f"_{table}"
    return [
        f"packers_{table} = codec.packers({table!r})",
        "",
        f"def {encoder}(w: Writer, o: Any) -> int:",
        *body,
        "    start = w.size",
        f"    key = {key}",
        f"    packer = packers_{table}.get(key) or new_packer({table!r}, key)",
        f"    return w.finish_table(start, packer, [{', '.join(slots)}])",
        "",
    ]


def deprecated_lines(schema: Schema, table: str, obj: str, indent: str) -> List[str]:
    """Code refusing a value set on one of the table's deprecated fields (the
    codec's checker then names it): ExecuTorch's dataclasses still have
    some (None unless set), and flatc would write what they hold."""
    names = schema.deprecated.get(table, ())
    if not names:
        return []
    test = " or ".join(f"getattr({obj}, {name!r}, None) is not None" for name in names)
    return [f"{indent}if {test}:", f"{indent}    raise TypeError('a deprecated field is set')"]


def flat_roots(schema: Schema, flat: Tuple[str, ...]) -> List[str]:
    """Flat tables that other tables' encoders write, as whole subtrees."""
    roots = {t for table in schema.tables if table not in flat for t in schema.subtables(table)}
    return [t for t in flat if t in roots]


def flat_block(schema: Schema, table: str, obj: str, prefix: str) -> Tuple[List[str], str]:
    """Code that reads a flat table ``obj`` into ``values`` (its scalars in
    slot order, then its children in slot order) and an expression for its
    shape: (which scalars differ from their defaults, then per child its
    length or shape, None if absent; a union gives its type and its member's
    shape). Child tables are read inline; union members by their _collect_
    function."""
    scalars, names, children, bits, parts = deprecated_lines(schema, table, obj, ""), [], [], [], []
    for f in schema.tables[table]:
        name, kind, slot, elem = f.name, f.kind, f.slot, f.elem
        if kind == "SCALAR":
            var = f"{prefix}s{slot}"
            checks, present = scalar_lines(var, str(elem), f.default)
            scalars += [f"{var} = {obj}.{name}", *[line[4:] for line in checks]]
            names.append(var)
            bits.append(present)
            continue
        var = f"{prefix}k{slot}"
        if kind == "UNION":
            kind_var = f"{prefix}u{slot}"
            parts += [kind_var, var]
            children += [f"v = {obj}.{name}", "if v is None:", f"    {kind_var} = {var} = None", "else:",
                         f"    {kind_var}, collect = collect_{elem}[v.__class__.__name__]",
                         f"    {var} = collect(v, values)"]
            continue
        parts.append(var)
        if kind == "TABLE_VECTOR":
            # Only in a small table (Schema.small_tables): a short list's
            # items' shapes, else the subtree is not small (None: the caller
            # writes the table through the writer instead).
            children += [f"v = {obj}.{name}", "if v is None:", f"    {var} = None",
                         "elif v.__class__ is list and len(v) <= FLAT_VECTOR:",
                         f"    {var} = tuple([_collect_{elem}(x, values) for x in v]) if v else ()"]
            if elem not in schema.flat_tables():
                children += [f"    if None in {var}:", "        return None"]
            children += ["else:", "    return None"]
            continue
        if kind == "TABLE":
            child = f"{prefix}t{slot}"
            lines, shape = flat_block(schema, str(elem), child, child + "_")
            children += [f"{child} = {obj}.{name}", f"if {child} is None:", f"    {var} = None", "else:",
                         *[f"    {line}" for line in lines], f"    {var} = {shape}"]
            continue
        children.append(f"v = {obj}.{name}")
        if kind == "STRING" or elem in ("B", "?"):
            convert = {"B": "bytes(v) if v.__class__ is list else ubytes(v)",
                       "?": "bool_bytes(v)"}.get(str(elem), "v.encode()")
            children += ["if v is None:", f"    {var} = None", "else:",
                         f"    v = {convert}", "    values.append(v)", f"    {var} = len(v)"]
        elif elem == "d":
            children.append(f"{var} = None if v is None else items(v, 'd', values)")
        elif elem == "f":
            children.append(f"{var} = None if v is None else items(f32s(v), 'f', values)")
        elif elem in WIDE_SCALARS:
            children += ["if v is None:", f"    {var} = None",
                         "elif v.__class__ is list and len(v) <= SHORT_VECTOR:",
                         "    values += v", f"    {var} = len(v)", "else:",
                         f"    {var} = items(v, {elem!r}, values)"]
        else:
            raise SystemExit(f"schema: {table}.{name}: vectors of {elem} are unsupported")
    if len(names) == 1:
        scalars.append(f"values.append({names[0]})")
    elif names:
        scalars.append(f"values += ({', '.join(names)})")
    # Presence of the scalars: one bool, or a tuple of them in slot order.
    fields = [bits[0] if len(bits) == 1 else f"({', '.join(bits)})"] if bits else []
    fields += parts
    shape = "0" if not fields else fields[0] if len(fields) == 1 and bits else f"({', '.join(fields)},)"
    shape = shape.replace(",)", ")") if len(fields) > 1 else shape
    return scalars + children, shape


def flat_lines(schema: Schema, table: str, root: bool, member: bool) -> List[str]:
    """For a flat table: the reader a union or a vector of it calls
    (``member``), and for a subtree's ``root``, its encoder."""
    lines, shape = flat_block(schema, table, "o", "")
    body = [f"    {line}" for line in lines]
    out = []
    if member:
        out += [f"def _collect_{table}(o: Any, values: List[Any]) -> Any:", *body,
                f"    return {shape}", ""]
    if root:
        out += [f"def _{table}(w: Writer, o: Any) -> int:", "    values: List[Any] = []", *body,
                f"    return w.subtree({table!r}, {shape}, values)", ""]
    return out


def small_lines(schema: Schema, table: str) -> List[str]:
    """For a small table: its _collect_ function (None when a table vector below
    is too long to write as one subtree), and its encoder, which writes it
    as one subtree when the reader allows, small enough (Writer.small_table),
    and otherwise through the writer (_write_<Table>)."""
    lines, shape = flat_block(schema, table, "o", "")
    return [f"def _collect_{table}(o: Any, values: List[Any]) -> Any:",
            *[f"    {line}" for line in lines], f"    return {shape}", "",
            f"def _{table}(w: Writer, o: Any) -> int:",
            "    if w.serial == 1:  # the first buffer: see Writer.small_table",
            f"        return _write_{table}(w, o)",
            "    values: List[Any] = []",
            f"    shape = _collect_{table}(o, values)",
            "    if shape is None or len(values) > SMALL_VALUES:",
            f"        return _write_{table}(w, o)",
            f"    return w.small_table({table!r}, shape, values, _write_{table}, o)", ""]


def render_encoders(schema: Schema, schema_path: Path, engine: str,
                    aliases: Optional[Dict[str, str]] = None) -> str:
    """The encoders module. A union member named through an alias (``aliases``:
    member -> table) is written by its table's functions."""
    aliases = aliases or {}
    functions: List[str] = []
    flat = schema.flat_tables()
    roots = flat_roots(schema, flat)
    union_members = {aliases.get(m, m) for table in flat for f in schema.fields(table, "UNION")
                     for m in schema.unions[str(f.elem)]}
    # items of vectors that the other tables' encoders write (Writer.flat_tables)
    union_members |= {str(f.elem) for table in schema.tables if table not in flat
                      for f in schema.fields(table, "TABLE_VECTOR") if f.elem in flat}
    for table in schema.tables:
        if table in aliases:
            continue
        if table in flat:
            functions += flat_lines(schema, table, table in roots, table in union_members)
        else:
            functions += encoder_lines(schema, table)
            if table in schema.small_tables():
                functions += small_lines(schema, table)
    owners = {(f.elem, table in flat) for table in schema.tables for f in schema.fields(table, "UNION")}
    for name, members in schema.unions.items():
        if (name, True) in owners:
            functions.append(f"collect_{name}: Dict[str, Tuple[int, Callable[[Any, List[Any]], Any]]] = {{")
            functions += [f"    {m!r}: ({i + 1}, _collect_{aliases.get(m, m)})," for i, m in enumerate(members)]
            functions += ["}", ""]
        if (name, False) in owners:
            functions.append(f"members_{name}: Dict[str, Tuple[int, Encoder]] = {{")
            functions += [f"    {m!r}: ({i + 1}, _{aliases.get(m, m)})," for i, m in enumerate(members)]
            functions += ["}", ""]
    functions.append(f"return _{schema.root_table}")
    floats = any(f.kind == "SCALAR" and f.elem in ("d", "f") for fields in schema.tables.values()
                 for f in fields)
    float32 = any(f.kind in ("SCALAR", "VECTOR") and f.elem == "f" for fields in schema.tables.values()
                  for f in fields)
    plan_names = "FLAT_VECTOR, SHORT_VECTOR, SMALL_VALUES" if schema.small_tables() else "SHORT_VECTOR"
    out = header(schema_path, f"The table encoders of schema/{schema_path.name}.")
    out += [
        "",
        "build(codec) defines one encoder per table, bound to one layout of a codec",
        "(its caches and its layout policy), and returns the root table's. Tables",
        "of a flat subtree (see engine/templates.py) have a _collect_<Table> function that",
        "reads the subtree's values and shape, and an encoder that writes it with",
        "one struct. The other tables' encoders write their children (strings,",
        "vectors, tables) in slot order, then the table itself, through the Writer;",
        "a small table's (Schema.small_tables) is _write_<Table>, and its encoder",
        "writes it as one subtree instead when its _collect_ function finds it small.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from math import copysign",
        "from typing import Any, Callable, Dict, List, Tuple",
        "",
        f"from {engine}.codec import LayoutEncoders, Encoder",
        f"from {engine}.templates import {plan_names}, items",
        f"from {engine}.values import bool_bytes, {'float32_converters, ' if float32 else ''}present_integer, "
        "to_bool, to_float, ubytes",
        f"from {engine}.writer import Writer",
        "",
        "",
        "def build(codec: LayoutEncoders) -> Encoder:",
        "    new_packer = codec.new_packer",
        *(["    signed_zero = codec.policy.signed_zero"] if floats else []),
        *(["    f32, f32s = float32_converters(codec.policy.float32_from_text)"] if float32 else []),
        "",
        *[f"    {line}" if line else "" for line in functions],
        "",
    ]
    return "\n".join(out)


def engine_import(target: Target) -> str:
    """The relative import of pte_encoder.engine from the target's package."""
    folder = target.package.resolve()
    if PACKAGE not in folder.parents:
        raise SystemExit(f"--target {target.package}: not inside {PACKAGE}")
    depth = len(folder.relative_to(PACKAGE).parts)
    return "." * (depth + 1) + "engine"


def render_codec(schema: Schema, schema_path: Path, engine: str) -> str:
    name = schema.name.upper()
    out = header(schema_path, f"The codec of schema/{schema_path.name}: its records, encoders and model")
    out += [
        f"joined (see {engine.lstrip('.')}/codec.py), as ``{name}``.",
        '"""',
        "",
        f"from {engine}.codec import Codec",
        "from . import model",
        "from .encoders import build",
        "from .records import SCHEMA",
        "",
        f"__all__ = [{name!r}]",
        "",
        f"{name} = Codec(SCHEMA, build, {{",
        *[f"    {t!r}: model.{t}," for t in schema.tables],
        "}, {",
        *[f"    {e!r}: model.{e}," for e in schema.enums],
        "})",
        "",
    ]
    return "\n".join(out)


def render_package(schema: Schema, schema_path: Path) -> str:
    return "\n".join([
        *header(schema_path, f"The {schema.name} schema (schema/{schema_path.name}), generated: records.py,"),
        "encoders.py, model.py, types.py and codec.py. Nothing is imported here: each",
        "module is loaded when first used.",
        '"""',
        ""])


def outputs(target: Target) -> Dict[Path, str]:
    name = target.schema.stem
    declared = parse(target.schema)
    if not declared.root_type:
        raise SystemExit(f"{target.schema}: no root_type: nothing to generate")
    schema = records(declared, name)
    engine = engine_import(target)
    folder = target.package
    return {
        folder / "__init__.py": render_package(schema, target.schema),
        folder / "records.py": render_schema(schema, target.schema, engine),
        folder / "encoders.py": render_encoders(schema, target.schema, engine, declared.aliases),
        folder / "model.py": render_model(declared, name, target.schema),
        folder / "types.py": render_types(declared, target.schema),
        folder / "codec.py": render_codec(schema, target.schema, engine),
    }


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--schema", type=Path, help="a .fbs file (default: every schema of the project)")
    parser.add_argument("--target", type=Path, help="the generated package's folder, with --schema")
    parser.add_argument("--check", action="store_true", help="exit 1 if anything is out of date")
    args = parser.parse_args(argv)
    if args.schema is None:
        targets = project_targets()
    elif args.target is None:
        parser.error("--schema needs --target")
    else:
        targets = [Target(args.schema.resolve(), args.target.resolve())]
    generated = {path: text for target in targets for path, text in outputs(target).items()}
    stale = [p for p, text in generated.items() if not p.exists() or p.read_text() != text]
    if args.check:
        for path in stale:
            print(f"{source_name(path)} is out of date: run python tools/gen_schema.py")
        return 1 if stale else 0
    for path, text in generated.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
