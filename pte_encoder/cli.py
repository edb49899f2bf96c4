"""The pte-encoder command: ``encode`` a Program's JSON form, ``encode-data`` a .ptd
payload's JSON form, or write the ``demo``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional

from .demo import demo_program
from .cli_read import ReadError, add_commands as add_read_commands, report_stream
from .errors import PteEncoderError, one_line
from .flatbuffer import encode_flatbuffer
from .json_form import options_from_json, payload_from_json, program_from_json
from ._files import write_file
from .ptd import write_data_file
from .pte import write_program


class CommandError(Exception):
    """A failure to report in one line."""


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {what} {path}: {getattr(exc, 'strerror', None) or exc}") from None


def _encode(args: argparse.Namespace) -> None:
    program = program_from_json(_read(args.program, "program"))
    options = options_from_json(_read(args.options, "options")) if args.options else {}
    if args.flatbuffer_only:
        data = encode_flatbuffer(program,
                                 constant_tensor_alignment=options.get("constant_tensor_alignment"),
                                 delegate_alignment=options.get("delegate_alignment"),
                                 layout=args.layout)
        size = write_file(args.output, [data])
    else:
        size = write_program(program, args.output, layout=args.layout, **options)
    print(f"wrote {args.output} ({size} bytes)", file=report_stream(args.output))


def _encode_data(args: argparse.Namespace) -> None:
    payload, options = payload_from_json(_read(args.payload, "payload"))
    size = write_data_file(payload, args.output, **options)
    print(f"wrote {args.output} ({size} bytes)", file=report_stream(args.output))


def _demo(args: argparse.Namespace) -> None:
    program = demo_program()
    size = write_program(program, args.output)
    report = report_stream(args.output)
    print(f"wrote {args.output} ({size} bytes)", file=report)
    for plan in program.execution_plan or []:
        operators = ", ".join(f"{op.name}.{op.overload}" for op in plan.operators or [])
        print(f"  method {plan.name}: {len(plan.values or [])} values, operators {operators}",
              file=report)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pte-encoder",
        description="Write and read ExecuTorch program files (.pte) and data files (.ptd).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    encode = commands.add_parser(
        "encode", help="encode a Program from ExecuTorch's JSON form",
        description="Encode a Program in ExecuTorch's JSON form (fields in schema order, "
                    "unions as X plus X_type, bytes as lists of integers) as a .pte file.")
    encode.add_argument("program", metavar="PROGRAM.json")
    encode.add_argument("-o", "--output", required=True, metavar="OUT.pte")
    encode.add_argument("--options", metavar="OPTIONS.json",
                        help="encode_program's options: alignments, extract_delegate_segments, "
                             "base64 mutable_data and named_data")
    encode.add_argument("--flatbuffer-only", action="store_true",
                        help="write only the FlatBuffer, as `flatc --binary` did")
    encode.add_argument("--layout", choices=("flatc", "flatbuffers"), default="flatc",
                        help="lay the FlatBuffer out as flatc does (the default; ExecuTorch 1.1 "
                             "and earlier) or as ExecuTorch 1.5.1's default writer does "
                             "(the flatbuffers runtime's object API)")
    encode.set_defaults(run=_encode)
    encode_data = commands.add_parser(
        "encode-data", help="encode a .ptd data file from its payload's JSON form",
        description="Encode a payload (segment_alignment; buffers as base64; named_data: key -> "
                    "buffer_index, alignment, tensor_layout) as a .ptd file, as ExecuTorch's "
                    "FlatTensorSerializer writes it.")
    encode_data.add_argument("payload", metavar="PAYLOAD.json")
    encode_data.add_argument("-o", "--output", required=True, metavar="OUT.ptd")
    encode_data.set_defaults(run=_encode_data)
    demo = commands.add_parser(
        "demo", help="write a small built-in program",
        description="Write forward(x, y) = x * y + x on 2x2 float tensors, which "
                    "ExecuTorch's runtime runs with its portable kernels.")
    demo.add_argument("-o", "--output", required=True, metavar="OUT.pte")
    demo.set_defaults(run=_demo)
    add_read_commands(commands)
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
    except (CommandError, ReadError, PteEncoderError) as exc:
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
