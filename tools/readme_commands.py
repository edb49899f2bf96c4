"""Print one of the README's two quick-start commands: `demo` or `test`.

The README is the single source of both; CI and the README test run what
this prints, so the documented commands are the ones that are exercised.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Dict

README = Path(__file__).resolve().parent.parent / "README.md"


def commands(text: str) -> Dict[str, str]:
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", section, re.S)
    if len(blocks) != 2:
        raise SystemExit("README: the quick start must have exactly two sh blocks")
    return {"demo": blocks[0].strip(), "test": blocks[1].strip()}


if __name__ == "__main__":
    print(commands(README.read_text(encoding="utf-8"))[sys.argv[1]])
