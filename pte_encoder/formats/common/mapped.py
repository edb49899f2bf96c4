"""Files mapped into memory for reading, so that a multi-GB file is not copied,
or read into bytes the caller owns.

A mapping shows the file as it is now: if the file is rewritten in place
while a mapping (or a view of it) is alive, the views change with it, and if
it is truncated, touching a byte past the new end kills the process with
SIGBUS (the kernel's answer; Python cannot catch it). ``copy=True`` reads
the file instead: the bytes are then the caller's, whatever happens to the
file. (Writers that replace a file by renaming, as pte_encoder's do, leave
an existing mapping intact.)
"""

from __future__ import annotations

import mmap
import os
import stat
from typing import Callable, List, Optional, Union

from ...engine.errors import DecodeError

__all__ = ["map_file", "HEAD_SIZE"]

# What a caller may look at before the rest is read: the root offset and
# the file identifier of a FlatBuffer, after a size prefix if it has one.
HEAD_SIZE = 12
_CHUNK = 1 << 20


def map_file(path: Union[str, "os.PathLike[str]"], *, copy: bool = False,
             check_head: Optional[Callable[[bytes], None]] = None) -> Union[mmap.mmap, bytes]:
    """The file at ``path``, mapped read-only (or, with ``copy=True``, read
    into bytes). The mapping stays open as long as it, or any view of it, is
    alive. What cannot be mapped is read: a pipe or a device (``<(cat
    x.pte)``, ``/dev/stdin``), or a file that says it is empty but may not be
    (``/proc``). A file that holds nothing is refused with
    :class:`DecodeError`; ``OSError`` if it cannot be opened.

    ``check_head``, if given, is called with the file's first
    :data:`HEAD_SIZE` bytes (fewer if it is shorter) before the rest is
    read, so that a stream of another kind (``/dev/zero``) is refused at
    once rather than read to its end; it raises to refuse.
    """
    with open(path, "rb") as f:
        status = os.fstat(f.fileno())
        if stat.S_ISREG(status.st_mode) and status.st_size:
            if not copy:
                mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                if check_head is not None:
                    check_head(bytes(mapped[:HEAD_SIZE]))
                return mapped
            if check_head is not None:
                check_head(f.read(HEAD_SIZE))
                f.seek(0)
            whole = f.read()  # one allocation of the file's size
            if whole:
                return whole
        parts: List[bytes] = []
        head = f.read(HEAD_SIZE)
        while head and len(head) < HEAD_SIZE:  # a pipe may give fewer bytes than asked
            more = f.read(HEAD_SIZE - len(head))
            if not more:
                break
            head += more
        if head and check_head is not None:
            check_head(head)
        parts.append(head)
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            parts.append(chunk)
    data = b"".join(parts)
    if not data:
        raise DecodeError(f"{os.fspath(path)}: the file is empty", "", 0)
    return data
