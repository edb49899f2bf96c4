"""The XNNPACK commands of pte-encoder: ``encode-xnnpack`` writes a delegate
blob from its graph's JSON form (ExecuTorch's dataclass JSON) and constant
data; ``inspect`` and ``decode`` read blobs through their entries in
cli/read.py's KINDS (the functions here)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Dict, Optional

from ..formats.common.output import check_target, write_file
from ..formats.xnnpack.json import graph_from_json, graph_to_json
from ..formats.xnnpack.read import decode_xnnpack_blob
from ..formats.xnnpack.write import encode_xnnpack_blob
from ..views.xnnpack import format_blob_summary, summarize_xnnpack
from .report import CommandError, report_stream

__all__ = ["add_commands", "summarize_blob", "format_blob_summary", "decode_blob"]


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _not_an_input(outputs: Dict[str, Optional[str]], inputs: Dict[str, Optional[str]]) -> None:
    """Refuse an output that is one of the inputs (or another output): no
    command writes over what it reads."""
    named = [(flag, path) for flag, path in outputs.items() if path]
    for i, (flag, path) in enumerate(named):
        for other, source in [*inputs.items(), *named[:i]]:
            if source and (_same(path, source) or os.path.abspath(path) == os.path.abspath(source)):
                raise CommandError(f"{flag} {path} is {other} too: choose another file")


def summarize_blob(data: Any) -> Dict[str, Any]:
    """``inspect``'s summary of a blob (KINDS)."""
    return summarize_xnnpack(decode_xnnpack_blob(data))


def decode_blob(args: argparse.Namespace, data: Any) -> None:
    """``decode`` of a blob (KINDS): the graph as ExecuTorch's dataclass JSON,
    and its constant data to ``--constant-data-out`` if given."""
    if args.options_out:
        raise CommandError(f"{args.file} is an XNNPACK blob: it has no options (its constant "
                           "data goes to --constant-data-out); --options-out is for a .pte")
    constant_out = getattr(args, "constant_data_out", None)
    _not_an_input({"-o": args.output, "--constant-data-out": constant_out}, {"the blob": args.file})
    blob = decode_xnnpack_blob(data)
    text = graph_to_json(blob.graph).encode("utf-8")
    if constant_out:
        check_target(constant_out)
    existed = os.path.lexists(args.output)
    size = write_file(args.output, [text])
    written = 0
    if constant_out:
        try:
            written = write_file(constant_out, [blob.constant_data])
        except BaseException:  # a failed decode leaves no output behind
            if not existed:
                try:
                    os.unlink(args.output)
                except OSError:
                    pass
            raise
    report = report_stream(args.output, constant_out)
    print(f"wrote {args.output} ({size} bytes)", file=report)
    if constant_out:
        print(f"wrote {constant_out} ({written} bytes of constant data)", file=report)
    elif len(blob.constant_data):
        print(f"note: the blob has {len(blob.constant_data)} bytes of constant data, not in the "
              "JSON: pass --constant-data-out to keep them", file=report)


def _encode_xnnpack(args: argparse.Namespace) -> None:
    _not_an_input({"-o": args.output}, {"the graph": args.graph, "--constant-data": args.constant_data})
    text = _read(args.graph, "graph")
    constant_data = _read(args.constant_data, "constant data") if args.constant_data else b""
    check_target(args.output)
    try:
        source = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CommandError(f"cannot read graph {args.graph}: {exc}") from None
    data = encode_xnnpack_blob(graph_from_json(source), constant_data)
    size = write_file(args.output, [data])
    print(f"wrote {args.output} ({size} bytes)", file=report_stream(args.output))


def add_commands(commands: Any) -> None:
    """Add ``encode-xnnpack`` to the subparsers ``commands``."""
    encode = commands.add_parser(
        "encode-xnnpack", help="encode an XNNPACK delegate blob from its graph's JSON form",
        description="Encode an XNNPACK graph in ExecuTorch's dataclass JSON (unions as X plus "
                    "X_type, version a string, \"+inf\" for infinities; what `decode` writes "
                    "for a blob) as the delegate blob ExecuTorch's serialize_xnnpack_binary "
                    "writes: the XH00 header, the XN01 FlatBuffer, then the constant data.")
    encode.add_argument("graph", metavar="GRAPH.json")
    encode.add_argument("--constant-data", metavar="FILE",
                        help="the bytes to append after the FlatBuffer (default: none, as "
                             "ExecuTorch 1.5.1 writes)")
    encode.add_argument("-o", "--output", required=True, metavar="BLOB.bin")
    encode.set_defaults(run=_encode_xnnpack)
