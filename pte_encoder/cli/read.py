"""The reading commands of pte-encoder: ``inspect`` and ``decode``.

Both tell a file's kind by its FlatBuffer file identifier (:data:`KINDS`:
each kind's identifier, where it sits, and its inspect and decode
functions); a file of no known kind is read as a .pte, and refused as one.
A new file format adds its entry there.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
from typing import Any, Callable, Dict, List, NamedTuple, Optional

from ..schemas.flat_tensor.codec import FLAT_TENSOR
from ..formats.pte.json import program_to_json
from ..formats.common.output import write_file
from ..formats.pte.options import infer_options, options_to_json_form
from ..formats.ptd.read import PtdFile, analyze_data_file
from ..formats.etdump.json import etdump_to_json
from ..formats.etdump.read import decode_etdump, is_size_prefixed
from ..schemas.etdump.codec import ETDUMP
from ..formats.common.mapped import map_file
from ..formats.pte.read import decode_program
from ..views.summary import format_data_summary, format_summary, summarize, summarize_data_file
from ..views.profile import format_profile, summarize_profile
from .report import CommandError, report_stream
from ..engine.errors import FlatBufferError
from .xnnpack import decode_blob, format_blob_summary, summarize_blob


def _mapped(path: str) -> Any:
    try:
        return map_file(path)
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None


def _inspect(args: argparse.Namespace) -> None:
    data = _mapped(args.file)
    kind = kind_of(data)
    if args.program is not None:
        if kind.summarize_with_program is None:
            raise CommandError(f"--program is for an ETDump (.etdp): {args.file} is a {kind.name}")
        try:
            program = decode_program(_mapped(args.program)).program
        except FlatBufferError as exc:
            raise CommandError(f"{args.program}: {exc}") from None
        summary = kind.summarize_with_program(data, program)
    else:
        summary = kind.summarize(data)
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(kind.format(args.file, summary))


def _payload_json_form(ptd: PtdFile) -> Dict[str, Any]:
    """The payload in the JSON form ``encode-data`` reads (buffers as base64),
    with the inferred segment alignment."""
    named: Dict[str, Any] = {}
    for key, entry in ptd.payload.named_data.items():
        layout = entry.tensor_layout
        named[key] = {"buffer_index": entry.buffer_index, "alignment": entry.alignment,
                      "tensor_layout": None if layout is None else {
                          "scalar_type": int(layout.scalar_type), "sizes": list(layout.sizes),
                          "dim_order": list(layout.dim_order)}}
    return {"segment_alignment": ptd.segment_alignment,
            "buffers": [base64.b64encode(b).decode("ascii") for b in ptd.blobs],
            "named_data": named}


def _decode_data_file(args: argparse.Namespace, data: Any) -> None:
    if args.options_out:
        raise CommandError(f"{args.file} is a .ptd: its options (the segment alignment) are in "
                        "the payload's JSON form; --options-out is for a .pte")
    text = json.dumps(_payload_json_form(analyze_data_file(data)), indent=1, ensure_ascii=False)
    size = write_file(args.output, [text.encode("utf-8")])
    print(f"wrote {args.output} ({size} bytes)", file=report_stream(args.output))


def _write_both(output: str, data: bytes, options_out: str, options: bytes) -> None:
    """Write the program's JSON, then the options'; if the second cannot be
    written, the first is taken back (when it is a file this call made), so
    that a failed decode leaves no output behind."""
    existed = os.path.lexists(output)
    write_file(output, [data])
    try:
        write_file(options_out, [options])
    except BaseException:
        if not existed:
            try:
                os.unlink(output)
            except OSError:
                pass
        raise


def _decode(args: argparse.Namespace) -> None:
    data = _mapped(args.file)
    kind_of(data).decode(args, data)


def _decode_program(args: argparse.Namespace, data: Any) -> None:
    pte = decode_program(data)
    text = program_to_json(pte.program).encode("utf-8")
    notes = []
    if args.options_out:
        options, exact = infer_options(pte)
        form = json.dumps(options_to_json_form(options), indent=1).encode("utf-8")
        _write_both(args.output, text, args.options_out, form)
        notes.append(f"wrote {args.output} ({len(text)} bytes)")
        notes.append(f"wrote {args.options_out}")
        if exact and options.get("layout", "flatc") != "flatc":
            notes.append(f"note: the FlatBuffer is in the {options['layout']} layout: pass "
                         f"--layout {options['layout']} to `encode` for the same bytes")
        if not exact:
            notes.append("note: no options make `encode` give back these exact bytes (the file is "
                         "in neither layout, or was changed after writing); it gives back the "
                         "same program")
    else:
        write_file(args.output, [text])
        notes.append(f"wrote {args.output} ({len(text)} bytes)")
        if pte.mutable_data is not None or pte.named_data is not None:
            notes.append("note: the file has mutable or named data, which go in the options: "
                         "pass --options-out to keep them")
    report = report_stream(args.output, args.options_out)
    for note in notes:
        print(note, file=report)


def _summarize_etdump(data: Any, program: Any = None) -> Dict[str, Any]:
    form = "size-prefixed" if is_size_prefixed(data) else "plain"
    return {"form": form, **summarize_profile(decode_etdump(data), program)}


def _decode_etdump(args: argparse.Namespace, data: Any) -> None:
    if args.options_out:
        raise CommandError(f"{args.file} is an ETDump: it has no options; --options-out is for a .pte")
    text = etdump_to_json(decode_etdump(data)).encode("utf-8")
    write_file(args.output, [text])
    print(f"wrote {args.output} ({len(text)} bytes)", file=report_stream(args.output))


class FileKind(NamedTuple):
    """One kind of file the reading commands know."""

    name: str                                                # ".pte", ".ptd", ...
    identifier: bytes                                        # its FlatBuffer file identifier
    at: int                                                  # where it sits (4; 8 if size-prefixed)
    summarize: Callable[[Any], Dict[str, Any]]               # data -> a JSON-able summary
    format: Callable[[str, Dict[str, Any]], str]             # (file name, summary) -> text
    decode: Callable[[argparse.Namespace, Any], None]        # the decode command's work
    # (data, the Program of --program) -> a summary, for the kinds that take --program
    summarize_with_program: Optional[Callable[[Any, Any], Dict[str, Any]]] = None


KINDS: List[FileKind] = [
    FileKind(".ptd", FLAT_TENSOR.schema.file_identifier, 4,
             lambda data: summarize_data_file(analyze_data_file(data)), format_data_summary,
             _decode_data_file),
    # ETDumps as the runtime writes them (size-prefixed), and as ExecuTorch's Python writes them
    *(FileKind(".etdp", ETDUMP.schema.file_identifier, at, _summarize_etdump, format_profile,
               _decode_etdump, _summarize_etdump) for at in (8, 4)),
    # an XNNPACK delegate blob: its header's magic sits where an identifier does
    FileKind("XNNPACK blob", b"XH00", 4, summarize_blob, format_blob_summary, decode_blob),
    FileKind("XNNPACK blob", b"XN01", 4, summarize_blob, format_blob_summary, decode_blob),
]
# A file of no kind above: a program (decode_program names the identifier it expected).
PROGRAM_KIND = FileKind(".pte", b"ET12", 4, lambda data: summarize(decode_program(data)),
                        format_summary, _decode_program)


def kind_of(data: Any) -> FileKind:
    """The kind of the file in ``data``, by its file identifier."""
    for kind in KINDS:
        if bytes(data[kind.at:kind.at + 4]) == kind.identifier:
            return kind
    return PROGRAM_KIND


def add_commands(commands: Any) -> None:
    """Add ``inspect`` and ``decode`` to the pte-encoder subcommands."""
    inspect = commands.add_parser(
        "inspect", help="show what is inside a .pte, a .ptd, an XNNPACK blob or an .etdp",
        description="Show a .pte file's methods (inputs, outputs, values by kind, operators "
                    "with call counts, delegates), its segments, constants, named data and "
                    "bytes by category; or a .ptd file's named data (sizes, dtype and "
                    "shape), segments and bytes by category; or an XNNPACK delegate blob's "
                    "graph (nodes by type, values, constants), as for each XNNPACK delegate "
                    "of a .pte; or an ETDump's runs (events, wall time, method "
                    "load/init/execute, operators with calls, total, mean, min, max and share, "
                    "delegate events, allocations), with --program joined with the program's "
                    "instructions. The file is checked "
                    "throughout; a bad one is reported in one line.")
    inspect.add_argument("file", metavar="FILE")
    inspect.add_argument("--json", action="store_true", help="print the summary as JSON")
    inspect.add_argument("--program", metavar="PROGRAM.pte",
                         help="for an ETDump: the program that ran, to name each timed "
                              "instruction by its operator and tensor arguments")
    inspect.set_defaults(run=_inspect)
    decode = commands.add_parser(
        "decode", help="write a .pte's Program, a .ptd's payload or an ETDump in JSON",
        description="Decode a .pte into the JSON form `encode` reads, constants and delegate "
                    "blobs back in the program; with --options-out, also the options (blobs "
                    "included) under which `encode` writes the same bytes again. Decode a "
                    ".ptd into the payload's JSON form `encode-data` reads (segment "
                    "alignment and entry alignments inferred from the file). Decode an "
                    "XNNPACK delegate blob into its graph's JSON form `encode-xnnpack` reads. "
                    "Decode an ETDump (.etdp) into the JSON form of ExecuTorch's dataclasses.")
    decode.add_argument("file", metavar="FILE.pte|FILE.ptd|FILE.etdp")
    decode.add_argument("-o", "--output", required=True, metavar="PROGRAM.json|PAYLOAD.json")
    decode.add_argument("--options-out", metavar="OPTIONS.json")
    decode.add_argument("--constant-data-out", metavar="FILE",
                        help="an XNNPACK blob's constant data (for `encode-xnnpack --constant-data`)")
    decode.set_defaults(run=_decode)
