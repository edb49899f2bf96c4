"""The pte-encoder command: writing (cli/encode.py: ``encode``, ``encode-data``,
``demo``; cli/xnnpack.py: ``encode-xnnpack``) and reading (cli/read.py:
``inspect``, ``decode``) ExecuTorch's files.
Every failure is one line on stderr, with exit status 2."""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from .. import __version__
from ..engine.errors import FlatBufferError, one_line
from . import encode, read, xnnpack
from .report import CommandError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pte-encoder",
        description="Write and read ExecuTorch program files (.pte) and data files (.ptd).")
    parser.add_argument("--version", action="version", version=f"pte-encoder {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    encode.add_commands(commands)
    read.add_commands(commands)
    xnnpack.add_commands(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.run(args)
        sys.stdout.flush()  # an error writing what was printed is reported here, not at exit
    except OSError as exc:
        reason = exc.strerror or exc
        if exc.filename is not None:  # write_file names the file it failed on
            return _failed(f"cannot write {os.fsdecode(exc.filename)}: {reason}")
        # Else the output file's stream failed, or the standard output.
        if isinstance(exc, BrokenPipeError):  # its reader went away (`| head`): stop quietly
            _drop_standard_output()
            return 1
        output = getattr(args, "output", None)
        if output is None:
            _drop_standard_output()
            return _failed(f"cannot write the standard output: {reason}")
        return _failed(f"cannot write {output}: {reason}")
    except (CommandError, FlatBufferError) as exc:
        return _failed(str(exc))
    return 0


def _drop_standard_output() -> None:
    """Send the standard output nowhere, so that what is still buffered for
    it does not fail again at exit (as Python's documentation on SIGPIPE
    advises)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _failed(message: str) -> int:
    print(f"pte-encoder: error: {one_line(message)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
