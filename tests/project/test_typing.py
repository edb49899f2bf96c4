"""The typed API, checked by mypy, and the package on every Python it supports.

- ``mypy --strict pte_encoder tools`` is clean with the pinned mypy (the test
  extra's, also for ``--python-version 3.9``) and with the newest release
  when ``PTE_ENCODER_LATEST_MYPY`` names a Python that has it (``.ci/run``
  installs it in a virtual environment of its own and runs these checks as a
  step of their own; a plain test run skips them).
- tests/typecheck/uses.py (our model, ExecuTorch-shaped objects, options
  passed with ``**``) type-checks; each line of tests/typecheck/misuses.py
  ending in an E: comment is reported with that text, and no other line.
- Every interpreter from 3.9 to 3.13 found on the machine encodes the corpus
  from the source tree, with nothing installed.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import pytest

import pte_encoder as pe
from helpers import CORPUS, CORPUS_CASES, ROOT

TYPECHECK = ROOT / "tests" / "typecheck"
# The newest mypy is checked as a step of its own (.ci/run): it names a
# Python with the newest mypy installed, and the "latest" checks run with it.
LATEST = "PTE_ENCODER_LATEST_MYPY"
MARK = re.compile(r"#\s*E:\s*(.+?)\s*$")


def mypy_python(which: str) -> Path:
    """The Python whose mypy to run: this one's (pinned), or the newest's."""
    if which == "pinned":
        return Path(sys.executable)
    latest = os.environ.get(LATEST)
    if not latest:
        pytest.skip(f"the newest mypy is checked when {LATEST} names a Python that has it "
                    "(.ci/run sets it up)")
    return Path(latest)


def run_mypy(python: Path, args: List[str], cwd: Path,
             env: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
    result = subprocess.run([str(python), "-m", "mypy", "--no-incremental", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=600)
    version = subprocess.run([str(python), "-m", "mypy", "--version"],
                             capture_output=True, text=True).stdout.strip()
    return result.returncode, f"{version}:\n{result.stdout}{result.stderr}"


CHECKS = [("pinned", []), ("pinned", ["--python-version", "3.9"]), ("latest", [])]
IDS = ["pinned", "pinned-py3.9", "latest"]


@pytest.mark.parametrize("which,extra", CHECKS, ids=IDS)
def test_package_and_tools_are_clean(which: str, extra: List[str]) -> None:
    code, output = run_mypy(mypy_python(which), ["--strict", *extra, "pte_encoder", "tools"], ROOT)
    assert code == 0, output


def marked_lines(path: Path) -> Dict[int, str]:
    marks = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = MARK.search(line)
        if match:
            marks[number] = match.group(1)
    return marks


def errors_by_file(output: str) -> Dict[str, Dict[int, List[str]]]:
    found: Dict[str, Dict[int, List[str]]] = {}
    for line in output.splitlines():
        match = re.match(r"(\S+?\.py):(\d+): error: (.*)", line)
        if match:
            name = Path(match.group(1)).name
            found.setdefault(name, {}).setdefault(int(match.group(2)), []).append(match.group(3))
    return found


@pytest.mark.parametrize("which,extra", CHECKS, ids=IDS)
def test_uses_type_check_and_each_misuse_is_reported(which: str, extra: List[str]) -> None:
    env = {**os.environ, "MYPYPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    _code, output = run_mypy(mypy_python(which), ["--strict", *extra, "uses.py", "misuses.py"],
                             TYPECHECK, env)
    assert "error: " in output and "misuses.py" in output, output  # mypy ran on the files
    errors = errors_by_file(output)
    assert not errors.get("uses.py"), output
    marks = marked_lines(TYPECHECK / "misuses.py")
    reported = errors.get("misuses.py", {})
    assert set(reported) == set(marks), (
        f"reported but not marked: {sorted(set(reported) - set(marks))}; "
        f"marked but not reported: {sorted(set(marks) - set(reported))}\n{output}")
    for number, text in marks.items():
        assert any(text in message for message in reported[number]), (number, text, output)
    assert {name for name in errors} <= {"uses.py", "misuses.py"}, output


def test_the_misuses_file_marks_enough_lines() -> None:
    # Guards the test above against an emptied misuses file.
    assert len(marked_lines(TYPECHECK / "misuses.py")) >= 30


def keyword_options(function: object) -> Set[str]:
    parameters = inspect.signature(function).parameters.values()  # type: ignore[arg-type]
    return {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


def test_encode_options_are_encode_programs_keywords() -> None:
    from pte_encoder.formats.pte import json as json_form
    from pte_encoder.types import EncodeOptions
    keys = set(EncodeOptions.__annotations__)
    assert keys == set(json_form._OPTION_KEYS)
    assert EncodeOptions.__total__ is False
    for function in (pe.encode_program, pe.write_program):
        assert keys <= keyword_options(function)
        parameters = inspect.signature(function).parameters
        for key in keys:  # the same annotation, as text (postponed evaluation)
            declared = EncodeOptions.__annotations__[key]
            assert getattr(declared, "__forward_arg__", declared) == parameters[key].annotation, key


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_options_from_json_gives_the_types_it_declares(case: str) -> None:
    options = pe.options_from_json((CORPUS / case / "options.json").read_text())
    kinds = {"mutable_data": list, "named_data": pe.NamedDataOutput, "extract_delegate_segments": bool,
             "segment_alignment": int, "constant_tensor_alignment": int, "delegate_alignment": int}
    for key, value in options.items():
        assert isinstance(value, kinds[key]), (key, value)
    for blob in options.get("mutable_data") or []:
        assert isinstance(blob, bytes)


def test_protocols_have_the_schemas_fields() -> None:
    from pte_encoder.schemas.program import types as _program_types
    from pte_encoder.schemas.program.codec import PROGRAM
    for table, fields in PROGRAM.schema.tables.items():
        protocol = getattr(_program_types, table + "Like")
        properties = [name for name, value in vars(protocol).items() if isinstance(value, property)]
        assert properties == [f.name for f in fields], table
    for union in PROGRAM.schema.unions:
        assert hasattr(_program_types, union + "Like")


def test_importing_the_package_does_not_load_the_types() -> None:
    script = ("import sys, pte_encoder\n"
              "assert 'pte_encoder.types' not in sys.modules, 'types loaded'\n"
              "assert 'pte_encoder.schemas.program.types' not in sys.modules, '_program_types loaded'\n"
              "from pte_encoder.types import EncodeOptions, ProgramLike, NamedDataStoreLike\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr


# Every corpus case through the public API on another interpreter, from the
# source tree: the FlatBuffer, the .pte in memory and written to a file; and
# every .ptd corpus case.
CORPUS_SCRIPT = r"""
import pathlib, sys, tempfile
import pte_encoder as pe
from pte_encoder.types import EncodeOptions, ProgramLike  # loads at run time too
corpus = pathlib.Path(sys.argv[1])
assert pathlib.Path(pe.__file__).resolve().parent == pathlib.Path(sys.argv[2]).resolve(), pe.__file__
cases = sorted(p for p in corpus.iterdir() if p.is_dir())
for case in cases:
    options = pe.options_from_json((case / "options.json").read_text())
    flat = pe.encode_flatbuffer(pe.program_from_json((case / "flatbuffer.json").read_text()),
                                constant_tensor_alignment=options.get("constant_tensor_alignment"),
                                delegate_alignment=options.get("delegate_alignment"))
    assert flat == (case / "flatbuffer.bin").read_bytes(), case.name
    program = pe.program_from_json((case / "program.json").read_text())
    expected = (case / "expected.pte").read_bytes()
    assert pe.encode_program(program, **options) == expected, case.name
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "out.pte"
        assert pe.write_program(program, path, **options) == len(expected), case.name
        assert path.read_bytes() == expected, case.name
    assert pe.program_to_json(program).startswith("{"), case.name
for case in sorted(p for p in corpus.parent.joinpath("corpus-ptd").iterdir() if p.is_dir()):
    payload, options = pe.payload_from_json((case / "payload.json").read_text())
    assert pe.encode_data_file(payload, **options) == (case / "expected.ptd").read_bytes(), case.name
print(len(cases), "cases", sys.version.split()[0])
"""


def interpreter(minor: int) -> Optional[str]:
    """A working python3.<minor>: pyenv's, else one on PATH."""
    name = f"python3.{minor}"
    candidates = sorted((Path.home() / ".pyenv" / "versions").glob(f"3.{minor}.*/bin/{name}"),
                        reverse=True)
    found = shutil.which(name)
    for candidate in [*map(str, candidates), *([found] if found else [])]:
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == f"(3, {minor})":
            return candidate
    return None


@pytest.mark.parametrize("minor", range(9, 14), ids=[f"3.{m}" for m in range(9, 14)])
def test_the_corpus_encodes_on_every_python(minor: int, tmp_path: Path) -> None:
    python = interpreter(minor)
    if python is None:
        pytest.skip(f"no python3.{minor} on this machine")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = subprocess.run([python, "-s", "-c", CORPUS_SCRIPT, str(CORPUS), str(ROOT / "pte_encoder")],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith(f"{len(CORPUS_CASES)} cases 3.{minor}."), result.stdout


@pytest.mark.parametrize("minor", [6, 7, 8], ids=["3.6", "3.7", "3.8"])
def test_an_old_python_gets_one_clear_line(minor: int, tmp_path: Path) -> None:
    python = interpreter(minor)
    if python is None:
        pytest.skip(f"no python3.{minor} on this machine")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    command = subprocess.run([python, "-m", "pte_encoder", "demo", "-o", "demo.pte"], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=60)
    assert command.returncode == 1 and command.stdout == ""
    assert re.fullmatch(rf"pte-encoder: error: pte_encoder needs Python 3\.9 or newer, not 3\.{minor}\.\d+\n",
                        command.stderr), command.stderr
    imported = subprocess.run([python, "-c", "import pte_encoder"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
    assert imported.stderr.splitlines()[-1].startswith(
        f"ImportError: pte_encoder needs Python 3.9 or newer, not 3.{minor}."), imported.stderr
    assert not (tmp_path / "demo.pte").exists()
