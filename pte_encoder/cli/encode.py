"""The writing commands of pte-encoder: ``encode`` a Program's JSON form,
``encode-data`` a .ptd payload's JSON form, and write the ``demo``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..formats.common.output import write_file
from ..formats.ptd.json import payload_from_json
from ..formats.ptd.write import write_data_file
from ..formats.pte.flatbuffer import encode_flatbuffer
from ..formats.pte.json import options_from_json, program_from_json
from ..formats.pte.write import write_program
from .demo import demo_program
from .report import CommandError, report_stream


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


def add_commands(commands: Any) -> None:
    """Add ``encode``, ``encode-data`` and ``demo`` to the subparsers ``commands``."""
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
