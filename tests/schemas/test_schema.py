"""schema/ matches ExecuTorch 1.5.1's, and the generated modules are current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from helpers import FLATC, ROOT

# ../shared beside the clone (or beside the folder of worktrees holding it).
UPSTREAM = next((p / "shared" / "upstream" / "executorch-1.5.1" for p in (ROOT.parent, ROOT.parent.parent)
                 if (p / "shared" / "upstream" / "executorch-1.5.1").exists()),
                ROOT.parent / "shared" / "upstream" / "executorch-1.5.1")
# Our schemas, by the name of ExecuTorch's file each matches.
SCHEMAS = ["program", "flat_tensor"]


def upstream_bfbs(name: str) -> Path:
    """flatc's binary schema (reflection) of the upstream NAME.fbs, as written by
    `flatc -b --schema` 25.12.19: tables, fields, slot ids, types, defaults,
    enums, unions, attributes such as force_align, identifier and extension;
    comments are not part of it."""
    return ROOT / "tests" / "data" / f"upstream-1.5.1-{name}.bfbs"


def binary_schema(fbs: Path, tmp_path: Path) -> bytes:
    out = tmp_path / fbs.parent.name
    subprocess.run([FLATC, "-b", "--schema", "-o", str(out), str(fbs)], check=True)
    return (out / fbs.with_suffix(".bfbs").name).read_bytes()


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_structurally_identical_to_executorch(name: str, tmp_path: Path) -> None:
    assert binary_schema(ROOT / "schema" / f"{name}.fbs", tmp_path) == upstream_bfbs(name).read_bytes()


@pytest.mark.skipif(not UPSTREAM.exists(), reason="../shared/upstream is not beside the clone")
@pytest.mark.parametrize("name", SCHEMAS)
def test_stored_upstream_binary_schema_is_current(name: str, tmp_path: Path) -> None:
    assert binary_schema(UPSTREAM / f"{name}.fbs", tmp_path) == upstream_bfbs(name).read_bytes()


@pytest.mark.parametrize("name, old, new", [
    ("program", "  layout: byte;\n", "  layout: ubyte;\n"),
    ("flat_tensor", "  segment_index: uint32;\n", "  segment_index: int32;\n"),
    ("flat_tensor", "file_identifier \"FT01\";", "file_identifier \"FT02\";"),
])
def test_a_changed_schema_would_be_noticed(name: str, old: str, new: str, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    changed.mkdir()
    text = (ROOT / "schema" / f"{name}.fbs").read_text()
    assert old in text
    (changed / f"{name}.fbs").write_text(text.replace(old, new))
    (changed / "scalar_type.fbs").write_text((ROOT / "schema" / "scalar_type.fbs").read_text())
    assert binary_schema(changed / f"{name}.fbs", tmp_path) != upstream_bfbs(name).read_bytes()


# Ours under another name than upstream's: schema/<ours>.fbs is compiled as a
# temporary copy named as upstream names it (the .bfbs records the file name),
# with --bfbs-builtins so that builtin attributes (force_align, ...) count too.
RENAMED = {"etdump": "etdump_schema_flatcc"}


def builtins_bfbs(fbs: Path, name: str, tmp_path: Path) -> bytes:
    """`flatc -b --schema --bfbs-builtins` of ``fbs`` (and scalar_type.fbs beside
    it) compiled as ``name``.fbs."""
    copy = tmp_path / "as-upstream"
    copy.mkdir(exist_ok=True)
    (copy / f"{name}.fbs").write_bytes(fbs.read_bytes())
    (copy / "scalar_type.fbs").write_bytes((fbs.parent / "scalar_type.fbs").read_bytes())
    out = tmp_path / "as-upstream-out"
    subprocess.run([FLATC, "-b", "--schema", "--bfbs-builtins", "-o", str(out), str(copy / f"{name}.fbs")],
                   check=True)
    return (out / f"{name}.bfbs").read_bytes()


@pytest.mark.parametrize("ours, name", sorted(RENAMED.items()))
def test_renamed_schema_is_structurally_identical_to_executorch(ours: str, name: str, tmp_path: Path) -> None:
    assert builtins_bfbs(ROOT / "schema" / f"{ours}.fbs", name, tmp_path) == upstream_bfbs(name).read_bytes()


@pytest.mark.skipif(not UPSTREAM.exists(), reason="../shared/upstream is not beside the clone")
@pytest.mark.parametrize("name", sorted(RENAMED.values()))
def test_stored_renamed_upstream_binary_schema_is_current(name: str, tmp_path: Path) -> None:
    assert builtins_bfbs(UPSTREAM / f"{name}.fbs", name, tmp_path) == upstream_bfbs(name).read_bytes()


@pytest.mark.parametrize("ours, old, new", [
    ("etdump", "  allocation_size: ulong;", "  allocation_size: long;"),
    ("etdump", "  instruction_id: int = -1;        //", "  instruction_id: int = 0;        //"),
    ("etdump", "file_identifier \"ED00\";", "file_identifier \"ED01\";"),
    ("etdump", "  String,\n}", "}"),
])
def test_a_changed_renamed_schema_would_be_noticed(ours: str, old: str, new: str, tmp_path: Path) -> None:
    text = (ROOT / "schema" / f"{ours}.fbs").read_text()
    assert old in text
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / f"{ours}.fbs").write_text(text.replace(old, new))
    (changed / "scalar_type.fbs").write_text((ROOT / "schema" / "scalar_type.fbs").read_text())
    name = RENAMED[ours]
    assert builtins_bfbs(changed / f"{ours}.fbs", name, tmp_path) != upstream_bfbs(name).read_bytes()


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
])
def test_generator_refuses_what_the_engine_cannot_follow(tmp_path: Path, main: str, error: str) -> None:
    with pytest.raises(SystemExit, match=error):
        _parse(tmp_path, {"other.fbs": "namespace a.b;\ntable Inner { k: int; }\n", "main.fbs": main})


def test_schema_records_are_checked() -> None:
    from pte_encoder.engine.schema import Field, Schema
    table = {"T": (Field("x", "TABLE", 0, "Missing", None, 0, None),)}
    with pytest.raises(ValueError, match=r"T\.x: 'Missing' is not a table"):
        Schema("s", "ns", b"SSSS", "s", "T", table, {}, {})
    with pytest.raises(ValueError, match=r"T\.x: unknown kind"):
        Schema("s", "ns", b"SSSS", "s", "T", {"T": (Field("x", "BLOB", 0, None, None, 0, None),)}, {}, {})
