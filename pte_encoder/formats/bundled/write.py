"""Bundled programs (.bpte) written: a program (.pte) and test cases for its
methods, in one plain FlatBuffer (identifier ``BP08``; no header, no segments).

The two layouts are ExecuTorch 1.5.1's two writers:

- ``layout="flatc"`` (the default): its legacy path,
  ``convert_to_flatbuffer(serialize_from_bundled_program_to_json(bp))``, the
  bundled program as its dataclass JSON form handed to ``flatc --binary``;
- ``layout="flatbuffers"``: its default,
  ``serialize_from_bundled_program_to_flatbuffer``: the object-API classes
  packed by the ``flatbuffers`` runtime's ``Builder``, with the packers its
  ``_install_fast_packers`` puts on ``Tensor`` and ``BundledProgram`` (the
  byte vectors written as one block each, ``data`` aligned to 16, ``program``
  to 32, even when empty).

Both give files of the same size; the bytes differ around the root table.
The bundled program's codec (``schemas/bundled_program``, on the engine) does
the work. The program itself may be file-backed (:class:`FileData`,
ExecuTorch's ``FileBackedData``): :func:`write_bundled_program` streams it
from its file into the output, and :func:`encode_bundled_program` reads it
into the bytes it returns.

Where this differs from ExecuTorch's writers:

- A Value whose ``val`` is not a Tensor, Int, Bool or Double (by class name)
  is refused, naming the place; ExecuTorch's default writer writes an empty
  Value for it, silently (None gives the empty Value here too).
- ``Double`` values: in the flatc layout, -0.0 is written as -0.0 (flatc
  drops it, as a value equal to the default); infinities and NaN are
  written with their bits in both layouts (ExecuTorch's legacy path cannot
  write them: its JSON says ``Infinity``/``NaN``, which flatc refuses).
- A buffer of 2**31 bytes and more is refused (offsets are signed 32-bit;
  flatc refuses it too, the ``Builder`` takes exactly 2**31 bytes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Tuple

from ...engine.check import check_object, missing, unreadable
from ...engine.errors import EncodeError, bad_value
from ...schemas.bundled_program.codec import BUNDLED_PROGRAM
from ..common.blobs import FileBlob, check_files, is_file_backed, join_chunks
from ..common.output import Target, check_target, write_file

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from ..common.types import LayoutName
    from .types import BundledProgramInput

__all__ = ["encode_bundled_program", "write_bundled_program"]

# The place of the bundled program itself in messages.
_ROOT = BUNDLED_PROGRAM.schema.name
_TABLE = BUNDLED_PROGRAM.schema.root_table
_FIELDS = [f.name for f in BUNDLED_PROGRAM.schema.tables[_TABLE]]
_LAYOUTS = ("flatc", "flatbuffers")
_PROGRAM_EXPECTED = "a bytes-like object, a list of integers or a file-backed object (FileData, FileBackedData)"


class _Root:
    """The bundled program's three fields, each read once from the caller's
    object (what the codec encodes; a file-backed program as a FileBlob)."""

    __slots__ = ("version", "method_test_suites", "program")

    def __init__(self, version: Any, method_test_suites: Any, program: Any) -> None:
        self.version = version
        self.method_test_suites = method_test_suites
        self.program = program


def _root(bundled: Any) -> Tuple[_Root, bool]:
    """What the codec encodes: ``bundled``'s fields, a file-backed program as
    a :class:`FileBlob` (then True: it streams). EncodeError naming a missing
    or unreadable field, as the codec's check would."""
    name = "version"  # (each field read once, in order; the one that fails is named)
    try:
        version = bundled.version
        name = "method_test_suites"
        suites = bundled.method_test_suites
        name = "program"
        program = bundled.program
    except AttributeError:
        check_object("", bundled, _TABLE, _ROOT)
        raise missing("", bundled, name, _TABLE, _FIELDS, _ROOT) from None
    except Exception as exc:  # a property that raises: its error, with the place
        raise unreadable(name, exc) from None
    if program is not None and not isinstance(program, (bytes, bytearray, memoryview)) \
            and is_file_backed(program):
        return _Root(version, suites, FileBlob("program", program)), True
    return _Root(version, suites, program), False


def _program_error(exc: EncodeError, program: Any) -> EncodeError:
    """The codec's error, or at ``program`` one that says what a program may be."""
    if exc.path != "program" or exc.expected != "a bytes-like object or a list of integers":
        return exc
    return bad_value("program", program, _PROGRAM_EXPECTED, root=_ROOT)


def _chunks(bundled: Any, layout: str) -> Tuple[List[Any], bool]:
    """The file's chunks (a file-backed program among them, unread), and
    whether one is file-backed."""
    BUNDLED_PROGRAM.layout(layout)  # a bad layout is named first
    root, streamed = _root(bundled)
    try:
        chunks, _size = BUNDLED_PROGRAM.encode_chunks(root, None, layout)
    except EncodeError as exc:
        raise _program_error(exc, root.program) from None
    return chunks, streamed


def encode_bundled_program(bundled: BundledProgramInput, *, layout: LayoutName = "flatc") -> bytes:
    """Encode ``bundled`` as a .bpte file, byte for byte as ExecuTorch 1.5.1
    writes it: ``layout="flatc"`` as its legacy path (JSON, then ``flatc
    --binary``), ``layout="flatbuffers"`` as its default writer
    (``serialize_from_bundled_program_to_flatbuffer``).

    ``bundled`` is a :class:`pte_encoder.bundled.BundledProgram` or
    ExecuTorch's ``bp_schema.BundledProgram`` as it is (any object tree with
    the same attribute names). Its ``program`` is bytes-like or file-backed
    (:class:`FileData`, ``FileBackedData``: read in here). Raises
    :class:`EncodeError` naming the place of a bad value, or giving the size
    of a buffer over the format's 2 GiB limit; ``bundled`` is not modified.
    """
    if layout.__class__ is not str or layout not in _LAYOUTS:
        BUNDLED_PROGRAM.layout(layout)  # EncodeError, before anything else
    root, streamed = _root(bundled)
    if not streamed:
        try:
            return BUNDLED_PROGRAM.encode(root, None, layout)
        except EncodeError as exc:
            raise _program_error(exc, root.program) from None
    chunks, _size = BUNDLED_PROGRAM.encode_chunks(root, None, layout)
    return join_chunks(chunks, True, what=f"{_ROOT}: the .bpte")


def write_bundled_program(bundled: BundledProgramInput, file: Target, *,
                          layout: LayoutName = "flatc") -> int:
    """Write the bytes :func:`encode_bundled_program` returns to a path or
    binary file object; return the number of bytes written.

    A file-backed program streams from its file to the output a megabyte at
    a time, never whole in memory; its file is checked first (there, and
    long enough). A path is written as :func:`write_program` writes one:
    atomically for a regular file, nothing left behind on error. A bundled
    program over the 2 GiB limit is refused before anything is written.
    """
    check_target(file)  # a bad file argument is refused before anything is computed
    chunks, streamed = _chunks(bundled, layout)
    if streamed:
        check_files(chunks)
    return write_file(file, chunks, temporary_prefix=".bpte-")
