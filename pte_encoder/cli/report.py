"""What the commands share: their one-line error, where to say what was written,
and the check that no output is an input or another output."""

from __future__ import annotations

import io
import os
import stat
import sys
from typing import Mapping, Optional, TextIO

__all__ = ["CommandError", "report_stream", "refuse_overwrite"]


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


def _same_file(a: str, b: str) -> bool:
    """Whether the paths ``a`` and ``b`` name one file, links followed (a
    symlink, a hard link, ``./x/../``, ``/dev/stdout`` and the file the
    standard output goes to), or would name one (neither exists yet)."""
    try:
        return os.path.samestat(os.stat(a), os.stat(b))
    except (OSError, ValueError):  # one is missing (or names nothing): compare the names
        return os.path.realpath(a) == os.path.realpath(b)


def _is_character_device(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def refuse_overwrite(inputs: Mapping[str, Optional[str]], outputs: Mapping[str, Optional[str]]) -> None:
    """:class:`CommandError` if an output names an input, or two outputs name
    one file (which the second write would replace, or run together with the
    first); checked before anything is read or written. ``inputs`` maps what
    each input is ("the input", "--options") to its path, ``outputs`` each
    output's flag to its path (None: not given). A character device
    (``/dev/null``, a terminal) may take several outputs."""
    given = [(flag, path) for flag, path in outputs.items() if path is not None]
    for i, (flag, output) in enumerate(given):
        for what, source in inputs.items():
            if source is not None and _same_file(source, output):
                raise CommandError(f"{flag} {output} is {what} {source} too: choose another file "
                                   "(no command writes over its input)")
        for other, path in given[:i]:
            if _same_file(path, output) and not _is_character_device(output):
                raise CommandError(f"{flag} {output} is {other} {path} too: choose another file "
                                   "(each output needs its own)")
