"""The bundled program commands of pte-encoder: ``encode-bundled`` writes a
.bpte from ExecuTorch's dataclass JSON form; ``inspect`` and ``decode`` read
one (cli/read.py finds the kind by its identifier, ``BP08``, and calls
:func:`summarize_bundled_file` and :func:`decode_bundled_file`)."""

from __future__ import annotations

import argparse
from typing import Any, Dict

from ..engine.reader import byte_view
from ..formats.bundled.json import bundled_from_json, bundled_json_chunks
from ..formats.bundled.read import decode_bundled_program, infer_layout
from ..formats.bundled.write import write_bundled_program
from ..formats.common.output import write_file
from ..views.bundled import summarize_bundled
from .report import CommandError, refuse_overwrite, report_stream

__all__ = ["add_commands", "summarize_bundled_file", "decode_bundled_file"]


def summarize_bundled_file(data: Any) -> Dict[str, Any]:
    """``inspect``'s summary of the .bpte in ``data``."""
    view = byte_view(data)
    bundled = decode_bundled_program(view)
    return summarize_bundled(bundled, len(view), infer_layout(view, bundled))


def decode_bundled_file(args: argparse.Namespace, data: Any) -> None:
    """``decode``: the .bpte in ``data`` as its JSON form, with its layout."""
    if args.options_out:
        raise CommandError(f"{args.file} is a .bpte: its layout goes in the JSON form itself; "
                           "--options-out is for a .pte")
    view = byte_view(data)
    bundled = decode_bundled_program(view)
    layout = infer_layout(view, bundled)
    size = write_file(args.output, bundled_json_chunks(bundled, layout or "flatc"))
    report = report_stream(args.output)
    print(f"wrote {args.output} ({size} bytes)", file=report)
    if layout is None:
        print("note: the file is in neither writer's layout (or was changed after writing): "
              "`encode-bundled` gives back the same bundled program, not these exact bytes",
              file=report)


def _encode_bundled(args: argparse.Namespace) -> None:
    from .encode import read_json  # (here: cli/encode.py imports cli/read.py, which imports this)

    refuse_overwrite({"the bundled program": args.bundled}, {"-o": args.output})
    bundled, layout = bundled_from_json(read_json(args.bundled, "bundled program"))
    size = write_bundled_program(bundled, args.output, layout=args.layout or layout or "flatc")
    print(f"wrote {args.output} ({size} bytes)", file=report_stream(args.output))


def add_commands(commands: Any) -> None:
    """Add ``encode-bundled`` to the pte-encoder subcommands."""
    encode = commands.add_parser(
        "encode-bundled", help="encode a bundled program (.bpte) from ExecuTorch's JSON form",
        description="Encode a bundled program in ExecuTorch's dataclass JSON form (version, "
                    "method_test_suites, program as a list of integers; as `decode` writes "
                    "it) as a .bpte file, as ExecuTorch 1.5.1 writes it. The layout is the "
                    "JSON's \"layout\" key, or --layout, or flatc's.")
    encode.add_argument("bundled", metavar="BUNDLED.json")
    encode.add_argument("-o", "--output", required=True, metavar="OUT.bpte")
    encode.add_argument("--layout", choices=("flatc", "flatbuffers"), default=None,
                        help="lay the FlatBuffer out as ExecuTorch's legacy writer (JSON and "
                             "flatc) or as its default writer (the flatbuffers runtime's "
                             "object API) does; default: the JSON's \"layout\", else flatc")
    encode.set_defaults(run=_encode_bundled)
