"""pte_encoder: write and read ExecuTorch program files (.pte) and data files (.ptd) with the
standard library only."""

from typing import TYPE_CHECKING, Any, Dict, List

from .errors import DecodeError, EncodeError, PteEncoderError
from .flatbuffer import encode_flatbuffer
from .model import *  # noqa: F401,F403  (the model classes and enums)
from .model import __all__ as _model_all
from .payload import DataEntry, DataPayload, FileData, NamedDataOutput, TensorLayout
from .pte import encode_program, write_program

# Reading, the JSON form and .ptd files (with the flat tensor schema) are
# imported on first use (PEP 562): a process that only writes programs does
# not pay for them at import. mypy sees them as the plain imports below.
_LAZY: Dict[str, str] = {
    **dict.fromkeys(("encode_data_file", "write_data_file"), "ptd"),
    **dict.fromkeys(("options_from_json", "payload_from_json", "program_from_json", "program_to_json"),
                    "json_form"),
    **dict.fromkeys(("PtdFile", "analyze_data_file", "decode_data_file", "read_data_file"), "ptd_read"),
    "infer_options": "pte_options",
    **dict.fromkeys(("PteFile", "decode_flatbuffer", "decode_program", "read_program"), "pte_read"),
}

if TYPE_CHECKING:
    from .ptd import encode_data_file, write_data_file
    from .json_form import options_from_json, payload_from_json, program_from_json, program_to_json
    from .ptd_read import PtdFile, analyze_data_file, decode_data_file, read_data_file
    from .pte_options import infer_options
    from .pte_read import PteFile, decode_flatbuffer, decode_program, read_program
else:
    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from importlib import import_module
        value = getattr(import_module(f"{__name__}.{module}"), name)
        globals()[name] = value  # found directly from now on
        return value

    def __dir__() -> List[str]:
        return sorted({*globals(), *_LAZY})

__version__ = "0.1.0"

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
    *_model_all,
]
