"""Files mapped into memory for reading, so that a multi-GB file is not copied."""

from __future__ import annotations

import mmap
import os
import stat
from typing import Union

from ...engine.errors import DecodeError

__all__ = ["map_file"]


def map_file(path: Union[str, "os.PathLike[str]"]) -> Union[mmap.mmap, bytes]:
    """The file at ``path``, mapped read-only. The mapping stays open as long
    as it, or any view of it, is alive. What cannot be mapped is read whole:
    a pipe or a device (``<(cat x.pte)``, ``/dev/stdin``), or a file that says
    it is empty but may not be (``/proc``). A file that holds nothing is
    refused with :class:`DecodeError`; ``OSError`` if it cannot be opened."""
    with open(path, "rb") as f:
        status = os.fstat(f.fileno())
        if stat.S_ISREG(status.st_mode) and status.st_size:
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        data = f.read()
    if not data:
        raise DecodeError(f"{os.fspath(path)}: the file is empty", "", 0)
    return data
