"""The named data a .pte or .ptd file carries, as the caller hands it over.

Shaped like ExecuTorch 1.5.1's own types (``DataEntry``, ``DataPayload``,
``TensorLayout``, ``NamedDataStoreOutput``), which are accepted as they are;
these are the typed equivalents for callers without ExecuTorch.

:class:`FileData` says "this blob is (a slice of) the file at PATH": written
files copy it from file to file in pieces, never loading it whole. ExecuTorch's
``FileBackedData`` works the same way (anything with ``write_to_file(f)`` and
``__len__``).
"""

from __future__ import annotations

import os
import stat
from reprlib import recursive_repr
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Sequence, SupportsIndex, Tuple, Union

from ...engine.check import integer
from ...engine.errors import EncodeError, describe, bad_value
from ...schemas.program.model import ScalarType

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from .types import Blob, DataEntryLike, PayloadEntryLike, TensorLayoutLike

__all__ = ["Record", "TensorLayout", "DataEntry", "DataPayload", "NamedDataOutput", "FileData"]

# How much of a file-backed blob is read at a time: big enough for few system
# calls, small enough that a write keeps well under its memory bound.
PIECE_SIZE = 1 << 20


class _Factory:
    """The default of a field that starts as a new empty list or dict (shown
    as dataclasses show a default_factory)."""

    def __repr__(self) -> str:
        return "<factory>"


_NEW: Any = _Factory()


class Record:
    """What @dataclass gives the classes below (equality field by field
    between objects of one class, a repr naming the fields, unhashable),
    written out: importing dataclasses and processing the decorator cost more
    import time than the rest of the package's import of these modules. Each
    subclass lists its fields in ``__slots__`` (and ``__match_args__``)."""

    __slots__: Tuple[str, ...] = ()
    __hash__ = None  # type: ignore[assignment]

    def _fields(self) -> Tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    @recursive_repr()
    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{self.__class__.__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record) and other.__class__ is self.__class__:
            return self._fields() == other._fields()
        return NotImplemented


class TensorLayout(Record):
    """How a named blob's bytes are read as a tensor: element type, the size
    of each dimension, and the order of the dimensions in memory."""

    __slots__ = __match_args__ = ("scalar_type", "sizes", "dim_order")

    def __init__(self, scalar_type: Union[ScalarType, int], sizes: Sequence[int],
                 dim_order: Sequence[int]) -> None:
        self.scalar_type = scalar_type
        self.sizes = sizes
        self.dim_order = dim_order


class DataEntry(Record):
    """Where one named blob's bytes are: an index into the buffers, the
    alignment its segment needs (``None``: 1, as ExecuTorch takes it) and,
    for a .ptd file, the tensor's layout (``None``: not a tensor, or not
    said). ``.pte`` files ignore the layout, as ExecuTorch does."""

    __slots__ = __match_args__ = ("buffer_index", "alignment", "tensor_layout")

    def __init__(self, buffer_index: int, alignment: Optional[int] = 1,
                 tensor_layout: Optional[TensorLayoutLike] = None) -> None:
        self.buffer_index = buffer_index
        self.alignment = alignment
        self.tensor_layout = tensor_layout


class NamedDataOutput(Record):
    """Named blobs for a .pte, shaped like ExecuTorch's ``NamedDataStoreOutput``:
    each key of ``pte_data`` names an entry of ``buffers``; keys may share a
    buffer. A buffer is a bytes-like object or file-backed (:class:`FileData`,
    ExecuTorch's ``FileBackedData``). Both default to a new empty list and dict."""

    __slots__ = __match_args__ = ("buffers", "pte_data")

    def __init__(self, buffers: Sequence[Blob] = _NEW, pte_data: Mapping[str, DataEntryLike] = _NEW) -> None:
        self.buffers: Sequence[Blob] = [] if buffers is _NEW else buffers
        self.pte_data: Mapping[str, DataEntryLike] = {} if pte_data is _NEW else pte_data


class DataPayload(Record):
    """What a .ptd file holds, shaped like ExecuTorch's ``DataPayload``: the
    blobs (bytes-like or file-backed), and each key's :class:`DataEntry`.
    Keys may share a buffer: it is written once. Both default to a new empty
    list and dict."""

    __slots__ = __match_args__ = ("buffers", "named_data")

    def __init__(self, buffers: Sequence[Blob] = _NEW,
                 named_data: Mapping[str, PayloadEntryLike] = _NEW) -> None:
        self.buffers: Sequence[Blob] = [] if buffers is _NEW else buffers
        self.named_data: Mapping[str, PayloadEntryLike] = {} if named_data is _NEW else named_data


def _count(name: str, value: Any) -> int:
    """A byte count or offset argument as an int (integer-like accepted, not a bool)."""
    number = None if isinstance(value, bool) else integer(value, name)
    if number is None or number < 0:
        raise bad_value(name, value, "a non-negative integer", root="FileData")
    return int(number)


class FileData:
    """A blob that stays on disk: ``size`` bytes of the file at ``path`` from
    ``offset`` (``size=None``: to the end of the file, measured now, as
    ExecuTorch's ``FileBackedData`` measures its file when made).

    Written files stream it in pieces of a megabyte; :func:`encode_data_file`
    and :func:`encode_program` read it into the bytes they return. If the
    file is gone or no longer holds the bytes by then, they raise
    :class:`EncodeError` naming the buffer. Bad arguments raise
    :class:`EncodeError` naming ``path``, ``offset`` or ``size`` (with
    ``size=None``, a file that cannot be measured now, too).
    """

    __slots__ = ("path", "offset", "size")

    def __init__(self, path: "Union[str, os.PathLike[str]]", offset: SupportsIndex = 0,
                 size: Optional[SupportsIndex] = None) -> None:
        # Checked as every input is: EncodeError at the argument's name.
        try:
            self.path = os.fsdecode(path)
        except TypeError:
            raise bad_value("path", path, "a path (str or os.PathLike)", root="FileData") from None
        self.offset = _count("offset", offset)
        if size is None:
            try:
                held = os.stat(self.path)
            except OSError as exc:
                expected = "a readable file (size=None measures it)"
                raise EncodeError(f"path: expected {expected}, got {describe(self.path)}: "
                                  f"{exc.strerror or exc}", path="path", value=self.path,
                                  expected=expected, has_value=True) from None
            if stat.S_ISDIR(held.st_mode):
                raise bad_value("path", self.path, "a file, not a folder")
            self.size = max(held.st_size - self.offset, 0)
        else:
            self.size = _count("size", size)

    def __repr__(self) -> str:
        return f"FileData({self.path!r}, offset={self.offset}, size={self.size})"

    def __len__(self) -> int:
        return self.size

    def check(self) -> None:
        """Raise :class:`EncodeError` unless the file still holds the bytes
        (``OSError`` if it cannot be examined)."""
        held = os.stat(self.path).st_size - self.offset
        if held < self.size:
            raise EncodeError(f"{self!r}: the file holds {max(held, 0)} bytes from offset "
                              f"{self.offset}, expected {self.size}")

    def pieces(self) -> Iterator[bytes]:
        """The bytes, in order, a megabyte at a time."""
        with open(self.path, "rb") as source:
            source.seek(self.offset)
            left = self.size
            while left:
                piece = source.read(min(left, PIECE_SIZE))
                if not piece:
                    raise EncodeError(f"{self!r}: the file ended {left} bytes early")
                left -= len(piece)
                yield piece

    def write_to_file(self, file: Any) -> None:
        """Write the bytes through ``file.write``, a piece at a time."""
        for piece in self.pieces():
            file.write(piece)

    def to_bytes(self) -> bytes:
        with open(self.path, "rb") as source:
            source.seek(self.offset)
            data = source.read(self.size)
        if len(data) != self.size:
            raise EncodeError(f"{self!r}: the file holds {len(data)} bytes from offset "
                              f"{self.offset}, expected {self.size}")
        return data

    def prefix(self, size: int) -> bytes:
        with open(self.path, "rb") as source:
            source.seek(self.offset)
            return source.read(min(size, self.size))

    def sha256(self) -> bytes:
        import hashlib  # here, not at import: it loads OpenSSL (2 ms)

        digest = hashlib.sha256()
        for piece in self.pieces():
            digest.update(piece)
        return digest.digest()
