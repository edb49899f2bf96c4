"""The types of .ptd options, for type checkers (re-exported by ``pte_encoder.types``)."""

from __future__ import annotations

from typing import TypedDict

__all__ = ["DataFileOptions"]


class DataFileOptions(TypedDict, total=False):
    """:func:`pte_encoder.encode_data_file`'s and
    :func:`pte_encoder.write_data_file`'s keyword arguments, as
    :func:`pte_encoder.payload_from_json` returns them."""

    segment_alignment: int
