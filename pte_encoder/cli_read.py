"""The reading commands of pte-encoder: ``inspect`` and ``decode``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ._codecs import FLAT_TENSOR
from .json_form import program_to_json
from ._files import write_file
from .pte_options import infer_options, options_to_json_form
from .ptd_read import analyze_data_file
from ._mapped import map_file
from .pte_read import PteFile, decode_program, read_program
from .summary import format_data_summary, format_summary, summarize, summarize_data_file


class ReadError(Exception):
    """A file that cannot be read, reported in one line."""


def _mapped(path: str) -> Any:
    try:
        return map_file(path)
    except OSError as exc:
        raise ReadError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read(path: str) -> PteFile:
    try:
        return read_program(path)
    except OSError as exc:
        raise ReadError(f"cannot read {path}: {exc.strerror or exc}") from None


def _inspect(args: argparse.Namespace) -> None:
    data = _mapped(args.file)
    # A .ptd says so by its file identifier; anything else is read as a .pte
    # (and refused as one, naming the identifier it expected).
    if bytes(data[4:8]) == FLAT_TENSOR.schema.file_identifier:
        summary = summarize_data_file(analyze_data_file(data))
        text = format_data_summary
    else:
        summary = summarize(decode_program(data))
        text = format_summary
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(text(args.file, summary))


def _decode(args: argparse.Namespace) -> None:
    pte = _read(args.file)
    text = program_to_json(pte.program)
    write_file(args.output, [text.encode("utf-8")])
    print(f"wrote {args.output} ({len(text)} bytes)")
    blobs = pte.mutable_data is not None or pte.named_data is not None
    if args.options_out:
        options, exact = infer_options(pte)
        form = json.dumps(options_to_json_form(options), indent=1)
        write_file(args.options_out, [form.encode("utf-8")])
        print(f"wrote {args.options_out}")
        if exact and options.get("layout", "flatc") != "flatc":
            print(f"note: the FlatBuffer is in the {options['layout']} layout: pass "
                  f"--layout {options['layout']} to `encode` for the same bytes")
        if not exact:
            print("note: no options make `encode` give back these exact bytes (the file is in "
                  "neither layout, or was changed after writing); it gives back the same "
                  "program")
    elif blobs:
        print("note: the file has mutable or named data, which go in the options: "
              "pass --options-out to keep them")


def add_commands(commands: Any) -> None:
    """Add ``inspect`` and ``decode`` to the pte-encoder subcommands."""
    inspect = commands.add_parser(
        "inspect", help="show what is inside a .pte or .ptd",
        description="Show a .pte file's methods (inputs, outputs, values by kind, operators "
                    "with call counts, delegates), its segments, constants, named data and "
                    "bytes by category; or a .ptd file's named data (sizes, dtype and "
                    "shape), segments and bytes by category. The file is checked "
                    "throughout; a bad one is reported in one line.")
    inspect.add_argument("file", metavar="FILE")
    inspect.add_argument("--json", action="store_true", help="print the summary as JSON")
    inspect.set_defaults(run=_inspect)
    decode = commands.add_parser(
        "decode", help="write a .pte's Program in ExecuTorch's JSON form",
        description="Decode a .pte into the JSON form `encode` reads, constants and delegate "
                    "blobs back in the program; with --options-out, also the options (blobs "
                    "included) under which `encode` writes the same bytes again.")
    decode.add_argument("file", metavar="FILE.pte")
    decode.add_argument("-o", "--output", required=True, metavar="PROGRAM.json")
    decode.add_argument("--options-out", metavar="OPTIONS.json")
    decode.set_defaults(run=_decode)
