"""pte_encoder: write and read ExecuTorch program files (.pte) and data files (.ptd), and read
the runtime's traces (.etdp; their model in ``pte_encoder.etdump``), with the standard library only.

This module is the package's public face. Behind it, in layers (each
imports only those below it): ``engine/``, a FlatBuffer writer and
verifying reader for any schema; ``schemas/``, one generated package per
``.fbs`` of ``schema/``; ``formats/``, one package per kind of file (header,
writer and reader side by side); ``views/``, what ``inspect`` shows; and
``cli/``, the ``pte-encoder`` command. XNNPACK delegate blobs have a
namespace of their own, ``pte_encoder.xnnpack`` (their model's names clash
with the program's); ``encode_xnnpack_blob`` and ``decode_xnnpack_blob`` are
here too.
"""

import sys

__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it)

if sys.version_info < (3, 9):  # before anything else: the package's modules need 3.9
    _OLD = "pte_encoder needs Python 3.9 or newer, not {}.{}.{}".format(*sys.version_info[:3])
    if sys.argv[:1] == ["-m"]:  # python3.8 -m pte_encoder: one line, no traceback
        raise SystemExit("pte-encoder: error: " + _OLD)
    raise ImportError(_OLD)

from typing import TYPE_CHECKING, Any, Dict, List  # noqa: E402

from .engine.errors import DecodeError, EncodeError
from .engine.errors import FlatBufferError as PteEncoderError  # (errors.py names them too)
from .formats.pte.flatbuffer import decode_flatbuffer, encode_flatbuffer
from .schemas.program.model import *  # noqa: F401,F403  (the model classes and enums)
from .schemas.program.model import __all__ as _model_all
from .formats.common.payload import DataEntry, DataPayload, FileData, NamedDataOutput, TensorLayout
from .formats.pte.write import encode_program, write_program

# Reading, the JSON form and .ptd files (with the flat tensor schema) are
# imported on first use (PEP 562): a process that only writes programs does
# not pay for them at import. mypy sees them as the plain imports below.
_LAZY: Dict[str, str] = {
    **dict.fromkeys(("encode_data_file", "write_data_file"), "formats.ptd.write"),
    **dict.fromkeys(("options_from_json", "program_from_json", "program_to_json"), "formats.pte.json"),
    "payload_from_json": "formats.ptd.json",
    **dict.fromkeys(("PtdFile", "analyze_data_file", "decode_data_file", "read_data_file"),
                    "formats.ptd.read"),
    "infer_options": "formats.pte.options",
    **dict.fromkeys(("PteFile", "decode_program", "read_program"), "formats.pte.read"),
    **dict.fromkeys(("decode_etdump", "read_etdump", "DebugTensor", "debug_tensor", "debug_tensors",
                     "read_debug_buffer"), "formats.etdump.read"),
    "etdump_to_json": "formats.etdump.json",
    "encode_xnnpack_blob": "formats.xnnpack.write",
    **dict.fromkeys(("XnnpackBlob", "decode_xnnpack_blob"), "formats.xnnpack.read"),
    **dict.fromkeys(("encode_bundled_program", "write_bundled_program"), "formats.bundled.write"),
    **dict.fromkeys(("decode_bundled_program", "read_bundled_program"), "formats.bundled.read"),
    # the namespace modules of the other schemas' models, themselves (see below)
    **{name: name for name in ("bundled", "xnnpack")},
}

if TYPE_CHECKING:
    from .formats.ptd.write import encode_data_file, write_data_file
    from .formats.pte.json import options_from_json, program_from_json, program_to_json
    from .formats.ptd.json import payload_from_json
    from .formats.ptd.read import PtdFile, analyze_data_file, decode_data_file, read_data_file
    from .formats.pte.options import infer_options
    from .formats.pte.read import PteFile, decode_program, read_program
    from .formats.etdump.read import (DebugTensor, debug_tensor, debug_tensors, decode_etdump,
                                      read_debug_buffer, read_etdump)
    from .formats.etdump.json import etdump_to_json
    from .formats.xnnpack.read import XnnpackBlob, decode_xnnpack_blob
    from .formats.xnnpack.write import encode_xnnpack_blob
    from .formats.bundled.write import encode_bundled_program, write_bundled_program
    from .formats.bundled.read import decode_bundled_program, read_bundled_program
    from . import bundled, xnnpack
else:
    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from importlib import import_module
        # (not stored in the module's globals: nothing here is written after import)
        found = import_module(f"{__name__}.{module}")
        return found if module == name else getattr(found, name)  # a namespace module: itself

    def __dir__() -> List[str]:
        return sorted({*globals(), *_LAZY})


__all__ = [
    "EncodeError",
    "DecodeError",
    "PteEncoderError",
    "PteFile",
    "decode_flatbuffer",
    "decode_program",
    "read_program",
    "PtdFile",
    "analyze_data_file",
    "decode_data_file",
    "read_data_file",
    "infer_options",
    "DataEntry",
    "NamedDataOutput",
    "DataPayload",
    "TensorLayout",
    "FileData",
    "encode_data_file",
    "write_data_file",
    "encode_flatbuffer",
    "encode_program",
    "write_program",
    "options_from_json",
    "payload_from_json",
    "program_from_json",
    "program_to_json",
    "decode_etdump",
    "read_etdump",
    "DebugTensor",
    "debug_tensor",
    "debug_tensors",
    "read_debug_buffer",
    "etdump_to_json",
    "encode_xnnpack_blob",
    "decode_xnnpack_blob",
    "XnnpackBlob",
    "encode_bundled_program",
    "write_bundled_program",
    "decode_bundled_program",
    "read_bundled_program",
    "bundled",
    "xnnpack",
    *_model_all,
]
