"""Files mapped into memory for reading, so that a multi-GB file is not copied."""

from __future__ import annotations

import mmap
import os
from typing import Union

from .errors import DecodeError

__all__ = ["map_file"]


def map_file(path: Union[str, "os.PathLike[str]"]) -> mmap.mmap:
    """The file at ``path``, mapped read-only. The mapping stays open as long
    as it, or any view of it, is alive. An empty file (which cannot be mapped)
    is refused with :class:`DecodeError`; ``OSError`` if it cannot be opened."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            raise DecodeError(f"{os.fspath(path)}: the file is empty", "", 0)
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
