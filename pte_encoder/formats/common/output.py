"""Writing a file's chunks to a path or binary file object, as ``open(path, "wb")``
would, but atomically for regular files.

The rules, and why:

- A new regular file gets the mode ``open(path, "wb")`` gives it (0o666 less
  the umask); a replaced regular file keeps its mode, and its owner and group
  where the process may set them (as root).
- A regular file is written to a temporary file in its own folder, flushed to
  disk (``fsync``: without it a crash soon after the rename can leave an empty
  or partial file in place of both the old and the new one, which is what the
  atomic write promises never happens) and renamed over the target. On any
  error, ``KeyboardInterrupt`` or an error raised while the chunks are produced
  included, the temporary file is removed and the old file is untouched.
- What the path reaches is asked of the kernel (``O_PATH``, which opens no
  device), so links are followed by its rules, protections included.
- A symlink is followed to the file it names: that file is replaced, the link
  stays a link. A dangling symlink creates the file it names, as ``open`` does.
- Anything that is not a regular file (FIFO, device, socket) and the open-file
  links of ``/proc`` (``/dev/stdout``, ``/dev/fd/N``) is written through, as
  ``open`` would: a rename would replace the device node or the link itself.
  What was written before an error stays written there.
- A regular file that ``open(path, "wb")`` could not write (no write
  permission) is refused the same way, though the rename would succeed. One
  in a folder where no file can be created is refused too (``open`` could
  write it in place, but not atomically).
- A regular file with several hard links gets a new inode: the other names
  keep the old bytes. Extended attributes and ACLs of a replaced file are not
  copied.
- A file object is written until every byte is taken: short writes are
  retried; a raw stream that takes nothing raises instead of looping.
- Errors name the user's path, never the temporary file.
- A chunk may be file-backed (``write_to_file(f)`` and ``__len__``: a blob
  kept in a file): it is streamed through, and must write exactly ``len()``
  bytes. Its errors are errors while the chunks are produced: a regular file
  is left untouched, a stream keeps what was written before.
"""

from __future__ import annotations

import errno
import io
import operator
import os
import stat
from typing import Any, Iterable, List, Optional, Protocol, Sequence, Tuple, Union

from ...engine.errors import EncodeError, bad_value


class BinaryWritable(Protocol):
    """A binary file object open for writing (a raw, buffered or in-memory
    stream, or anything with such a ``write``); text files do not fit."""

    def write(self, __data: bytes) -> object: ...


#: What the writers accept: a path (``str``, ``bytes`` or ``os.PathLike``) or
#: a binary file object open for writing.
#: (os.PathLike is subscripted as an object, not named in a string: typing
#: compiles each string into a ForwardRef, most of a millisecond at import.)
Target = Union[str, bytes, os.PathLike[str], os.PathLike[bytes], BinaryWritable]

# A raw stream that takes no byte of a non-empty buffer this many times in a
# row is not going to take it.
_MAX_ZERO_WRITES = 64
# Symlink chains longer than this are loops (Linux gives up at 40).
_MAX_SYMLINKS = 40
_TEMPORARY_NAME_TRIES = 100


def write_file(target: Target, chunks: Iterable[Any], *, temporary_prefix: str = ".pte-") -> int:
    """Write the ``chunks`` (bytes-like, or file-backed as :func:`write_stream`
    says), in order, to ``target`` and return the
    number of bytes written.

    ``target`` is a path (written as described in this module's docstring,
    atomically if it is a regular file) or a binary file object (written
    through its ``write``, which is called until each chunk is taken).
    Temporary files are named ``<temporary_prefix><random>.tmp``. Raises
    :class:`EncodeError` if ``target`` is neither, ``OSError`` naming the path
    if writing fails.
    """
    path = check_target(target)
    if path is not None:
        return write_path(path, chunks, temporary_prefix=temporary_prefix)
    return write_stream(target, chunks)


def check_target(target: Any) -> Optional[Union[str, bytes]]:
    """Raise :class:`EncodeError` (at the place ``file``) unless ``target`` is
    a path without NUL characters or a binary file object: callers check it
    before computing anything to write. Returns the path, ``None`` for a file
    object."""
    if isinstance(target, (str, bytes, os.PathLike)):
        return _checked_path(target)
    expected = "a path or a binary file object open for writing"
    if isinstance(target, io.TextIOBase) or not callable(getattr(target, "write", None)):
        raise bad_value("file", target, expected)
    # Where the object says (io's files do), a closed or read-only file is
    # refused now, not after the whole file has been computed.
    closed: Any = False
    try:
        closed = getattr(target, "closed", False)
        refused = closed is True or (_says_writable(target) and target.writable() is False)
    except ValueError:  # writable() of a closed file (some io classes)
        refused = True
    if refused:
        state = "a closed one" if closed is True else "a read-only one"
        raise bad_value("file", target, f"a binary file object open for writing, not {state}")
    return None


def _says_writable(target: Any) -> bool:
    """Whether ``target.writable()`` tells if it can be written: not when it
    is io.IOBase's default (always False) on a class that writes with its
    own ``write`` (a sink subclassing io.RawIOBase that never said so)."""
    cls = type(target)
    writable = getattr(cls, "writable", None)
    if not callable(writable):
        return False
    if writable is not io.IOBase.writable:
        return True
    owner = next((klass for klass in cls.__mro__ if "write" in vars(klass)), object)
    return owner.__module__ in ("io", "_io", "_pyio")


def write_path(target: Union[str, bytes], chunks: Iterable[Any], *,
               temporary_prefix: str = ".pte-") -> int:
    """Write ``chunks`` to the file at path ``target`` (see the module
    docstring) and return the number of bytes written."""
    return write_files([(target, chunks)], temporary_prefix=temporary_prefix)[0]


def write_files(outputs: Sequence[Tuple[Target, Iterable[Any]]], *,
                temporary_prefix: str = ".pte-") -> List[int]:
    """Write several files, each as :func:`write_file` writes one, so that a
    failure leaves every regular file among them as it was: each is written
    to its temporary file first; then what must be written through (devices,
    ``/dev/stdout``, file objects) is written; then every temporary file is
    renamed over its target. Returns the number of bytes written to each.

    (Renames in a folder where a file could just be created do not fail in
    practice; if one did, the files renamed before it would stay new.)
    """
    paths = [check_target(target) for target, _chunks in outputs]
    sizes = [0] * len(outputs)
    pending: List[Tuple[str, str, Union[str, bytes], List[str]]] = []  # temporary, real, target, names
    through: List[Tuple[int, Optional[str]]] = []  # written after the temporaries are ready
    try:
        for i, ((target, chunks), path) in enumerate(zip(outputs, paths)):
            if path is None:
                through.append((i, None))
                continue
            # One type inside; fsdecode and the os functions' fsencode are inverses.
            name: str = os.fsdecode(path)
            used: List[str] = [name]  # the names an error may carry instead of the user's
            try:
                real, status, direct = _plan(name, used)
                if direct:
                    through.append((i, name))
                    continue
                temporary, sizes[i] = _temporary(real, status, chunks, temporary_prefix, used)
            except OSError as exc:
                raise _users_error(exc, path, used) from None
            pending.append((temporary, real, path, used))
        for i, stream_name in through:
            target, chunks = outputs[i]
            if stream_name is None:
                sizes[i] = write_stream(target, chunks)
                continue
            try:  # a folder too: open() raises IsADirectoryError
                with open(stream_name, "wb") as out:
                    sizes[i] = write_stream(out, chunks)
            except OSError as exc:
                raise _users_error(exc, paths[i] or stream_name, [stream_name]) from None
        while pending:
            temporary, real, path, used = pending[0]
            try:
                os.replace(temporary, real)
            except OSError as exc:
                raise _users_error(exc, path, used) from None
            pending.pop(0)
    except BaseException:
        for temporary, _real, _path, _used in pending:
            try:
                os.unlink(temporary)
            except OSError:
                pass
        raise
    return sizes


def _users_error(exc: OSError, target: Union[str, bytes], used: List[str]) -> OSError:
    """``exc`` naming the user's ``target``: the temporary file and the
    resolved target are ours, not the user's; an error about another file
    (from the chunks) keeps its name."""
    if exc.filename is None or exc.filename not in used:
        return exc
    renamed = type(exc)(exc.errno, exc.strerror, target)
    return renamed.with_traceback(exc.__traceback__)


def _plan(path: str, used: List[str]) -> Tuple[str, Optional[os.stat_result], bool]:
    """The file to replace at ``path`` (its links followed), its status (None:
    new), and whether it must be written through instead (not a regular file,
    or a link into /proc)."""
    status = _status(path)
    real, through = _resolve(path, used)
    if status is not None and not through:
        # What open() reaches must be the file the links name; if not (a
        # link changed meanwhile, or names no path), write through.
        through = not stat.S_ISREG(status.st_mode) or not _same_file(real, status)
    if not through and status is not None and not _writable(real):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    return real, status, through


def write_stream(file: Any, chunks: Iterable[Any]) -> int:
    """Write ``chunks`` through ``file.write`` and return the number of bytes.

    A chunk is bytes-like, or file-backed: an object with ``write_to_file(f)``
    and ``__len__`` (a blob kept in a file), which is handed a writer that
    forwards to ``file`` as below; it must write exactly ``len()`` bytes, or
    :class:`EncodeError` is raised.

    A short write (``write`` returning fewer bytes than given, as raw streams
    may) is followed by a write of the rest. ``None`` from an ``io.RawIOBase``
    (a non-blocking stream that is not ready) raises ``BlockingIOError``;
    ``None`` from any other object is taken as "all written", the way
    hand-written sinks behave. A stream that keeps taking 0 bytes raises
    ``OSError``.
    """
    raw = isinstance(file, io.RawIOBase)
    total = 0
    for chunk in chunks:
        if not isinstance(chunk, (bytes, bytearray, memoryview)) \
                and callable(getattr(chunk, "write_to_file", None)):
            expected = len(chunk)
            sink = _Sink(file, raw, total)
            chunk.write_to_file(sink)
            if sink.total - total != expected:
                raise EncodeError(f"a file-backed chunk wrote {sink.total - total} bytes, "
                                  f"expected {expected} (its len())")
            total = sink.total
        else:
            total += _write_all(file, chunk, raw, total)
    return total


class _Sink:
    """The file object a file-backed chunk writes to: every ``write`` is
    written whole to ``file``, as :func:`write_stream` writes a chunk."""

    def __init__(self, file: Any, raw: bool, total: int) -> None:
        self._file = file
        self._raw = raw
        self.total = total

    def write(self, data: Any) -> int:
        count = _write_all(self._file, data, self._raw, self.total)
        self.total += count
        return count

    def flush(self) -> None:
        pass


def _write_all(file: Any, chunk: Any, raw: bool, total: int) -> int:
    """Write all of ``chunk`` (``total`` bytes came before it); return its size."""
    size = memoryview(chunk).nbytes
    if size == 0:
        return 0
    whole = size
    written = file.write(chunk)
    if written is None and not raw:
        return whole
    rest: Optional[memoryview] = None
    zero_writes = 0
    while True:
        count = _write_count(written, size, total)
        total += count
        size -= count
        if size == 0:
            return whole
        zero_writes = zero_writes + 1 if count == 0 else 0
        if zero_writes == _MAX_ZERO_WRITES:
            raise OSError(f"write() took 0 bytes {_MAX_ZERO_WRITES} times in a row, "
                          f"after {total} bytes were written")
        if rest is None:
            rest = memoryview(chunk).cast("B")
        rest = rest[-size:]
        written = file.write(rest)


def _write_count(written: Any, size: int, total: int) -> int:
    """The byte count a ``write`` returned, checked against the ``size`` given."""
    if written is None:
        raise BlockingIOError(errno.EAGAIN, f"write() returned None: the raw stream is "
                              f"non-blocking and not ready, after {total} bytes were written",
                              total)
    try:
        count = operator.index(written)
    except TypeError:
        count = -1
    if not 0 <= count <= size:
        raise OSError(f"write() returned {_short_repr(written)}, expected a byte count "
                      f"between 0 and {size}, after {total} bytes were written")
    return count


def _checked_path(target: Union[str, bytes, "os.PathLike[Any]"]) -> Union[str, bytes]:
    path: Union[str, bytes] = os.fspath(target)
    if "\0" in os.fsdecode(path):
        raise bad_value("file", path, "a path without NUL characters")
    return path


def _status(path: str) -> Optional[os.stat_result]:
    """The status of the file ``open(path)`` reaches, ``None`` if there is none.

    Where the system has ``O_PATH``, the path is opened by the kernel, not
    stat-ed: it then follows links with its own protections (a root process
    following another user's link in /tmp is refused, as open() is refused)
    and opens no device.
    """
    o_path = getattr(os, "O_PATH", 0)
    try:
        if not o_path:
            return os.stat(path)
        handle = os.open(path, o_path | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    try:
        return os.fstat(handle)
    finally:
        os.close(handle)


def _same_file(path: str, status: os.stat_result) -> bool:
    try:
        return os.path.samestat(os.stat(path), status)
    except OSError:
        return False


def _resolve(path: str, used: List[str]) -> Tuple[str, bool]:
    """The file ``path`` names once its own symlinks are followed (folders need
    not be: a rename goes through them), and whether it must be written
    through because a link names an open file (``/proc/self/fd/N``)."""
    for _ in range(_MAX_SYMLINKS):
        if not os.path.islink(path):
            return path, False
        folder = os.path.dirname(path)
        if os.path.realpath(folder or os.curdir).startswith("/proc/"):
            return path, True
        # Not normalized: ".." in a link is resolved by the system from the
        # link's real folder, as open() would.
        path = os.path.join(folder, os.readlink(path))
        used.append(path)
    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)


def _writable(path: str) -> bool:
    if os.access in os.supports_effective_ids:
        return os.access(path, os.W_OK, effective_ids=True)
    return os.access(path, os.W_OK)


def _temporary(real: str, status: Optional[os.stat_result], chunks: Iterable[Any],
               temporary_prefix: str, used: List[str]) -> Tuple[str, int]:
    """A temporary file in ``real``'s folder holding ``chunks``, flushed to
    disk, and its size; removed if anything fails."""
    folder = os.path.dirname(real) or os.curdir
    # A new file is created as open() creates it (0o666 less the umask);
    # a replacement starts private and takes the old file's mode at the end.
    used.append(folder)
    handle, temporary = _create_temporary(folder, temporary_prefix,
                                          0o666 if status is None else 0o600, used)
    try:
        with os.fdopen(handle, "wb") as out:
            if status is not None:
                _copy_owner_and_mode(handle, status)
            total = write_stream(out, chunks)
            out.flush()
            os.fsync(handle)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    return temporary, total


def _create_temporary(folder: str, prefix: str, mode: int, used: List[str]) -> Tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) \
        | getattr(os, "O_BINARY", 0)
    for _ in range(_TEMPORARY_NAME_TRIES):
        name = f"{prefix}{os.urandom(6).hex()}.tmp"
        temporary = os.path.join(folder, name)
        used.append(temporary)
        try:
            return os.open(temporary, flags, mode), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", folder)


def _copy_owner_and_mode(handle: int, status: os.stat_result) -> None:
    if hasattr(os, "fchown"):
        mine = os.fstat(handle)
        if (mine.st_uid, mine.st_gid) != (status.st_uid, status.st_gid):
            try:
                os.fchown(handle, status.st_uid, status.st_gid)
            except OSError:
                pass  # only root may give a file away; the mode is still kept
    # After fchown, which clears the set-user-ID and set-group-ID bits.
    if hasattr(os, "fchmod"):
        os.fchmod(handle, stat.S_IMODE(status.st_mode))


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
