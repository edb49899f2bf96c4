"""Blobs in the formats' JSON forms (the .pte options, the .ptd payload): base64 strings."""

from __future__ import annotations

from typing import Any

from ...engine.flatc_json import json_error

__all__ = ["base64_blob"]


def base64_blob(path: str, value: Any) -> bytes:
    """A blob in the JSON forms: a base64 string (strict: no stray characters)."""
    if not isinstance(value, str):
        raise json_error(path, value, "a base64 string")
    import base64  # here, not at import (a file written without JSON never needs it)

    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise json_error(path, value, "a base64 string") from None
