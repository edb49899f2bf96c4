"""schema/ matches ExecuTorch 1.5.1's, and the generated modules are current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers import FLATC, ROOT

UPSTREAM = ROOT.parent / "shared" / "upstream" / "executorch-1.5.1" / "program.fbs"
# flatc's binary schema (reflection) of the upstream program.fbs, as written by
# `flatc -b --schema` 25.12.19: tables, fields, slot ids, types, defaults,
# enums, unions, attributes such as force_align, identifier and extension;
# comments are not part of it.
UPSTREAM_BFBS = ROOT / "tests" / "data" / "upstream-1.5.1-program.bfbs"


def binary_schema(fbs: Path, tmp_path: Path) -> bytes:
    out = tmp_path / fbs.parent.name
    subprocess.run([FLATC, "-b", "--schema", "-o", str(out), str(fbs)], check=True)
    return (out / "program.bfbs").read_bytes()


def test_schema_is_structurally_identical_to_executorch(tmp_path: Path) -> None:
    assert binary_schema(ROOT / "schema" / "program.fbs", tmp_path) == UPSTREAM_BFBS.read_bytes()


@pytest.mark.skipif(not UPSTREAM.exists(), reason="../shared/upstream is not beside the clone")
def test_stored_upstream_binary_schema_is_current(tmp_path: Path) -> None:
    assert binary_schema(UPSTREAM, tmp_path) == UPSTREAM_BFBS.read_bytes()


def test_a_changed_schema_would_be_noticed(tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    changed.mkdir()
    text = (ROOT / "schema" / "program.fbs").read_text()
    (changed / "program.fbs").write_text(text.replace("  layout: byte;\n", "  layout: ubyte;\n"))
    (changed / "scalar_type.fbs").write_text((ROOT / "schema" / "scalar_type.fbs").read_text())
    assert binary_schema(changed / "program.fbs", tmp_path) != UPSTREAM_BFBS.read_bytes()


@pytest.mark.parametrize("tool", ["gen_layouts.py", "gen_reference.py"])
def test_generated_code_is_current(tool: str) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "tools" / tool), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
