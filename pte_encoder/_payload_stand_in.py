"""Stand-in for the .ptd payload types until the .ptd writer's module lands.

The same classes, with the same fields, as ExecuTorch's ``DataPayload``,
``DataEntry`` and ``TensorLayout``; the reader (ptd_read.py) imports them
from here only, so that switching to the writer's module is one import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence, Union

from .model import ScalarType

__all__ = ["TensorLayout", "DataEntry", "DataPayload"]


@dataclass
class TensorLayout:
    scalar_type: Union[ScalarType, int]
    sizes: Sequence[int]
    dim_order: Sequence[int]


@dataclass
class DataEntry:
    buffer_index: int
    alignment: int = 1
    tensor_layout: Optional[TensorLayout] = None


@dataclass
class DataPayload:
    buffers: Sequence[Any] = field(default_factory=list)
    named_data: Mapping[str, DataEntry] = field(default_factory=dict)
