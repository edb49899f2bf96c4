"""The reading commands of pte-encoder: ``inspect`` and ``decode``.

Both tell a file's kind by its FlatBuffer file identifier (:data:`KINDS`:
each kind's identifier, where it sits, and its inspect and decode
functions), looked at before the rest of the file is read; a file of no
known kind is refused, naming the kinds known. A new file format adds its
entry there.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import os
import warnings
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from ..engine.errors import one_line
from ..schemas.bundled_program.codec import BUNDLED_PROGRAM
from ..schemas.flat_tensor.codec import FLAT_TENSOR
from ..formats.pte.json import options_from_json, program_from_json, program_to_json
from ..formats.common.output import write_file, write_files
from ..formats.pte.options import guess_layout, infer_options, options_to_json_form
from ..formats.ptd.read import PtdFile, analyze_data_file
from ..engine.errors import FlatBufferError
from ..formats.common.mapped import HEAD_SIZE, map_file
from ..formats.etdump.json import etdump_json_chunks
from ..formats.etdump.read import decode_etdump, is_size_prefixed
from ..formats.pte.read import PteFile, decode_program
from ..schemas.etdump.codec import ETDUMP
from ..views.bundled import format_bundled_summary
from ..views.profile import format_profile, summarize_profile
from ..views.summary import format_data_summary, format_summary, summarize, summarize_data_file
from .bundled import decode_bundled_file, summarize_bundled_file
from .report import CommandError, refuse_overwrite, report_stream
from .xnnpack import decode_blob, format_blob_summary, summarize_blob

# Files up to this size are read, not mapped: a mapped file truncated by
# another process while a command runs would kill it (SIGBUS).
_READ_LIMIT = 64 << 20


def _load(path: str) -> Any:
    """The file at ``path`` (read, or mapped if big), its kind checked on its
    first bytes before the rest is read (so ``/dev/zero`` is refused at once)."""
    try:
        size = os.stat(path).st_size
        return map_file(path, copy=size <= _READ_LIMIT, check_head=lambda head: _check_kind(head, path))
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None


def _check_kind(head: bytes, path: str) -> None:
    kind_of(head, path)


def _inspect(args: argparse.Namespace) -> None:
    data = _load(args.file)
    kind = kind_of(data, args.file)
    if args.program is not None:
        if kind.summarize_with_program is None:
            raise CommandError(f"--program is for an ETDump (.etdp): {args.file} is a {kind.name}")
        try:
            program = decode_program(_load(args.program)).program
        except FlatBufferError as exc:
            raise CommandError(f"{args.program}: {exc}") from None
        summary = kind.summarize_with_program(data, program)
    else:
        summary = kind.summarize(data)
    if args.json:
        json.dump(summary, sys.stdout, indent=1)  # (written as it is made: a big summary is never whole)
        print()
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


def _wrote(path: str, size: int) -> str:
    return f"wrote {one_line(path)} ({size} bytes)"


def _refuse_constant_data_out(args: argparse.Namespace, kind: str) -> None:
    if getattr(args, "constant_data_out", None):
        raise CommandError(f"{args.file} is a {kind}: it has no constant data of its own; "
                           "--constant-data-out is for an XNNPACK blob")


def _decode_data_file(args: argparse.Namespace, data: Any) -> None:
    if args.options_out:
        raise CommandError(f"{args.file} is a .ptd: its options (the segment alignment) are in "
                           "the payload's JSON form; --options-out is for a .pte")
    _refuse_constant_data_out(args, ".ptd")
    text = json.dumps(_payload_json_form(analyze_data_file(data)), indent=1, ensure_ascii=False)
    (size,) = write_files([(args.output, [text.encode("utf-8")])])
    print(_wrote(args.output, size), file=report_stream(args.output))


def _decode(args: argparse.Namespace) -> None:
    refuse_overwrite({"the input": args.file}, {"-o": args.output, "--options-out": args.options_out,
                                                "--constant-data-out": args.constant_data_out})
    data = _load(args.file)
    kind_of(data, args.file).decode(args, data)


def _program_json(pte: PteFile) -> Tuple[bytes, List[str]]:
    """The program's JSON form, and what it cannot carry (program_to_json's
    warnings: a NaN with a sign or payload)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = program_to_json(pte.program).encode("utf-8")
    return text, [str(w.message) for w in caught]


def _layout_note(layout: str, how: str) -> str:
    if layout == "flatc":
        return f"layout: flatc ({how}; `encode` writes it by default)"
    return (f"layout: {layout} ({how}; ExecuTorch 1.5.1's default writer): pass --layout "
            f"{layout} to `encode` for the same bytes, or --options with the options "
            "--options-out writes, which carry it")


def _decode_program(args: argparse.Namespace, data: Any) -> None:
    _refuse_constant_data_out(args, ".pte")
    pte = decode_program(data)
    text, lost = _program_json(pte)
    notes = [f"note: {message}" for message in lost]
    if args.options_out:
        # Checked on what is written: the program read back from its JSON
        # text, with the options read back from theirs.
        written = PteFile(program_from_json(text), pte.mutable_data, pte.named_data, pte.header,
                          pte.stored, pte.segment_roles, pte.size, pte.data)
        options, exact = infer_options(written)
        form = options_to_json_form(options)
        options_text = json.dumps(form, indent=1).encode("utf-8")
        if options_to_json_form(options_from_json(options_text)) != form:  # pragma: no cover
            raise CommandError("the options' JSON form does not read back as written")
        sizes = write_files([(args.output, [text]), (args.options_out, [options_text])])
        lines = [_wrote(args.output, sizes[0]), _wrote(args.options_out, sizes[1])]
        if exact:
            lines.append(_layout_note(options.get("layout", "flatc"), "checked by encoding again"))
        else:
            lines.append(_layout_note(guess_layout(data), "by the order of the root table's fields"))
        if not exact and lost:
            notes.append("note: so `encode` of these files gives other bytes (the same "
                         "program, but for that value)")
        elif not exact:
            notes.append("note: no options make `encode` give back these exact bytes (the "
                         "file is in neither layout, or was changed after writing); it gives "
                         "back the same program")
    else:
        (size,) = write_files([(args.output, [text])])
        lines = [_wrote(args.output, size), _layout_note(guess_layout(data),
                                                         "by the order of the root table's fields")]
        if pte.mutable_data is not None or pte.named_data is not None:
            notes.append("note: the file has mutable or named data, which go in the options: "
                         "pass --options-out to keep them")
    report = report_stream(args.output, args.options_out)
    for line in lines + notes:
        print(line, file=report)


def _summarize_etdump(data: Any, program: Any = None) -> Dict[str, Any]:
    form = "size-prefixed" if is_size_prefixed(data) else "plain"
    return {"form": form, **summarize_profile(decode_etdump(data), program)}


def _decode_etdump(args: argparse.Namespace, data: Any) -> None:
    if args.options_out:
        raise CommandError(f"{args.file} is an ETDump: it has no options; --options-out is for a .pte")
    size = write_file(args.output, etdump_json_chunks(decode_etdump(data)))
    print(f"wrote {args.output} ({size} bytes)", file=report_stream(args.output))


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


PROGRAM_KIND = FileKind(".pte", b"ET12", 4, lambda data: summarize(decode_program(data)),
                        format_summary, _decode_program)
KINDS: List[FileKind] = [
    PROGRAM_KIND,
    FileKind(".ptd", FLAT_TENSOR.schema.file_identifier, 4,
             lambda data: summarize_data_file(analyze_data_file(data)), format_data_summary,
             _decode_data_file),
    # ETDumps as the runtime writes them (size-prefixed), and as ExecuTorch's Python writes them
    *(FileKind(".etdp", ETDUMP.schema.file_identifier, at, _summarize_etdump, format_profile,
               _decode_etdump, _summarize_etdump) for at in (8, 4)),
    # an XNNPACK delegate blob: its header's magic sits where an identifier does
    FileKind("XNNPACK blob", b"XH00", 4, summarize_blob, format_blob_summary, decode_blob),
    FileKind("XNNPACK blob", b"XN01", 4, summarize_blob, format_blob_summary, decode_blob),
    FileKind(".bpte", BUNDLED_PROGRAM.schema.file_identifier, 4, summarize_bundled_file,
             format_bundled_summary, decode_bundled_file),
]


def kind_of_bytes(head: Any) -> Optional[FileKind]:
    """The kind whose file identifier ``head`` (a file's first bytes) holds, or None."""
    for kind in KINDS:
        if bytes(head[kind.at:kind.at + 4]) == kind.identifier:
            return kind
    return None


def kind_of(data: Any, path: str = "the file") -> FileKind:
    """The kind of the file in ``data``, by its file identifier;
    :class:`CommandError` for a file of no known kind. A file too short to
    hold an identifier is left to the program reader, which says so."""
    kind = kind_of_bytes(data)
    if kind is not None or len(data) < HEAD_SIZE:
        return kind or PROGRAM_KIND
    known = list(dict.fromkeys(k.name for k in KINDS))
    names = " or ".join(n for n in known if n.startswith(".")) + " file"
    names += "".join(f" or {n}" for n in known if not n.startswith("."))
    head = bytes(data[:HEAD_SIZE])
    looks = ""
    if head.lstrip()[:1] in (b"{", b"["):
        looks = "; it looks like JSON, which `encode` and `encode-data` read"
    elif all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        looks = "; it looks like text"
    raise CommandError(f"{path} is not a {names} (bytes 4 to 8 are {head[4:8]!r}, no file "
                       f"identifier pte-encoder knows{looks})")


def add_commands(commands: Any) -> None:
    """Add ``inspect`` and ``decode`` to the pte-encoder subcommands."""
    inspect = commands.add_parser(
        "inspect", help="show what is inside a .pte, .ptd, .bpte, .etdp or an XNNPACK blob",
        description="Show a .pte file's methods (inputs, outputs, values by kind, operators "
                    "with call counts, delegates), its segments, constants, named data and "
                    "bytes by category; or a .ptd file's named data (sizes, dtype and "
                    "shape), segments and bytes by category; or a .bpte file's test cases "
                    "(inputs and expected outputs) and its program, as for a .pte; or an "
                    "XNNPACK delegate blob's graph (nodes by type, values, constants), as for "
                    "each XNNPACK delegate of a .pte; or an ETDump's runs (events, wall time, "
                    "method load/init/execute, operators with calls, total, mean, min, max and "
                    "share, delegate events, allocations), with --program joined with the "
                    "program's instructions. The file is checked "
                    "throughout; a bad one is reported in one line.")
    inspect.add_argument("file", metavar="FILE")
    inspect.add_argument("--json", action="store_true", help="print the summary as JSON")
    inspect.add_argument("--program", metavar="PROGRAM.pte",
                         help="for an ETDump: the program that ran, to name each timed "
                              "instruction by its operator and tensor arguments")
    inspect.set_defaults(run=_inspect)
    decode = commands.add_parser(
        "decode", help="write a .pte's Program, a .ptd's payload, a .bpte, an ETDump or an XNNPACK blob in JSON",
        description="Decode a .pte into the JSON form `encode` reads, constants and delegate "
                    "blobs back in the program, and say its layout; with --options-out, also "
                    "the options (layout and blobs included) under which `encode` writes the "
                    "same bytes again, checked on the JSON written. Decode a .ptd into the "
                    "payload's JSON form `encode-data` reads (segment alignment and entry "
                    "alignments inferred from the file). Decode a .bpte into ExecuTorch's "
                    "dataclass JSON form with its layout, which `encode-bundled` writes back "
                    "byte for byte. Decode an XNNPACK delegate blob into its graph's JSON form "
                    "`encode-xnnpack` reads. Decode an ETDump (.etdp) into the JSON form of "
                    "ExecuTorch's dataclasses. Every output is written, or none; none may be "
                    "the input.")
    decode.add_argument("file", metavar="FILE.pte|FILE.ptd|FILE.bpte|FILE.etdp|BLOB.bin")
    decode.add_argument("-o", "--output", required=True, metavar="OUT.json")
    decode.add_argument("--options-out", metavar="OPTIONS.json")
    decode.add_argument("--constant-data-out", metavar="FILE",
                        help="an XNNPACK blob's constant data (for `encode-xnnpack --constant-data`)")
    decode.set_defaults(run=_decode)
