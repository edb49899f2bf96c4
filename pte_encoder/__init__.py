"""pte_encoder: write ExecuTorch program files (.pte) and data files (.ptd) with the standard
library only."""

from .errors import EncodeError
from .flatbuffer import encode_flatbuffer
from .json_form import options_from_json, payload_from_json, program_from_json, program_to_json
from .model import *  # noqa: F401,F403  (the model classes and enums)
from .model import __all__ as _model_all
from .payload import DataEntry, DataPayload, FileData, NamedDataOutput, TensorLayout
from .pte import encode_program, write_program
from .ptd import encode_data_file, write_data_file

__version__ = "0.1.0"

__all__ = [
    "EncodeError",
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
