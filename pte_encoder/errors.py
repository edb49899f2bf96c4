"""Bad input: one exception class per direction, a message naming the place, no mutation."""

from typing import Optional


class PteEncoderError(ValueError):
    """Base of every error pte_encoder raises for bad input (encoding or decoding)."""


class EncodeError(PteEncoderError):
    """The program or an option cannot be encoded.

    The message names the place (for example
    ``execution_plan[0].values[12].val.sizes[1]``), the value found and what
    was expected there.
    """


class DecodeError(PteEncoderError):
    """The bytes are not a valid file of the schema.

    The message names the field path (for example
    ``execution_plan[0].values[12].val.sizes``), the byte offset where the
    problem is and what was expected there; ``path`` and ``offset`` hold
    the same (``offset`` is ``None`` when no single byte is at fault).
    """

    def __init__(self, message: str, path: str = "", offset: Optional[int] = None) -> None:
        super().__init__(message)
        self.path = path
        self.offset = offset
