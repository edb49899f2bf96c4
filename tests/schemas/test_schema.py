"""schema/ matches ExecuTorch 1.5.1's, and the generated modules are current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from helpers import FLATC, ROOT

# ../shared beside the clone (or beside the folder of worktrees holding it).
UPSTREAM = next((p / "shared" / "upstream" / "executorch-1.5.1" for p in (ROOT.parent, ROOT.parent.parent)
                 if (p / "shared" / "upstream" / "executorch-1.5.1").exists()),
                ROOT.parent / "shared" / "upstream" / "executorch-1.5.1")
# Our schemas (schema/<ours>.fbs), each with the name of ExecuTorch's file it matches.
SCHEMAS = {"program": "program", "flat_tensor": "flat_tensor", "xnnpack": "xnnpack_schema",
           "bundled_program": "bundled_program_schema", "etdump": "etdump_schema_flatcc"}


def upstream_bfbs(name: str) -> Path:
    """flatc's binary schema (reflection) of the upstream NAME.fbs, as written by
    `flatc -b --schema --bfbs-builtins` 25.12.19: tables, fields, slot ids,
    types, defaults, enums, unions (aliases too), attributes (with
    --bfbs-builtins, force_align and deprecated), identifier and extension, and
    the file's name; comments are not part of it."""
    return ROOT / "tests" / "data" / f"upstream-1.5.1-{name}.bfbs"


def binary_schema(fbs: Path, tmp_path: Path, name: str = "") -> bytes:
    """The binary schema of ``fbs``, compiled as ``name``.fbs (flatc writes
    the file's name into it) beside a copy of scalar_type.fbs."""
    out = tmp_path / fbs.parent.name
    subprocess.run([FLATC, "-b", "--schema", "--bfbs-builtins", "-o", str(out), str(fbs)], check=True)
    return (out / fbs.with_suffix(".bfbs").name).read_bytes()


def ours_as_upstream(ours: str, tmp_path: Path, text: Optional[str] = None) -> Path:
    """schema/<ours>.fbs (or ``text``) copied under upstream's file name, which
    flatc embeds in the binary schema, beside the files it includes."""
    folder = tmp_path / "as-upstream"
    folder.mkdir(exist_ok=True)
    for path in (ROOT / "schema").glob("*.fbs"):
        (folder / path.name).write_text(path.read_text())
    target = folder / f"{SCHEMAS[ours]}.fbs"
    target.write_text((ROOT / "schema" / f"{ours}.fbs").read_text() if text is None else text)
    return target


@pytest.mark.parametrize("ours", SCHEMAS)
def test_schema_is_structurally_identical_to_executorch(ours: str, tmp_path: Path) -> None:
    compiled = binary_schema(ours_as_upstream(ours, tmp_path), tmp_path)
    assert compiled == upstream_bfbs(SCHEMAS[ours]).read_bytes()


@pytest.mark.skipif(not UPSTREAM.exists(), reason="../shared/upstream is not beside the clone")
@pytest.mark.parametrize("name", SCHEMAS.values())
def test_stored_upstream_binary_schema_is_current(name: str, tmp_path: Path) -> None:
    assert binary_schema(UPSTREAM / f"{name}.fbs", tmp_path) == upstream_bfbs(name).read_bytes()


@pytest.mark.skipif(not UPSTREAM.exists(), reason="../shared/upstream is not beside the clone")
@pytest.mark.parametrize("ours", SCHEMAS)
def test_generator_reads_ours_as_upstream(ours: str) -> None:
    """What the generator reads from ours and from upstream's is the same,
    attributes and union aliases included (a second proof beside the binary
    schema's)."""
    import gen_schema

    def declared(path: Path) -> Any:
        d = gen_schema.parse(path)
        tables = {t: [(f.name, f.type, f.vector, f.default, f.attrs) for f in fields]
                  for t, fields in d.tables.items()}
        return d.enums, d.unions, d.aliases, tables, d.namespace, d.file_identifier, d.root_type
    assert declared(ROOT / "schema" / f"{ours}.fbs") == declared(UPSTREAM / f"{SCHEMAS[ours]}.fbs")


@pytest.mark.parametrize("ours, old, new", [
    ("program", "  layout: byte;\n", "  layout: ubyte;\n"),
    ("program", "storage: [ubyte] (force_align: 16);", "storage: [ubyte] (force_align: 32);"),
    ("flat_tensor", "  segment_index: uint32;\n", "  segment_index: int32;\n"),
    ("flat_tensor", "file_identifier \"FT01\";", "file_identifier \"FT02\";"),
    ("xnnpack", "  XNNDiv: _XNNNode2x1,", "  XNNDiv: _XNNNode1x1,"),
    ("xnnpack", "  XNNDiv: _XNNNode2x1,", "  XNNDivide: _XNNNode2x1,"),
    ("xnnpack", "enum XNNDatatype : short {", "enum XNNDatatype : ushort {"),
    ("xnnpack", "scale_bf16: [ushort] (deprecated);", "scale_bf16: [ushort];"),
    ("xnnpack", "storage: [ubyte] (deprecated, force_align: 16);", "storage: [ubyte] (deprecated, force_align: 8);"),
    ("xnnpack", "  constant_buffer: [Buffer] (deprecated);", "  constant_buffer: [Buffer];"),
    # built-in attributes count (--bfbs-builtins): a force_align changed
    ("program", "storage: [ubyte] (force_align: 16);", "storage: [ubyte] (force_align: 8);"),
    ("bundled_program", "(force_align: 32)", "(force_align: 16)"),
    ("bundled_program", "  version: uint;\n", "  version: int;\n"),
    ("bundled_program", "  Bool,\n  Double,\n", "  Double,\n  Bool,\n"),
    ("bundled_program", "file_identifier \"BP08\";", "file_identifier \"BP09\";"),
    ("etdump", "  allocation_size: ulong;", "  allocation_size: long;"),
    ("etdump", "  instruction_id: int = -1;        //", "  instruction_id: int = 0;        //"),
    ("etdump", "file_identifier \"ED00\";", "file_identifier \"ED01\";"),
    ("etdump", "  String,\n}", "}"),
])
def test_a_changed_schema_would_be_noticed(ours: str, old: str, new: str, tmp_path: Path) -> None:
    text = (ROOT / "schema" / f"{ours}.fbs").read_text()
    assert old in text
    changed = ours_as_upstream(ours, tmp_path, text.replace(old, new))
    assert binary_schema(changed, tmp_path) != upstream_bfbs(SCHEMAS[ours]).read_bytes()


@pytest.mark.parametrize("tool", ["gen_schema.py", "gen_reference.py"])
def test_generated_code_is_current(tool: str) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "tools" / tool), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _parse(tmp_path: Path, files: Dict[str, str]) -> Any:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    import gen_schema
    return gen_schema.records(gen_schema.parse(tmp_path / "main.fbs"), "main")


def test_generator_resolves_includes_namespaces_and_qualified_names(tmp_path: Path) -> None:
    schema = _parse(tmp_path, {
        "other.fbs": "namespace a.b;\nenum Kind : ubyte { X, Y = 4 }\ntable Inner { k: Kind = Y; }\n"
                     "file_identifier \"NOPE\";\nroot_type Inner;\n",
        "main.fbs": 'include "other.fbs";\nnamespace c;\nfile_identifier "MAIN";\n'
                    "table Outer { kind: a.b.Kind; inner: a.b.Inner; items: [a.b.Inner]; }\n"
                    "root_type Outer;\n",
    })
    assert (schema.namespace, schema.file_identifier, schema.root_table) == ("c", b"MAIN", "Outer")
    assert schema.enums["Kind"].values == (("X", 0), ("Y", 4))
    assert [tuple(f) for f in schema.tables["Outer"]] == [
        ("kind", "SCALAR", 0, "B", 0, 0, "Kind"), ("inner", "TABLE", 1, "Inner", None, 0, None),
        ("items", "TABLE_VECTOR", 2, "Inner", None, 0, None)]
    assert schema.tables["Inner"][0].default == 4


@pytest.mark.parametrize("main, error", [
    ("namespace c;\ntable T { x: Nowhere; }\nroot_type T;\n", "unknown type 'Nowhere'"),
    ('include "other.fbs";\nnamespace c;\ntable Inner { x: int; }\nroot_type Inner;\n',
     "two declarations named 'Inner'"),
    ("namespace c;\ntable T { x: int (key); }\nroot_type T;\n", "unsupported attributes"),
    ("namespace c;\ntable T { x: [string]; }\nroot_type T;\n", "unsupported vector of string"),
    ("namespace c;\ntable A { x: int; }\nunion U { A = 5 }\ntable T { u: U; }\nroot_type T;\n",
     "union U: unsupported member syntax at '='"),
    ("namespace c;\ntable A { x: int; }\nunion U { B: A, B: A }\ntable T { u: U; }\nroot_type T;\n",
     "two members named 'B'"),
    ("namespace c;\ntable A { x: int; }\nunion U { T: A }\ntable T { u: U; }\nroot_type T;\n",
     "alias 'T' clashes"),
    ("namespace c;\ntable A { x: int; }\ntable B { x: int; }\nunion U { M: A }\nunion V { M: B }\n"
     "table T { u: U; v: V; }\nroot_type T;\n", "alias 'M' clashes"),
    ("namespace c;\nenum E : byte { X }\nunion U { M: E }\ntable T { u: U; }\nroot_type T;\n",
     "member M is not a table"),
    ("namespace c;\ntable T { x: int (deprecated, key); }\nroot_type T;\n", "unsupported attributes"),
    ("namespace c;\ntable T { x: float = 1.5; }\nroot_type T;\n", "a default other than 0"),
    ("namespace c;\ntable T { x: [ushort]; }\nroot_type T;\n", "vectors of H are unsupported"),
])
def test_generator_refuses_what_the_engine_cannot_follow(tmp_path: Path, main: str, error: str) -> None:
    with pytest.raises(SystemExit, match=error):
        _parse(tmp_path, {"other.fbs": "namespace a.b;\ntable Inner { k: int; }\n", "main.fbs": main})


def test_generator_reads_aliases_and_deprecated_fields(tmp_path: Path) -> None:
    """A member named through an alias is a table of its own (its table's
    fields) listed under its name; a deprecated field keeps its slot, the
    fields after it keep theirs, and the schema lists it."""
    schema = _parse(tmp_path, {"main.fbs": (
        "namespace c;\ntable _Pair { a: uint; b: uint; }\ntable Own { x: float; }\n"
        "union U { Add: _Pair, Own, Sub: _Pair }\n"
        "table T { old: [ubyte] (deprecated, force_align: 16); u: U; gone: U (deprecated); n: int; }\n"
        "root_type T;\n")})
    assert schema.unions["U"] == ("Add", "Own", "Sub")
    assert schema.tables["Add"] == schema.tables["Sub"] == schema.tables["_Pair"]
    assert [(f.name, f.kind, f.slot) for f in schema.tables["T"]] == [("u", "UNION", 2), ("n", "SCALAR", 5)]
    assert schema.deprecated == {"T": ("old", "gone")}
    assert schema.tables["Own"][0].elem == "f"


def test_schema_records_are_checked() -> None:
    from pte_encoder.engine.schema import Field, Schema
    table = {"T": (Field("x", "TABLE", 0, "Missing", None, 0, None),)}
    with pytest.raises(ValueError, match=r"T\.x: 'Missing' is not a table"):
        Schema("s", "ns", b"SSSS", "s", "T", table, {}, {})
    with pytest.raises(ValueError, match=r"U: deprecated fields \('y',\) of no table"):
        Schema("s", "ns", b"SSSS", "s", "T", {"T": ()}, {}, {}, {"U": ("y",)})
    with pytest.raises(ValueError, match=r"T\.x: unknown kind"):
        Schema("s", "ns", b"SSSS", "s", "T", {"T": (Field("x", "BLOB", 0, None, None, 0, None),)}, {}, {})
