"""What the commands share: their one-line error, and where to say what was written."""

from __future__ import annotations

import io
import os
import sys
from typing import Optional, TextIO

__all__ = ["CommandError", "report_stream"]


class CommandError(Exception):
    """A failure to report in one line (a file that cannot be read, say)."""


def report_stream(*outputs: Optional[str]) -> TextIO:
    """Where to say what was written: stdout, unless one of the files went
    there (``-o /dev/stdout``), which the report would then corrupt."""
    for output in outputs:
        if output is None:
            continue
        try:
            if os.path.samestat(os.stat(output), os.fstat(sys.stdout.fileno())):
                return sys.stderr
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass  # no stdout file descriptor (captured, closed): not the same file
    return sys.stdout
