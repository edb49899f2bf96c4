"""The FlatBuffer reader knows no schema of its own: a made-up recursive schema,
built with the flatbuffers runtime, reads back; nesting depth is bounded."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, List, Optional

import flatbuffers
import pytest

from pte_encoder import DecodeError
from pte_encoder.engine.reader import FlatBufferReader
from pte_encoder.engine.schema import Enum, Field, Schema


class Color(IntEnum):
    RED = 1
    BLUE = 7


@dataclass
class Leaf:
    weight: float = 1.5


@dataclass
class Node:
    name: Optional[str] = None
    color: Any = Color.RED
    children: Optional[List["Node"]] = None
    payload: Any = None
    data: Any = None
    ticks: Optional[List[int]] = None


SCHEMA = Schema(
    name="tree", namespace="test", file_identifier=b"TREE", file_extension="tree",
    root_table="Node",
    tables={
        "Leaf": (Field("weight", "SCALAR", 0, "d", 1.5, 0, None),),
        "Node": (
            Field("name", "STRING", 0, None, None, 0, None),
            Field("color", "SCALAR", 1, "b", 1, 0, "Color"),
            Field("children", "TABLE_VECTOR", 2, "Node", None, 0, None),
            Field("payload", "UNION", 4, "Payload", None, 0, None),
            Field("data", "VECTOR", 5, "B", None, 0, None),
            Field("ticks", "VECTOR", 6, "h", None, 0, None),
        ),
    },
    unions={"Payload": ("Leaf", "Node")},
    enums={"Color": Enum("Color", "b", (("RED", 1), ("BLUE", 7)))},
)
READER = FlatBufferReader(SCHEMA, {"Leaf": Leaf, "Node": Node, "Color": Color}, max_depth=16)


def node(b: flatbuffers.Builder, name: str, children: List[int], color: int = 1,
         leaf_weight: Optional[float] = None, ticks: Optional[List[int]] = None) -> int:
    name_at = b.CreateString(name)
    children_at = None
    if children:
        b.StartVector(4, len(children), 4)
        for child in reversed(children):
            b.PrependUOffsetTRelative(child)
        children_at = b.EndVector()
    leaf_at = None
    if leaf_weight is not None:
        b.StartObject(1)
        b.PrependFloat64Slot(0, leaf_weight, 1.5)
        leaf_at = b.EndObject()
    data_at = b.CreateByteVector(name.encode())
    ticks_at = None
    if ticks is not None:
        b.StartVector(2, len(ticks), 2)
        for t in reversed(ticks):
            b.PrependInt16(t)
        ticks_at = b.EndVector()
    b.StartObject(7)
    b.PrependUOffsetTRelativeSlot(0, name_at, 0)
    b.PrependInt8Slot(1, color, 1)
    if children_at is not None:
        b.PrependUOffsetTRelativeSlot(2, children_at, 0)
    if leaf_at is not None:
        b.PrependUint8Slot(3, 1, 0)
        b.PrependUOffsetTRelativeSlot(4, leaf_at, 0)
    b.PrependUOffsetTRelativeSlot(5, data_at, 0)
    if ticks_at is not None:
        b.PrependUOffsetTRelativeSlot(6, ticks_at, 0)
    return int(b.EndObject())


def test_a_recursive_schema_reads_back() -> None:
    b = flatbuffers.Builder(0)
    leaf = node(b, "leaf", [], color=7, leaf_weight=2.25, ticks=[-3, 4])
    odd = node(b, "odd", [], color=99)
    root = node(b, "root", [leaf, odd])
    b.Finish(root, file_identifier=b"TREE")
    tree = READER.decode(bytes(b.Output()))
    assert tree.name == "root" and tree.color is Color.RED and tree.payload is None
    first, second = tree.children
    assert first.name == "leaf" and first.color is Color.BLUE
    assert first.payload == Leaf(2.25) and first.ticks == [-3, 4]
    assert bytes(first.data) == b"leaf" and isinstance(first.data, memoryview)
    assert second.color == 99 and type(second.color) is int  # unknown enum value kept
    assert second.children is None and second.ticks is None


def test_nesting_depth_is_bounded() -> None:
    b = flatbuffers.Builder(0)
    at = node(b, "bottom", [])
    for level in range(40):
        at = node(b, f"n{level}", [at])
    b.Finish(at, file_identifier=b"TREE")
    with pytest.raises(DecodeError, match="nesting deeper than 16 levels") as info:
        READER.decode(bytes(b.Output()))
    assert info.value.path.startswith("children[0].children[0].children[0]")
    deep = FlatBufferReader(SCHEMA, {"Leaf": Leaf, "Node": Node}, max_depth=64)
    tree = deep.decode(bytes(b.Output()))
    assert tree.name == "n39" and tree.color == 1  # no enum class: plain int


def test_wrong_identifier_names_the_schema() -> None:
    b = flatbuffers.Builder(0)
    b.Finish(node(b, "x", []), file_identifier=b"ET12")
    with pytest.raises(DecodeError, match="expected the file identifier 'TREE'"):
        READER.decode(bytes(b.Output()))
