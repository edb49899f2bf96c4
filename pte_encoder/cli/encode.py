"""The writing commands of pte-encoder: ``encode`` a Program's JSON form,
``encode-data`` a .ptd payload's JSON form, and write the ``demo``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Dict, Optional, cast

from ..engine.errors import one_line
from ..engine.flatc_json import parse_json
from ..formats.common.output import write_file
from ..formats.ptd.json import payload_from_json
from ..formats.ptd.write import write_data_file
from ..formats.pte.flatbuffer import encode_flatbuffer
from ..formats.pte.json import OPTION_KEYS, options_from_json, program_from_json
from ..formats.pte.write import write_program
from ..schemas.program.codec import PROGRAM
from .demo import demo_program
from .read import kind_of_bytes
from .report import CommandError, refuse_overwrite, report_stream

if TYPE_CHECKING:
    from ..formats.common.types import LayoutName

# The JSON forms the commands read, by their top-level keys, and who reads each.
_PAYLOAD_KEYS = ("segment_alignment", "buffers", "named_data")
_FORMS = {
    "program": ({f.name for f in PROGRAM.schema.tables[PROGRAM.schema.root_table]}
                | {f.name + "_type" for f in PROGRAM.schema.fields(PROGRAM.schema.root_table, "UNION")},
                "a program's JSON, which `encode` reads"),
    "payload": (set(_PAYLOAD_KEYS), "a .ptd payload's JSON, which `encode-data` reads"),
    "options": (set(OPTION_KEYS), "encode's options, which `encode --options` reads"),
}


def read_json(path: str, what: str) -> Any:
    """The JSON in the file at ``path``, parsed; a binary file of a kind
    pte-encoder reads (a .pte given for JSON) is named as such."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise CommandError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    kind = kind_of_bytes(data) if len(data) >= 8 else None
    if kind is not None:
        raise CommandError(f"{path} is a {kind.name}, not JSON: `decode` it to JSON first "
                           "(or `inspect` it)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CommandError(f"cannot read {what} {path}: not UTF-8 text (byte {exc.start}): "
                           "expected JSON") from None
    return parse_json(text)


def _check_form(path: str, parsed: Any, form: str) -> None:
    """Refuse JSON whose top-level keys are another form's, naming that form."""
    if not isinstance(parsed, dict) or not parsed:
        return
    keys = set(parsed)
    known, _reader = _FORMS[form]
    if keys <= known:
        return
    others = [reader for name, (fields, reader) in _FORMS.items() if name != form and keys <= fields]
    if others:
        raise CommandError(f"{path} is not {_FORMS[form][1].split(',')[0]}: its keys are those of "
                           + " or of ".join(others))


def _encode(args: argparse.Namespace) -> None:
    refuse_overwrite({"the program": args.program, "--options": args.options}, {"-o": args.output})
    parsed = read_json(args.program, "program")
    _check_form(args.program, parsed, "program")
    program = program_from_json(parsed)
    options: Dict[str, Any] = {}
    if args.options:
        parsed_options = read_json(args.options, "options")
        _check_form(args.options, parsed_options, "options")
        options = dict(options_from_json(parsed_options))
    layout: Optional[str] = options.pop("layout", None)
    if args.layout is not None and layout is not None and args.layout != layout:
        raise CommandError(f"--layout {args.layout} disagrees with the layout in "
                           f"{args.options} ({layout}): give one")
    layout = args.layout or layout or "flatc"
    if args.flatbuffer_only:
        # Blobs would be dropped: refused. (segment_alignment and
        # extract_delegate_segments only place segments, of which there are
        # none: every options file carries them, decode --options-out's too.)
        unused = [key for key in ("mutable_data", "named_data") if options.get(key) is not None]
        if unused:
            raise CommandError(f"{args.options}: {' and '.join(unused)} cannot apply with "
                               "--flatbuffer-only (the FlatBuffer alone has no segments to "
                               "hold them)")
        data = encode_flatbuffer(program,
                                 constant_tensor_alignment=options.get("constant_tensor_alignment"),
                                 delegate_alignment=options.get("delegate_alignment"),
                                 layout=cast("LayoutName", layout))  # checked by the codec
        size = write_file(args.output, [data])
    else:
        size = write_program(program, args.output, layout=cast("LayoutName", layout), **options)
    print(f"wrote {one_line(args.output)} ({size} bytes)", file=report_stream(args.output))


def _encode_data(args: argparse.Namespace) -> None:
    refuse_overwrite({"the payload": args.payload}, {"-o": args.output})
    parsed = read_json(args.payload, "payload")
    _check_form(args.payload, parsed, "payload")
    payload, options = payload_from_json(parsed)
    size = write_data_file(payload, args.output, **options)
    print(f"wrote {one_line(args.output)} ({size} bytes)", file=report_stream(args.output))


def _demo(args: argparse.Namespace) -> None:
    program = demo_program()
    size = write_program(program, args.output)
    report = report_stream(args.output)
    print(f"wrote {one_line(args.output)} ({size} bytes)", file=report)
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
                        help="encode_program's options: layout, alignments, "
                             "extract_delegate_segments, base64 mutable_data and named_data")
    encode.add_argument("--flatbuffer-only", action="store_true",
                        help="write only the FlatBuffer, as `flatc --binary` did (options that "
                             "place segments are refused)")
    encode.add_argument("--layout", choices=("flatc", "flatbuffers"), default=None,
                        help="lay the FlatBuffer out as flatc does (the default; ExecuTorch 1.1 "
                             "and earlier) or as ExecuTorch 1.5.1's default writer does "
                             "(the flatbuffers runtime's object API); the options' layout "
                             "otherwise")
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
