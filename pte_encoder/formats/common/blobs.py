"""The blobs of a payload as the containers (.pte, .ptd) take them.

A blob is bytes-like (kept as a view, never copied unless it is not
contiguous) or file-backed: anything with ``write_to_file(f)`` and
``__len__``, such as :class:`~pte_encoder.payload.FileData` or ExecuTorch's
``FileBackedData``. A file-backed blob travels in a file's chunks as a
:class:`FileBlob`, which knows its place in the payload so that every error
names it, and which checks that the blob gives exactly the bytes it claims.
"""

from __future__ import annotations

import io
import os
from typing import Any, List, Optional, Sequence

from .output import write_stream
from ...engine.values import PointerBufferError, StreamedBlob, bytes_like
from ...engine.errors import EncodeError, describe, bad_value
from .payload import FileData

__all__ = ["FileBlob", "blob", "check_files", "is_file_backed", "join_chunks"]


def is_file_backed(value: Any) -> bool:
    return callable(getattr(value, "write_to_file", None)) and callable(getattr(value, "__len__", None))


def blob(place: str, value: Any) -> Any:
    """``value`` as a bytes-like object, or as a :class:`FileBlob` if it is
    file-backed; :class:`EncodeError` naming ``place`` if it is neither."""
    if isinstance(value, (bytes, bytearray)):
        return value
    if not isinstance(value, memoryview) and is_file_backed(value):
        return FileBlob(place, value)
    try:
        return bytes_like(value)  # a strided view is copied, in logical order
    except PointerBufferError as exc:  # numpy object arrays: addresses, never written
        raise bad_value(place, value, exc.expected, root="payload") from None
    except (TypeError, ValueError, BufferError):  # ValueError: a released memoryview
        raise bad_value(place, value, "a bytes-like or file-backed object (FileData, FileBackedData)",
                   root="payload") from None


class _Counter:
    """A file object that forwards ``write`` to ``file``, counting the bytes
    and refusing any beyond ``limit`` before they are written. It also takes
    ``flush()`` (a blob's ``write_to_file`` is written against a file object,
    and may flush it when done) and says it is ``writable()``."""

    def __init__(self, file: Any, limit: int, place: str) -> None:
        self.file = file
        self.limit = limit
        self.place = place
        self.count = 0
        self.error: Optional[BaseException] = None

    def write(self, data: Any) -> int:
        size = memoryview(data).nbytes
        if self.count + size > self.limit:
            self.error = EncodeError(f"{self.place}: the file-backed blob gives more than the "
                                     f"{self.limit} bytes its len() says", path=self.place)
            raise self.error
        try:
            self.file.write(data)
        except BaseException as exc:
            self.error = exc
            raise
        self.count += size
        return size

    def flush(self) -> None:
        flush = getattr(self.file, "flush", None)
        if callable(flush):
            flush()

    def writable(self) -> bool:
        return True


class FileBlob(StreamedBlob):
    """A file-backed blob at ``place`` in a payload, as a chunk of a file (or,
    as a :class:`StreamedBlob`, a byte vector inside a FlatBuffer)."""

    def __init__(self, place: str, source: Any) -> None:
        self.place = place
        self.source = source
        try:
            size = len(source)
        except Exception as exc:
            raise EncodeError(f"{place}: len() of {describe(source)} failed: {exc}",
                              path=place) from None
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise EncodeError(f"{place}: expected len() to be a byte count, got {describe(size)}",
                              path=place)
        self.size = size

    def __len__(self) -> int:
        return self.size

    def _failed(self, exc: BaseException) -> EncodeError:
        if isinstance(exc, EncodeError):
            return EncodeError(f"{self.place}: {exc}", path=self.place)
        if isinstance(exc, OSError):
            name = exc.filename if exc.filename is not None else getattr(self.source, "_path", None)
            reason = exc.strerror or str(exc)
            return EncodeError(f"{self.place}: cannot read "
                               f"{describe(self.source) if name is None else repr(name)}: {reason}",
                               path=self.place)
        return EncodeError(f"{self.place}: reading {describe(self.source)} failed: "
                           f"{type(exc).__name__}: {exc}", path=self.place)

    def check(self) -> bool:
        """What can be checked before writing: that the file is there and
        holds the bytes (FileData: at least offset + size; a blob with a
        ``_path``, as ExecuTorch's FileBackedData has: exactly ``len()``).
        Returns whether ``len()`` was confirmed so (False: no file to check;
        only reading the blob tells)."""
        try:
            if isinstance(self.source, FileData):
                self.source.check()
                return True
            path = getattr(self.source, "_path", None)
            if isinstance(path, (str, bytes, os.PathLike)):
                held = os.stat(path).st_size
                if held != self.size:
                    raise EncodeError(f"the file {os.fsdecode(path)!r} holds {held} bytes, "
                                      f"expected {self.size} (its len())")
                return True
        except (OSError, EncodeError) as exc:
            raise self._failed(exc) from None
        return False

    def write_to_file(self, file: Any) -> None:
        counter = _Counter(file, self.size, self.place)
        try:
            self.source.write_to_file(counter)
        except Exception as exc:
            if exc is counter.error:
                raise
            raise self._failed(exc) from None
        if counter.count != self.size:
            raise EncodeError(f"{self.place}: the file-backed blob gave {counter.count} bytes, "
                              f"expected {self.size} (its len()): its file is shorter than it was",
                              path=self.place)

    def to_bytes(self) -> bytes:
        """The bytes, read through ``write_to_file`` (checked as they come:
        never more than ``len()``)."""
        out = io.BytesIO()
        self.write_to_file(out)
        return out.getvalue()


def check_files(chunks: Sequence[Any]) -> None:
    """Check every file-backed chunk before anything is written."""
    for chunk in chunks:
        if isinstance(chunk, FileBlob):
            chunk.check()


def join_chunks(chunks: List[Any], has_files: Optional[bool] = None, what: str = "the file") -> bytes:
    """The chunks as one bytes object, file-backed ones read in (into the
    output as they stream, so memory stays near the output's size).
    ``has_files``: whether any chunk is file-backed, if the caller knows.
    Running out of memory raises :class:`EncodeError` saying that ``what``
    (say "program: the .pte") would be so many bytes."""
    try:
        return _join_all(chunks, has_files)
    except MemoryError:
        pass
    # Out of the except block: its traceback holds the frames that hold the chunks.
    total = sum(len(chunk) if isinstance(chunk, FileBlob) else memoryview(chunk).nbytes
                for chunk in chunks)
    raise EncodeError(f"{what} would be {total} bytes: out of memory", value=total, has_value=True)


def _join_all(chunks: List[Any], has_files: Optional[bool]) -> bytes:
    if has_files is None:
        has_files = any(isinstance(chunk, FileBlob) for chunk in chunks)
    if not has_files:
        return b"".join(chunks)
    chunks = list(chunks)
    for index, chunk in enumerate(chunks):
        if isinstance(chunk, FileBlob) and not chunk.check():
            # Nothing confirms its len() but its bytes: they are read first
            # (a len() that lies is refused, naming the buffer), so that the
            # output is never sized by a claim.
            chunks[index] = chunk.to_bytes()
    total = sum(len(chunk) if isinstance(chunk, FileBlob) else memoryview(chunk).nbytes
                for chunk in chunks)
    out = io.BytesIO()
    if total:
        # Sized once, so that it never grows by copying; getvalue() then
        # hands over its buffer.
        out.seek(total - 1)
        out.write(b"\0")
        out.seek(0)
    write_stream(out, chunks)
    return out.getvalue()
