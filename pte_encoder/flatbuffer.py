"""Program -> FlatBuffer bytes, laid out exactly as ``flatc --binary`` lays out
JSON (``layout="flatc"``) or as ExecuTorch 1.5.1's default writer, the
``flatbuffers`` runtime's object API, lays them out (``layout="flatbuffers"``).

The per-table encoders are generated from the schema (_encoders.py) and write
through _writer.py; what differs between the two layouts is a policy of the
writer (_layout_policy.py). This module holds the public entry point, the
alignment and layout options and the error handling: the encoders do not
check as they go; when one fails, check.py walks the program to name the bad
value.

One deviation, in the flatc layout only: flatc drops a double equal to its
default by value, turning -0.0 into +0.0; there -0.0 is written. The
flatbuffers layout drops it, as ExecuTorch's writer does.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Any, List, Optional, Sequence, Tuple

from . import _encoders, _layouts
from ._layout_policy import LAYOUTS, LayoutPolicy
from ._writer import Writer, flush
from .check import check_program
from .errors import EncodeError

__all__ = ["encode_flatbuffer", "check_alignment", "resolve_layout", "MAX_FLATBUFFER_SIZE"]

# flatc refuses buffers of 2 GiB and more (offsets are signed 32-bit).
MAX_FLATBUFFER_SIZE = 2**31 - 1

# The option that replaces each force_align of the schema.
_OPTIONS = {("Buffer", "storage"): "constant_tensor_alignment",
            ("BackendDelegateInlineData", "data"): "delegate_alignment"}


def check_alignment(name: str, value: Optional[int]) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value & (value - 1):
        raise EncodeError(f"{name}: expected a power of two, got {value!r}")


def resolve_layout(layout: str) -> LayoutPolicy:
    """The writer policy of a ``layout`` option: "flatc" or "flatbuffers"."""
    policy = LAYOUTS.get(layout) if isinstance(layout, str) else None
    if policy is None:
        expected = " or ".join(repr(name) for name in LAYOUTS)
        raise EncodeError(f"layout: expected {expected}, got {layout!r}")
    return policy


def resolve_alignments(constant_tensor_alignment: Optional[int],
                       delegate_alignment: Optional[int]) -> Tuple[int, ...]:
    """The force_align of each field of _encoders.FORCE_ALIGNED, options applied."""
    check_alignment("constant_tensor_alignment", constant_tensor_alignment)
    check_alignment("delegate_alignment", delegate_alignment)
    return _alignments(constant_tensor_alignment, delegate_alignment)


@lru_cache(maxsize=64)
def _alignments(constant_tensor_alignment: Optional[int],
                delegate_alignment: Optional[int]) -> Tuple[int, ...]:
    options = {"constant_tensor_alignment": constant_tensor_alignment,
               "delegate_alignment": delegate_alignment}
    return tuple(options[_OPTIONS[(table, field)]] or schema_align
                 for table, field, schema_align in _encoders.FORCE_ALIGNED)


def _finish(w: Writer, root: int) -> List[Any]:
    """Pad to the largest alignment used, then the identifier and root offset.

    Returns the buffer's pieces in order: the root offset and the identifier
    first, each a piece of its own (.pte files insert a header after them).
    """
    pad = -(w.size + 8) & (w.minalign - 1)
    if pad:
        w.chunks.append(bytes(pad))
    flush(w)
    w.size += pad + 8
    w.blocks += [_layouts.FILE_IDENTIFIER, struct.pack("<I", w.size - root)]
    w.blocks.reverse()
    return w.blocks


def encode_chunks(program: Any, alignments: Sequence[int],
                  policy: LayoutPolicy) -> Tuple[List[Any], int]:
    """The FlatBuffer as a list of bytes-like chunks in order, and its size;
    ``alignments`` as :func:`resolve_alignments` returns them, ``policy`` as
    :func:`resolve_layout` does."""
    writer = Writer(alignments, policy)
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
                      delegate_alignment: Optional[int] = None, layout: str = "flatc") -> bytes:
    """Encode ``program`` as a FlatBuffer, byte for byte as flatc would.

    ``program`` is a :class:`pte_encoder.Program` or any object tree with the
    same attribute names (such as ``executorch.exir.schema.Program``).
    ``constant_tensor_alignment`` and ``delegate_alignment`` replace the
    schema's ``force_align`` of ``Buffer.storage`` and
    ``BackendDelegateInlineData.data``; any power of two is accepted.
    ``layout="flatbuffers"`` writes the bytes of ExecuTorch 1.5.1's
    ``_program_to_flatbuffer`` (the ``flatbuffers`` runtime's object API)
    instead of flatc's. Raises :class:`EncodeError` for bad input.
    """
    policy = resolve_layout(layout)
    alignments = resolve_alignments(constant_tensor_alignment, delegate_alignment)
    chunks, _size = encode_chunks(program, alignments, policy)
    return b"".join(chunks)
