"""The program's FlatBuffer alone, written and read: Program -> bytes, laid out
exactly as ``flatc --binary`` lays out JSON, or as ExecuTorch 1.5.1's default
writer lays it out, and bytes in any layout -> Program.

The program's codec (_codecs.PROGRAM, on the engine in engine/) does the
work. This module holds the public entry point and maps ExecuTorch's
alignment options onto the schema's force_align fields.

The two layouts (engine/layout.py): "flatc", what ``flatc --binary`` writes
(ExecuTorch 1.1 and earlier wrote .pte that way); "flatbuffers", what
ExecuTorch 1.5.1's ``_program_to_flatbuffer`` writes (the object API of the
``flatbuffers`` runtime, with its own packers for ``Buffer.storage`` and
``BackendDelegateInlineData.data``: a force-aligned byte vector written as
one block aligned to its force_align, padded to it even when empty, which is
the engine's generic rule for force-aligned vectors in that layout).

Two deviations from flatc fed the program's JSON form. In the flatc layout
only: flatc drops a double equal to its default by value, turning -0.0 into
+0.0; there -0.0 is written (the flatbuffers layout drops it, as
ExecuTorch's writer does). In both layouts: a NaN keeps its sign and
payload, where flatc, reading "nan", writes its canonical quiet NaN.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple

from ...schemas.program.codec import PROGRAM
from ..common.segments import check_alignment

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from ..common.types import LayoutName, ReadableBuffer
    from ...schemas.program import model
    from ...schemas.program.types import ProgramLike

__all__ = ["encode_flatbuffer", "decode_flatbuffer", "check_layout", "resolve_alignments", "encode_chunks",
           "MAX_FLATBUFFER_ALIGNMENT"]

# The largest alignment of data inside the FlatBuffer (constant_tensor_alignment,
# delegate_alignment): one blob padded to it still fits in a FlatBuffer under 2 GiB.
MAX_FLATBUFFER_ALIGNMENT = 2**30
# (The largest alignment of segments after it, MAX_SEGMENT_ALIGNMENT, and the
# check of every alignment are in formats/common/segments.py, shared with .ptd files.)

# The option that replaces each force_align of the schema.
_OPTIONS = {("Buffer", "storage"): "constant_tensor_alignment",
            ("BackendDelegateInlineData", "data"): "delegate_alignment"}


def check_layout(layout: str) -> None:
    """Raise :class:`~pte_encoder.EncodeError` unless ``layout`` is "flatc" or "flatbuffers"."""
    PROGRAM.layout(layout)


def resolve_alignments(constant_tensor_alignment: Optional[int],
                       delegate_alignment: Optional[int]) -> Tuple[int, ...]:
    """The force_align of each field of the program's Schema.force_aligned, options applied.
    A few dict operations per call: cheap enough not to cache (the codec owns every cache)."""
    options = {"constant_tensor_alignment":
               check_alignment("constant_tensor_alignment", constant_tensor_alignment,
                               MAX_FLATBUFFER_ALIGNMENT),
               "delegate_alignment": check_alignment("delegate_alignment", delegate_alignment,
                                                     MAX_FLATBUFFER_ALIGNMENT)}
    if options["constant_tensor_alignment"] is None and options["delegate_alignment"] is None:
        return PROGRAM.default_aligns
    return PROGRAM.aligns({key: options[name] for key, name in _OPTIONS.items()})


def encode_chunks(program: Any, alignments: Sequence[int],
                  layout: str = "flatc") -> Tuple[List[Any], int]:
    """The FlatBuffer as a list of bytes-like chunks in order, and its size;
    ``alignments`` as :func:`resolve_alignments` returns them. The root offset
    and the identifier come first, each a chunk of its own (.pte files insert
    a header after them)."""
    return PROGRAM.encode_chunks(program, alignments, layout)


def encode_flatbuffer(program: ProgramLike, *, constant_tensor_alignment: Optional[int] = None,
                      delegate_alignment: Optional[int] = None, layout: LayoutName = "flatc") -> bytes:
    """Encode ``program`` as a FlatBuffer, byte for byte as flatc would.

    ``program`` is a :class:`pte_encoder.Program` or any object tree with the
    same attribute names (such as ``executorch.exir.schema.Program``).
    ``constant_tensor_alignment`` and ``delegate_alignment`` replace the
    schema's ``force_align`` of ``Buffer.storage`` and
    ``BackendDelegateInlineData.data``: a power of two up to
    :data:`MAX_FLATBUFFER_ALIGNMENT` (2**30), or None for the schema's 16.
    ``layout="flatbuffers"`` writes the bytes of ExecuTorch 1.5.1's
    ``_program_to_flatbuffer`` (the ``flatbuffers`` runtime's object API)
    instead of flatc's. Raises :class:`EncodeError` for bad input.
    """
    if constant_tensor_alignment is None and delegate_alignment is None:
        # The common call, straight to the codec (which checks the layout
        # first): on a first call in a process every further function run
        # costs several microseconds of cold code.
        alignments = PROGRAM.default_aligns
    else:
        check_layout(layout)  # before the alignments: its error comes first
        alignments = resolve_alignments(constant_tensor_alignment, delegate_alignment)
    return PROGRAM.encode(program, alignments, layout)


def decode_flatbuffer(data: ReadableBuffer) -> model.Program:
    """The Program in a FlatBuffer (bytes, bytearray, memoryview or mmap).

    Any valid FlatBuffer of the schema is read, whichever writer laid it out;
    for flatc's layout, ``encode_flatbuffer`` of the result with the same
    alignments gives back the same bytes. ``[ubyte]`` vectors are views of
    ``data``. Raises :class:`DecodeError` naming the field path and byte
    offset of anything out of place.
    """
    program: model.Program = PROGRAM.decode(data)
    return program
