"""The errors pte_encoder raises for bad input: :class:`EncodeError` (a value
that cannot be written, or an option), :class:`DecodeError` (bytes that are
not a valid file), and their base :class:`PteEncoderError`, a ``ValueError``.

They are the FlatBuffer engine's own (engine/errors.py), so every layer, from
the engine to the command line, raises the same two classes.
"""

from .engine.errors import DecodeError, EncodeError
from .engine.errors import FlatBufferError as PteEncoderError

__all__ = ["PteEncoderError", "EncodeError", "DecodeError"]
