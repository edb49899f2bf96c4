"""Program -> FlatBuffer bytes, laid out exactly as ``flatc --binary`` lays out JSON.

flatc builds a buffer back to front. This module does the same: every object
is appended to a list of chunks in the order flatc writes it, positions are
counted from the end of the buffer, and the chunks are joined in reverse once
at the end. The rules that decide the bytes:

- a table's children (strings, vectors, tables) are written depth-first in
  field order before the table itself; a vector's tables first to last, then
  the vector of their offsets;
- a table's inline fields are written by size (8, 4, 2, 1 bytes; an offset
  counts as 4), within one size by descending slot, each aligned to its size,
  then the 4-byte offset to its vtable; a scalar equal to its default and an
  absent field are left out;
- a vtable identical to one written before is shared, else written just below
  its table;
- vectors and strings are aligned so that their data ends aligned to the
  element size (at least 4, or ``force_align`` when the vector is not empty);
- finishing pads the buffer to the largest alignment used, then writes the
  file identifier and the root offset.

One deviation: flatc drops a double equal to its default by value, turning
-0.0 into +0.0; here -0.0 is written.
"""

from __future__ import annotations

import struct
from typing import Any, Dict, List, Optional, Tuple

from . import _encoders, _layouts
from ._writer import Writer
from .check import check_program
from .errors import EncodeError

__all__ = ["encode_flatbuffer", "check_alignment", "MAX_FLATBUFFER_SIZE"]

# flatc refuses buffers of 2 GiB and more (offsets are signed 32-bit).
MAX_FLATBUFFER_SIZE = 2**31 - 1

# The alignment options and the fields whose force_align they replace.
ALIGNMENT_FIELDS = {"constant_tensor_alignment": ("Buffer", "storage"),
                    "delegate_alignment": ("BackendDelegateInlineData", "data")}


def check_alignment(name: str, value: Optional[int]) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value & (value - 1):
        raise EncodeError(f"{name}: expected a power of two, got {value!r}")


def resolve_alignments(constant_tensor_alignment: Optional[int],
                       delegate_alignment: Optional[int]) -> Dict[Tuple[str, str], int]:
    """The force_align of each aligned field after the options are applied."""
    options = {"constant_tensor_alignment": constant_tensor_alignment,
               "delegate_alignment": delegate_alignment}
    result = {}
    for option, key in ALIGNMENT_FIELDS.items():
        check_alignment(option, options[option])
        value = options[option]
        result[key] = value if value is not None else _schema_alignment(key)
    return result


def _schema_alignment(key: Tuple[str, str]) -> int:
    for table, field, align in _encoders.FORCE_ALIGNED:
        if (table, field) == key:
            return align
    raise KeyError(key)


def _finish(w: Writer, root: int) -> List[Any]:
    """Pad to the largest alignment used, then the identifier and root offset."""
    pad = -(w.size + 8) & (w.minalign - 1)
    if pad:
        w.chunks.append(bytes(pad))
    w.chunks.append(_layouts.FILE_IDENTIFIER)
    w.size += pad + 8
    w.chunks.append(struct.pack("<I", w.size - root))
    w.chunks.reverse()
    return w.chunks


def encode_chunks(program: Any, alignments: Dict[Tuple[str, str], int]) -> Tuple[List[Any], int]:
    """The FlatBuffer as a list of bytes-like chunks in order, and its size."""
    writer = Writer([alignments[(table, field)] for table, field, _ in _encoders.FORCE_ALIGNED])
    try:
        root = _encoders.encode_root(writer, program)
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError,
            IndexError, struct.error) as exc:
        check_program(program)  # raises EncodeError naming the place
        raise EncodeError(f"program: cannot be encoded: {exc}") from exc
    chunks = _finish(writer, root)
    if writer.size > MAX_FLATBUFFER_SIZE:
        raise EncodeError(f"program: the FlatBuffer would be {writer.size} bytes, "
                          f"over the format's limit of {MAX_FLATBUFFER_SIZE}")
    return chunks, writer.size


def encode_flatbuffer(program: Any, *, constant_tensor_alignment: Optional[int] = None,
                      delegate_alignment: Optional[int] = None) -> bytes:
    """Encode ``program`` as a FlatBuffer, byte for byte as flatc would.

    ``program`` is a :class:`pte_encoder.Program` or any object tree with the
    same attribute names (such as ``executorch.exir.schema.Program``).
    ``constant_tensor_alignment`` and ``delegate_alignment`` replace the
    schema's ``force_align`` of ``Buffer.storage`` and
    ``BackendDelegateInlineData.data``; any power of two is accepted.
    Raises :class:`EncodeError` for bad input.
    """
    alignments = resolve_alignments(constant_tensor_alignment, delegate_alignment)
    chunks, _size = encode_chunks(program, alignments)
    return b"".join(chunks)
