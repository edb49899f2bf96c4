"""The codecs of the project's schemas, made from their generated modules:
ExecuTorch's program (.pte) and its data file (.ptd, the flat tensor schema)."""

from __future__ import annotations

from types import ModuleType
from typing import Callable

from . import (_flat_tensor_encoders, _flat_tensor_schema, _program_encoders, _program_schema,
               flat_tensor_model, model)
from .engine.codec import Codec, CodecLayout, Encoder
from .engine.schema import Schema

__all__ = ["PROGRAM", "FLAT_TENSOR"]


def _codec(schema: Schema, build: Callable[[CodecLayout], Encoder], models: ModuleType) -> Codec:
    return Codec(schema, build, {t: getattr(models, t) for t in schema.tables},
                 {e: getattr(models, e) for e in schema.enums})


PROGRAM = _codec(_program_schema.SCHEMA, _program_encoders.build, model)
FLAT_TENSOR = _codec(_flat_tensor_schema.SCHEMA, _flat_tensor_encoders.build, flat_tensor_model)
