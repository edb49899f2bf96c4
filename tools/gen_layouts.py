"""Generate pte_encoder/{_layouts,_encoders,model}.py from schema/*.fbs.

    python tools/gen_layouts.py          # rewrite the three modules
    python tools/gen_layouts.py --check  # exit 1 if any is out of date

Reads the small subset of the FlatBuffers schema language that program.fbs
uses: include, namespace, file_identifier, file_extension, root_type, enum,
union and table (scalars, strings, tables, unions and vectors of those, with
defaults and the force_align attribute). Anything else is an error, so a
schema change that the encoder cannot follow fails here, not at run time.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schema" / "program.fbs"
LAYOUTS = ROOT / "pte_encoder" / "_layouts.py"
ENCODERS = ROOT / "pte_encoder" / "_encoders.py"
MODEL = ROOT / "pte_encoder" / "model.py"

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

# Vector items _writer.scalars packs: 4- and 8-byte scalars.
WIDE_SCALARS = ("i", "I", "q", "Q", "f", "d")

TOKEN = re.compile(r'\s*(?:(//[^\n]*)|("[^"]*")|([A-Za-z_][\w.]*)|(-?[\d.]+(?:[eE][-+]?\d+)?)|(.))', re.S)


@dataclass
class FieldDef:
    name: str
    type: str          # scalar name, string, table/enum/union name
    vector: bool
    default: Optional[str]
    attrs: Dict[str, str]


@dataclass
class Schema:
    enums: Dict[str, Tuple[str, List[Tuple[str, int]]]] = field(default_factory=dict)
    unions: Dict[str, List[str]] = field(default_factory=dict)
    tables: Dict[str, List[FieldDef]] = field(default_factory=dict)
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
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.tokens: List[str] = []
        self.pos = 0

    def parse_file(self, path: Path) -> None:
        tokens, pos = self.tokens, self.pos
        self.tokens, self.pos = tokenize(path.read_text(encoding="utf-8")), 0
        while self.pos < len(self.tokens):
            self.declaration(path)
        self.tokens, self.pos = tokens, pos

    def next(self) -> str:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, token: str) -> None:
        got = self.next()
        if got != token:
            raise SystemExit(f"schema: expected {token!r}, got {got!r}")

    def declaration(self, path: Path) -> None:
        keyword = self.next()
        if keyword == "include":
            self.parse_file(path.parent / self.next().strip('"'))
        elif keyword == "namespace":
            self.next()
        elif keyword in ("file_identifier", "file_extension", "root_type"):
            setattr(self.schema, keyword, self.next().strip('"'))
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
        self.schema.enums[name] = (base, members)

    def union(self) -> None:
        name = self.next()
        self.expect("{")
        members = []
        while (token := self.next()) != "}":
            if token != ",":
                members.append(token)
        self.schema.unions[name] = members

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
                    self.expect(":")
                    attrs[key] = self.next()
            self.expect(";")
            fields.append(FieldDef(token, type_name, vector, default, attrs))
        self.schema.tables[name] = fields


def parse(path: Path = SCHEMA) -> Schema:
    schema = Schema()
    Parser(schema).parse_file(path)
    return schema


def scalar_default(schema: Schema, f: FieldDef) -> object:
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


Row = Tuple[str, str, int, Optional[str], object, int, Optional[str]]


def layout_rows(schema: Schema, table: str) -> List[Row]:
    """One tuple per field: (name, kind, slot, element, default, force_align, enum)."""
    rows: List[Row] = []
    slot = 0
    for f in schema.tables[table]:
        attrs = dict(f.attrs)
        align = int(attrs.pop("force_align", 0))
        if attrs:
            raise SystemExit(f"schema: {table}.{f.name}: unsupported attributes {attrs}")
        enum = f.type if f.type in schema.enums else None
        scalar = schema.enums[f.type][0] if enum else f.type
        if f.type in schema.unions:
            if f.vector:
                raise SystemExit(f"schema: {table}.{f.name}: vectors of unions are unsupported")
            slot += 1  # the hidden <name>_type field takes the slot before
            row: Row = (f.name, "UNION", slot, f.type, None, 0, None)
        elif f.vector:
            if scalar in SCALARS:
                row = (f.name, "VECTOR", slot, SCALARS[scalar][0], None, align, enum)
            elif f.type in schema.tables:
                row = (f.name, "TABLE_VECTOR", slot, f.type, None, 0, None)
            else:
                raise SystemExit(f"schema: {table}.{f.name}: unsupported vector of {f.type}")
        elif f.type == "string":
            row = (f.name, "STRING", slot, None, None, 0, None)
        elif f.type in schema.tables:
            row = (f.name, "TABLE", slot, f.type, None, 0, None)
        elif scalar in SCALARS:
            row = (f.name, "SCALAR", slot, SCALARS[scalar][0], scalar_default(schema, f), 0, enum)
        else:
            raise SystemExit(f"schema: {table}.{f.name}: unknown type {f.type}")
        rows.append(row)
        slot += 1
    return rows


Spec = Tuple[Tuple[int, int, str, bool], ...]


def table_spec(schema: Schema, table: str) -> Spec:
    """(presence bit, slot, format, is_offset) per stored field, as
    _layout_policy.LayoutPolicy.table_layout takes them: a union's type and value share a bit."""
    spec: List[Tuple[int, int, str, bool]] = []
    for bit, (_name, kind, slot, elem, _default, _align, _enum) in enumerate(layout_rows(schema, table)):
        if kind == "SCALAR":
            spec.append((bit, slot, "B" if elem == "?" else str(elem), False))
            continue
        if kind == "UNION":
            spec.append((bit, slot - 1, "B", False))
        spec.append((bit, slot, "I", True))
    return tuple(spec)


def render_layouts(schema: Schema) -> str:
    out = [
        '"""Field layouts of schema/program.fbs.',
        "",
        "Generated by tools/gen_layouts.py; do not edit. A field is",
        "(name, kind, slot, element, default, force_align, enum): element is the",
        "struct format character of a scalar (or of a vector's items), or the",
        "table or union name; slot is the field's id (a union's type field takes",
        'slot - 1); default is the value flatc leaves out; force_align is 0 if unset.',
        '"""',
        "",
        "from typing import Dict, Optional, Tuple, Union",
        "",
        "Field = Tuple[str, str, int, Optional[str], Union[None, bool, int, float], int, Optional[str]]",
        "",
        f"FILE_IDENTIFIER = {schema.file_identifier.encode()!r}",
        f"FILE_EXTENSION = {schema.file_extension!r}",
        f"ROOT_TABLE = {schema.root_type!r}",
        "",
        "ENUMS: Dict[str, Tuple[str, Tuple[Tuple[str, int], ...]]] = {",
    ]
    for name, (base, values) in schema.enums.items():
        out.append(f"    {name!r}: ({SCALARS[base][0]!r}, {tuple(values)!r}),")
    out += ["}", "", "# union name -> member tables; a member's type id is its index + 1",
            "UNIONS: Dict[str, Tuple[str, ...]] = {"]
    for name, members in schema.unions.items():
        out.append(f"    {name!r}: {tuple(members)!r},")
    out += ["}", "", "TABLES: Dict[str, Tuple[Field, ...]] = {"]
    for name in schema.tables:
        out.append(f"    {name!r}: (")
        out += [f"        {row!r}," for row in layout_rows(schema, name)]
        out.append("    ),")
    out += ["}", "", "# table -> (presence bit, slot, struct format, is_offset) per stored field",
            "SPECS: Dict[str, Tuple[Tuple[int, int, str, bool], ...]] = {"]
    out += [f"    {name!r}: {table_spec(schema, name)!r}," for name in schema.tables]
    out += ["}", ""]
    return "\n".join(out)


def python_type(schema: Schema, f: FieldDef) -> str:
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


def python_default(schema: Schema, f: FieldDef) -> str:
    if f.vector or f.type == "string" or f.type in schema.tables or f.type in schema.unions:
        return "None"
    value = scalar_default(schema, f)
    if f.type in schema.enums:
        names = [m for m, v in schema.enums[f.type][1] if v == value]
        return f"{f.type}.{names[0]}" if names else repr(value)
    return repr(value)


def render_model(schema: Schema) -> str:
    out = [
        '"""The program model: one dataclass per table, one IntEnum per enum.',
        "",
        "Generated by tools/gen_layouts.py from schema/program.fbs; do not edit.",
        "Attribute names are the schema's field names. Every field may be left",
        "at its default: None for strings, tables, unions and vectors (absent, not",
        "empty), the schema default for scalars.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass",
        "from enum import IntEnum",
        "from typing import List, Optional, Sequence, Union",
        "",
        "# A [ubyte] vector: any bytes-like object, or a sequence of ints 0..255.",
        "ByteVector = Union[bytes, bytearray, memoryview, Sequence[int]]",
        "",
    ]
    for name, (_, values) in schema.enums.items():
        out += ["", f"class {name}(IntEnum):"]
        out += [f"    {member} = {value}" for member, value in values]
        out.append("")
    for name, fields in schema.tables.items():
        out += ["", "@dataclass", f"class {name}:"]
        if not fields:
            out.append("    pass")
        for f in fields:
            out.append(f"    {f.name}: {python_type(schema, f)} = {python_default(schema, f)}")
        out.append("")
    for name, members in schema.unions.items():
        out += ["", f"{name} = Union[{', '.join(members)}]"]
    out += ["", "", "__all__ = ["]
    names = list(schema.enums) + list(schema.tables) + list(schema.unions) + ["ByteVector"]
    out += [f"    {name!r}," for name in names]
    out += ["]", ""]
    return "\n".join(out)


def flat_tables(schema: Schema) -> List[str]:
    """Tables whose whole subtree _plans.put writes as one struct: no table
    vectors, no force_align, and only such tables below."""
    flat: List[str] = []
    changed = True
    while changed:
        changed = False
        for table in schema.tables:
            if table in flat:
                continue
            ok = True
            for _name, kind, _slot, elem, _default, align, _enum in layout_rows(schema, table):
                if kind == "TABLE_VECTOR" or align:
                    ok = False
                elif kind == "TABLE":
                    ok = ok and elem in flat
                elif kind == "UNION":
                    ok = ok and all(m in flat for m in schema.unions[str(elem)])
            if ok:
                flat.append(table)
                changed = True
    return [t for t in schema.tables if t in flat]


def scalar_lines(var: str, elem: str, default: Any, in_subtree: bool) -> Tuple[List[str], str]:
    """Reading checks for a scalar field, and its presence test.

    A float equal to its default by value but not in sign (-0.0 for 0.0) is
    present or not by the layout policy (its ``signed_zero``): in a table
    written through _writer, the test asks the writer's policy; in a flat
    subtree, whose encoders do not see the writer, the flag is 2, which
    _plans reads through the policy.
    """
    if elem == "?":
        return ([f"    if {var} is not True and {var} is not False:",
                 '        raise TypeError("not a bool")'], f"({var} is {not default})")
    if elem in ("d", "f"):
        zero = float(default or 0.0)
        sign = math.copysign(1.0, zero)
        checks = [f"    if {var}.__class__ is not float:", f"        {var} = to_float({var})"]
        if in_subtree:
            return checks, f"({var} != {zero!r} or copysign(1.0, {var}) != {sign!r} and 2)"
        return checks, f"({var} != {zero!r} or w.policy.signed_zero and copysign(1.0, {var}) != {sign!r})"
    return [], f"({var} != {default!r})"


def encoder_lines(schema: Schema, table: str, aligned: List[Tuple[str, str, int]]) -> List[str]:
    """A table's encoder, writing through _writer: children first, in slot
    order, then the table, laid out by the writer's policy (whose own cache
    keeps the table's layouts)."""
    body, values, bits = [], {}, []
    for name, kind, slot, elem, default, align, _enum in layout_rows(schema, table):
        if kind == "SCALAR":
            var = f"s{slot}"
            checks, present = scalar_lines(var, str(elem), default, in_subtree=False)
            body += [f"    {var} = o.{name}", *checks]
            bits.append(present)
            values[slot] = var
            continue
        var = f"c{slot}"
        body.append(f"    v = o.{name}")
        if kind == "UNION":
            body += ["    if v is None:", f"        u{slot - 1} = {var} = None", "    else:",
                     f"        u{slot - 1}, encode = _MEMBERS_{elem}[v.__class__.__name__]",
                     f"        {var} = encode(w, v)"]
            values[slot - 1] = f"u{slot - 1}"
        else:
            if kind == "STRING":
                call = "string(w, v)"
            elif kind == "TABLE":
                call = f"_{elem}(w, v)"
            elif kind == "TABLE_VECTOR":
                call = f"tables(w, v, _{elem})"
            elif elem == "B":
                if align:
                    aligned.append((table, name, align))
                    call = f"byte_vector(w, v, w.aligns[{len(aligned) - 1}])"
                else:
                    call = "byte_vector(w, v, 0)"
            elif elem == "?":
                call = "bools(w, v)"
            elif elem in WIDE_SCALARS:
                call = f"scalars(w, v, {elem!r})"
            else:
                raise SystemExit(f"schema: {table}.{name}: vectors of {elem} are unsupported")
            body.append(f"    {var} = None if v is None else {call}")
        values[slot] = var
        bits.append(f"({var} is not None)")
    key = " | ".join(["start & 7"] + [f"{b} << {i + 3}" for i, b in enumerate(bits)])
    slots = [values[i] for i in range(len(values))]
    return [
        f"_SPEC_{table} = SPECS[{table!r}]",
        "",
        "",
        f"def _{table}(w: Writer, o: Any) -> int:",
        *body,
        "    start = w.size",
        f"    key = {key}",
        f"    cache = w.layouts[{table!r}]",
        f"    layout = cache.get(key) or new_layout(w.policy, cache, key, _SPEC_{table})",
        f"    return finish_table(w, start, layout, [{', '.join(slots)}])",
        "",
        "",
    ]


def flat_roots(schema: Schema, flat: List[str]) -> List[str]:
    """Flat tables that other tables' encoders write, as whole subtrees."""
    roots = set()
    for table in schema.tables:
        if table in flat:
            continue
        for _name, kind, _slot, elem, *_rest in layout_rows(schema, table):
            if kind in ("TABLE", "TABLE_VECTOR"):
                roots.add(elem)
            elif kind == "UNION":
                roots.update(schema.unions[str(elem)])
    return [t for t in flat if t in roots]


def flat_block(schema: Schema, table: str, obj: str, prefix: str) -> Tuple[List[str], str]:
    """Code that reads a flat table ``obj`` into ``values`` (its scalars in
    slot order, then its children in slot order) and an expression for its
    shape: (which scalars differ from their defaults, then per child its
    length or shape, None if absent; a union gives its type and its member's
    shape). Child tables are read inline; union members by their _flat_
    function."""
    scalars, names, children, bits, parts = [], [], [], [], []
    for bit, (name, kind, slot, elem, default, _align, _enum) in enumerate(layout_rows(schema, table)):
        if kind == "SCALAR":
            var = f"{prefix}s{slot}"
            checks, present = scalar_lines(var, str(elem), default, in_subtree=True)
            scalars += [f"{var} = {obj}.{name}", *[line[4:] for line in checks]]
            names.append(var)
            bits.append(present)
            continue
        var = f"{prefix}k{slot}"
        if kind == "UNION":
            kind_var = f"{prefix}u{slot}"
            parts += [kind_var, var]
            children += [f"v = {obj}.{name}", "if v is None:", f"    {kind_var} = {var} = None", "else:",
                         f"    {kind_var}, flat = _FLAT_{elem}[v.__class__.__name__]",
                         f"    {var} = flat(v, values)"]
            continue
        parts.append(var)
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
        elif elem in ("d", "f"):
            children.append(f"{var} = None if v is None else items(v, {elem!r}, values)")
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
    """For a flat table: the reader a union calls (``member``), and for a
    subtree's ``root``, its encoder."""
    lines, shape = flat_block(schema, table, "o", "")
    body = [f"    {line}" for line in lines]
    out = []
    if member:
        out += [f"def _flat_{table}(o: Any, values: List[Any]) -> Any:", *body,
                f"    return {shape}", "", ""]
    if root:
        out += [f"def _{table}(w: Writer, o: Any) -> int:", "    values: List[Any] = []", *body,
                f"    return put(w, {table!r}, {shape}, values)", "", ""]
    return out


def render_encoders(schema: Schema) -> str:
    aligned: List[Tuple[str, str, int]] = []
    functions: List[str] = []
    flat = flat_tables(schema)
    roots = flat_roots(schema, flat)
    union_members = {m for table in flat for row in layout_rows(schema, table) if row[1] == "UNION"
                     for m in schema.unions[str(row[3])]}
    for table in schema.tables:
        if table in flat:
            functions += flat_lines(schema, table, table in roots, table in union_members)
        else:
            functions += encoder_lines(schema, table, aligned)
    out = [
        '"""One encoder function per table of schema/program.fbs.',
        "",
        "Generated by tools/gen_layouts.py; do not edit. Tables of a flat subtree",
        "(see _plans.py) have a _flat_<Table> function that reads the subtree's",
        "values and shape, and an encoder that writes it with one struct. The other",
        "tables' encoders write their children (strings, vectors, tables) in slot",
        "order, then the table itself, through _writer.py.",
        '"""',
        "",
        "from math import copysign",
        "from typing import Any, Callable, Dict, List, Tuple",
        "",
        "from ._layouts import SPECS",
        "from ._plans import SHORT_VECTOR, items, put",
        "from ._writer import (Writer, bool_bytes, bools, byte_vector, finish_table, new_layout, scalars,",
        "                      string, tables, to_float, ubytes)",
        "",
        "# (table, field, schema force_align): Writer.aligns holds their values in this order.",
        f"FORCE_ALIGNED = {tuple(aligned)!r}",
        "",
        "",
        *functions,
    ]
    owners = {(row[3], table in flat) for table in schema.tables
              for row in layout_rows(schema, table) if row[1] == "UNION"}
    for name, members in schema.unions.items():
        if (name, True) in owners:
            out.append(f"_FLAT_{name}: Dict[str, Tuple[int, Callable[[Any, List[Any]], Any]]] = {{")
            out += [f"    {m!r}: ({i + 1}, _flat_{m})," for i, m in enumerate(members)]
            out += ["}", ""]
        if (name, False) in owners:
            out.append(f"_MEMBERS_{name}: Dict[str, Tuple[int, Callable[[Writer, Any], int]]] = {{")
            out += [f"    {m!r}: ({i + 1}, _{m})," for i, m in enumerate(members)]
            out += ["}", ""]
    out += [f"encode_root = _{schema.root_type}", ""]
    return "\n".join(out)


def outputs() -> Dict[Path, str]:
    schema = parse()
    return {LAYOUTS: render_layouts(schema), ENCODERS: render_encoders(schema),
            MODEL: render_model(schema)}


def main(argv: List[str]) -> int:
    stale = [p for p, text in outputs().items() if not p.exists() or p.read_text() != text]
    if "--check" in argv:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run python tools/gen_layouts.py")
        return 1 if stale else 0
    for path, text in outputs().items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
