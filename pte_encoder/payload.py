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

import hashlib
import os
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Sequence, SupportsIndex, Union

from .engine.check import integer
from .errors import EncodeError, describe, fail
from .model import ScalarType

if TYPE_CHECKING:  # not loaded at run time: see types.py
    from .types import Blob, DataEntryLike, PayloadEntryLike, TensorLayoutLike

__all__ = ["TensorLayout", "DataEntry", "DataPayload", "NamedDataOutput", "FileData"]

# How much of a file-backed blob is read at a time: big enough for few system
# calls, small enough that a write keeps well under its memory bound.
PIECE_SIZE = 1 << 20


@dataclass
class TensorLayout:
    """How a named blob's bytes are read as a tensor: element type, the size
    of each dimension, and the order of the dimensions in memory."""

    scalar_type: Union[ScalarType, int]
    sizes: Sequence[int]
    dim_order: Sequence[int]


@dataclass
class DataEntry:
    """Where one named blob's bytes are: an index into the buffers, the
    alignment its segment needs (``None``: 1, as ExecuTorch takes it) and,
    for a .ptd file, the tensor's layout (``None``: not a tensor, or not
    said). ``.pte`` files ignore the layout, as ExecuTorch does."""

    buffer_index: int
    alignment: Optional[int] = 1
    tensor_layout: Optional[TensorLayoutLike] = None


@dataclass
class NamedDataOutput:
    """Named blobs for a .pte, shaped like ExecuTorch's ``NamedDataStoreOutput``:
    each key of ``pte_data`` names an entry of ``buffers``; keys may share a
    buffer. A buffer is a bytes-like object or file-backed (:class:`FileData`,
    ExecuTorch's ``FileBackedData``)."""

    buffers: Sequence[Blob] = field(default_factory=list)
    pte_data: Mapping[str, DataEntryLike] = field(default_factory=dict)


@dataclass
class DataPayload:
    """What a .ptd file holds, shaped like ExecuTorch's ``DataPayload``: the
    blobs (bytes-like or file-backed), and each key's :class:`DataEntry`.
    Keys may share a buffer: it is written once."""

    buffers: Sequence[Blob] = field(default_factory=list)
    named_data: Mapping[str, PayloadEntryLike] = field(default_factory=dict)


def _count(name: str, value: Any) -> int:
    """A byte count or offset argument as an int (integer-like accepted, not a bool)."""
    number = None if isinstance(value, bool) else integer(value)
    if number is None or number < 0:
        raise fail(name, value, "a non-negative integer", root="FileData")
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
            raise fail("path", path, "a path (str or os.PathLike)", root="FileData") from None
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
                raise fail("path", self.path, "a file, not a folder")
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
        digest = hashlib.sha256()
        for piece in self.pieces():
            digest.update(piece)
        return digest.digest()
