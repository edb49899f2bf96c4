"""The codecs of the project's schemas, made from their generated modules:
ExecuTorch's program (.pte) and its data file (.ptd, the flat tensor schema).

The program's is made at import. The flat tensor's is made when first asked
for (PEP 562), with its modules: a process that writes only programs does
not import them. Two threads asking at once may each make one; either
serves, and the one kept is then the only one found.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

from . import _program_encoders, _program_schema, model
from .engine.codec import Codec, CodecLayout, Encoder
from .engine.schema import Schema

__all__ = ["PROGRAM", "FLAT_TENSOR"]


def _codec(schema: Schema, build: Callable[[CodecLayout], Encoder], models: ModuleType) -> Codec:
    return Codec(schema, build, {t: getattr(models, t) for t in schema.tables},
                 {e: getattr(models, e) for e in schema.enums})


PROGRAM = _codec(_program_schema.SCHEMA, _program_encoders.build, model)

if TYPE_CHECKING:
    FLAT_TENSOR: Codec
else:
    def __getattr__(name: str) -> Any:
        if name != "FLAT_TENSOR":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from . import _flat_tensor_encoders, _flat_tensor_schema, flat_tensor_model
        codec = _codec(_flat_tensor_schema.SCHEMA, _flat_tensor_encoders.build, flat_tensor_model)
        return globals().setdefault("FLAT_TENSOR", codec)
