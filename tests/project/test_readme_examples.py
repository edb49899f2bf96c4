"""Every example of the README runs as written: each ```python block (in
order, in one folder, each in a fresh interpreter), each ```sh block but the
two that run the tests and the benchmarks, and each ```text block of
``$ command`` lines, whose output must be the lines that follow."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from helpers import CORPUS, ROOT

README = ROOT / "README.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
# The corpus files the README's transcripts name.
TRANSCRIPT_FILES = {"conv.pte": CORPUS / "conv" / "expected.pte",
                    "xnn_mlp.pte": CORPUS / "xnn_mlp" / "expected.pte",
                    "two_linear.ptd": ROOT / "tests" / "data" / "corpus-ptd" / "two_linear" / "expected.ptd"}


def blocks(kind: str) -> List[Tuple[int, str]]:
    """(line number, text) of each block of ``kind``, in order."""
    text = README.read_text(encoding="utf-8")
    return [(text[:m.start()].count("\n") + 1, m.group(2)) for m in BLOCK.finditer(text)
            if m.group(1) == kind]


def environment() -> Dict[str, str]:
    """The README's commands see this interpreter as python3, the installed
    pte-encoder script (beside it), and the package from this checkout."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = tmp_path_factory.mktemp("readme")
    (made / "tests").symlink_to(ROOT / "tests")  # as from a clone: the test data where examples find it
    return made


def test_the_readme_has_examples() -> None:
    assert len(blocks("python")) >= 3 and len(blocks("sh")) >= 3 and blocks("text")


@pytest.mark.parametrize("line, code", blocks("python"), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_each_python_block_runs_as_written(folder: Path, line: int, code: str) -> None:
    result = subprocess.run([sys.executable, "-c", code], cwd=folder, env=environment(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"README line {line}:\n{result.stderr[-2000:]}"


def runnable_sh_blocks() -> List[Tuple[int, str]]:
    # The quick start's test command and the benchmark command run the whole
    # suite and the benchmarks: CI runs the first; each is checked to parse
    # and name what exists in test_readme.py.
    return [(line, code) for line, code in blocks("sh")
            if "pytest" not in code and "benchmarks/run.py" not in code]


@pytest.mark.parametrize("line, code", runnable_sh_blocks(), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_each_sh_block_runs_as_written(tmp_path: Path, line: int, code: str) -> None:
    # As from a clone: the test data where the README's commands find it.
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=tmp_path, env=environment(),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"README line {line}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"


def transcripts() -> List[Tuple[int, str, str]]:
    """(line, command, expected output) of each ``$ command`` in the text blocks."""
    found = []
    for line, text in blocks("text"):
        parts = re.split(r"^\$ (.*)\n", text, flags=re.M)
        for i in range(1, len(parts) - 1, 2):
            found.append((line, parts[i], parts[i + 1]))
    return found


@pytest.mark.parametrize("line, command, expected", transcripts(),
                         ids=lambda v: v if isinstance(v, str) and v.startswith("pte") else "")
def test_each_transcript_prints_what_the_readme_shows(tmp_path: Path, line: int, command: str,
                                                      expected: str) -> None:
    if shutil.which("pte-encoder", path=environment()["PATH"]) is None:
        pytest.skip("the pte-encoder script is not installed (the README's install makes it)")
    for name, source in TRANSCRIPT_FILES.items():
        shutil.copyfile(source, tmp_path / name)
    result = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=environment(),
                            capture_output=True, text=True, timeout=120)
    assert result.stdout + result.stderr == expected, f"README line {line}: {command}"
