"""Program -> FlatBuffer bytes, laid out exactly as ``flatc --binary`` lays out JSON.

The per-table encoders are generated from the schema (_encoders.py) and write
through _writer.py, which explains flatc's layout rules. This module holds
the public entry point, the alignment options and the error handling: the
encoders do not check as they go; when one fails, check.py walks the program
to name the bad value.

One deviation: flatc drops a double equal to its default by value, turning
-0.0 into +0.0; here -0.0 is written.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Any, List, Optional, Sequence, Tuple

from . import _encoders, _layouts
from ._writer import Writer, flush
from .check import check_program, integer
from .errors import EncodeError, fail

__all__ = ["encode_flatbuffer", "check_alignment", "MAX_FLATBUFFER_SIZE",
           "MAX_FLATBUFFER_ALIGNMENT", "MAX_SEGMENT_ALIGNMENT"]

# flatc refuses buffers of 2 GiB and more (offsets are signed 32-bit).
MAX_FLATBUFFER_SIZE = 2**31 - 1
# The largest alignment of data inside the FlatBuffer (constant_tensor_alignment,
# delegate_alignment): one blob padded to it still fits in a FlatBuffer under 2 GiB.
MAX_FLATBUFFER_ALIGNMENT = 2**30
# The largest alignment of segments after the FlatBuffer (segment_alignment,
# named data): 4 GiB, far beyond any page size.
MAX_SEGMENT_ALIGNMENT = 2**32

# The option that replaces each force_align of the schema.
_OPTIONS = {("Buffer", "storage"): "constant_tensor_alignment",
            ("BackendDelegateInlineData", "data"): "delegate_alignment"}


def check_alignment(name: str, value: Any, limit: int = MAX_FLATBUFFER_ALIGNMENT) -> Optional[int]:
    """``value`` as an int if it is a power of two no larger than ``limit``
    (an ``int`` or integer-like, not a bool), None for None; else raises
    :class:`EncodeError` at ``name``."""
    if value is None:
        return None
    number = None if isinstance(value, bool) else integer(value)
    if number is None or number < 1 or number & (number - 1):
        raise fail(name, value, "a power of two")
    if number > limit:
        raise fail(name, value, f"a power of two of at most {limit} (2**{limit.bit_length() - 1})")
    return int(number)


def resolve_alignments(constant_tensor_alignment: Optional[int],
                       delegate_alignment: Optional[int]) -> Tuple[int, ...]:
    """The force_align of each field of _encoders.FORCE_ALIGNED, options applied."""
    return _alignments(check_alignment("constant_tensor_alignment", constant_tensor_alignment),
                       check_alignment("delegate_alignment", delegate_alignment))


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


def encode_chunks(program: Any, alignments: Sequence[int]) -> Tuple[List[Any], int]:
    """The FlatBuffer as a list of bytes-like chunks in order, and its size;
    ``alignments`` as :func:`resolve_alignments` returns them."""
    writer = Writer(alignments)
    try:
        root = _encoders.encode_root(writer, program)
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError,
            IndexError, struct.error, BufferError) as exc:
        problem: Optional[str] = str(exc)
    except MemoryError:
        problem = "out of memory"
    else:
        problem = None
    if problem is not None:
        # The writer holds views of the caller's buffers: drop them before
        # raising, so that no traceback keeps them exported.
        del writer
        check_program(program)  # raises EncodeError naming the place
        raise EncodeError(f"program: cannot be encoded: {problem}")
    chunks = _finish(writer, root)
    if writer.size > MAX_FLATBUFFER_SIZE:
        size = writer.size
        del writer, chunks
        check_program(program)  # names a single blob over the limit, if there is one
        raise EncodeError(f"program: the FlatBuffer would be {size} bytes, "
                          f"over the format's limit of {MAX_FLATBUFFER_SIZE}",
                          path="", value=size,
                          expected=f"at most {MAX_FLATBUFFER_SIZE} bytes", has_value=True)
    return chunks, writer.size


def encode_flatbuffer(program: Any, *, constant_tensor_alignment: Optional[int] = None,
                      delegate_alignment: Optional[int] = None) -> bytes:
    """Encode ``program`` as a FlatBuffer, byte for byte as flatc would.

    ``program`` is a :class:`pte_encoder.Program` or any object tree with the
    same attribute names (such as ``executorch.exir.schema.Program``).
    ``constant_tensor_alignment`` and ``delegate_alignment`` replace the
    schema's ``force_align`` of ``Buffer.storage`` and
    ``BackendDelegateInlineData.data``: a power of two up to
    :data:`MAX_FLATBUFFER_ALIGNMENT` (2**30), or None for the schema's 16.
    Raises :class:`EncodeError` for bad input.
    """
    alignments = resolve_alignments(constant_tensor_alignment, delegate_alignment)
    chunks, _size = encode_chunks(program, alignments)
    return b"".join(chunks)
