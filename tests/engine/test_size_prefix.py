"""Size-prefixed FlatBuffers (a uint32 byte count before the root offset), as
the FlatBuffers runtime's Builder.FinishSizePrefixed, flatc --size-prefixed and
flatcc write them: the reader takes them with ``size_prefixed=True``, counts
alignment from the prefix's first byte, and wants the prefix to give exactly
the bytes that follow it."""

from __future__ import annotations

import struct

import flatbuffers
import pytest

from pte_encoder import DecodeError
from test_reader_generic import READER, Leaf, node


def prefixed_tree() -> bytes:
    b = flatbuffers.Builder(0)
    leaf = node(b, "leaf", [], color=7, leaf_weight=2.25, ticks=[-3, 4])
    b.FinishSizePrefixed(node(b, "root", [leaf]), file_identifier=b"TREE")
    return bytes(b.Output())


def test_a_size_prefixed_buffer_reads_back() -> None:
    data = prefixed_tree()
    assert struct.unpack_from("<I", data)[0] == len(data) - 4
    tree = READER.decode(data, size_prefixed=True)
    assert tree.name == "root" and tree.children[0].payload == Leaf(2.25)
    assert tree.children[0].ticks == [-3, 4]
    # followed by other bytes: give the prefixed buffer's size
    assert READER.decode(data + b"\0" * 8, size=len(data), size_prefixed=True) == tree


def test_read_without_its_prefix_it_is_a_plain_buffer_or_refused() -> None:
    data = prefixed_tree()
    with pytest.raises(DecodeError, match="expected the file identifier 'TREE'"):
        READER.decode(data)  # the prefix read as the root offset
    # Without the prefix, the 8-byte field counts from another start: its
    # alignment counted from the prefix is what every writer guarantees.
    with pytest.raises(DecodeError, match="not 8-byte aligned"):
        READER.decode(data[4:])


def test_a_plain_buffer_read_as_prefixed_is_refused() -> None:
    b = flatbuffers.Builder(0)
    b.Finish(node(b, "x", []), file_identifier=b"TREE")
    with pytest.raises(DecodeError, match="the size prefix gives"):
        READER.decode(bytes(b.Output()), size_prefixed=True)


@pytest.mark.parametrize("delta", [-4, -1, 1, 4, 2**31])
def test_the_prefix_must_give_exactly_the_bytes_after_it(delta: int) -> None:
    data = bytearray(prefixed_tree())
    declared = (len(data) - 4 + delta) % 2**32
    struct.pack_into("<I", data, 0, declared)
    with pytest.raises(DecodeError, match=f"the size prefix gives {declared} bytes after it, "
                                          f"but {len(data) - 4} follow") as info:
        READER.decode(data, size_prefixed=True)
    assert info.value.offset == 0


def test_trailing_bytes_after_a_prefixed_buffer_are_refused() -> None:
    with pytest.raises(DecodeError, match="the size prefix gives"):
        READER.decode(prefixed_tree() + bytes(8), size_prefixed=True)


@pytest.mark.parametrize("size", [0, 4, 11])
def test_too_short_for_a_prefix_root_offset_and_identifier(size: int) -> None:
    data = struct.pack("<I", max(size - 4, 0)).ljust(size, b"\0")[:size]
    with pytest.raises(DecodeError, match=f"a size-prefixed FlatBuffer is at least 12 bytes, got {size}"):
        READER.decode(data, size_prefixed=True)


def test_a_vtable_inside_the_prefix_is_refused() -> None:
    data = bytearray(prefixed_tree())
    root = 4 + struct.unpack_from("<I", data, 4)[0]
    struct.pack_into("<i", data, root, root - 2)  # the root's vtable at byte 2
    with pytest.raises(DecodeError, match="vtable offset points to 2, outside the buffer"):
        READER.decode(data, size_prefixed=True)


def test_a_zero_root_offset_after_the_prefix_is_refused() -> None:
    data = bytearray(prefixed_tree())
    struct.pack_into("<I", data, 4, 0)
    with pytest.raises(DecodeError, match="the root offset is 0") as info:
        READER.decode(data, size_prefixed=True)
    assert info.value.offset == 4
