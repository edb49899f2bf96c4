"""pte_encoder: write and read ExecuTorch program files (.pte) with the standard library only."""

from .errors import DecodeError, EncodeError, PteEncoderError
from .flatbuffer import encode_flatbuffer
from .json_form import options_from_json, program_from_json, program_to_json
from .model import *  # noqa: F401,F403  (the model classes and enums)
from .model import __all__ as _model_all
from .pte import DataEntry, NamedDataOutput, encode_program, write_program
from .pte_options import infer_options
from .pte_read import PteFile, decode_flatbuffer, decode_program, read_program

__version__ = "0.1.0"

__all__ = [
    "EncodeError",
    "DecodeError",
    "PteEncoderError",
    "PteFile",
    "decode_flatbuffer",
    "decode_program",
    "read_program",
    "infer_options",
    "DataEntry",
    "NamedDataOutput",
    "encode_flatbuffer",
    "encode_program",
    "write_program",
    "options_from_json",
    "program_from_json",
    "program_to_json",
    *_model_all,
]
