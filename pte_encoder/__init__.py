"""pte_encoder: write and read ExecuTorch program files (.pte) and data files (.ptd) with the
standard library only."""

from .errors import DecodeError, EncodeError, PteEncoderError
from .flatbuffer import encode_flatbuffer
from .json_form import options_from_json, payload_from_json, program_from_json, program_to_json
from .model import *  # noqa: F401,F403  (the model classes and enums)
from .model import __all__ as _model_all
from .payload import DataEntry, DataPayload, FileData, NamedDataOutput, TensorLayout
from .ptd import encode_data_file, write_data_file
from .ptd_read import PtdFile, analyze_data_file, decode_data_file, read_data_file
from .pte import encode_program, write_program
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
