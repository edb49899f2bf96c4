""".ptd reading: the corpus decodes to the payloads ExecuTorch was given, blobs are
views, alignments are inferred as ExecuTorch's writer places segments, bad
files raise DecodeError, and encoding the decoded payload gives back the file."""

from __future__ import annotations

import base64
import json
import math
import struct
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import given, strategies as st

import pte_encoder as pe
from helpers import ROOT
from pte_encoder.schemas.flat_tensor import model as ft
from pte_encoder.schemas.flat_tensor.codec import FLAT_TENSOR
from pte_encoder.formats.ptd.header import DataFileHeader
from pte_encoder.formats.ptd.read import _infer_alignments

CORPUS_PTD = ROOT / "tests" / "data" / "corpus-ptd"
PTD_CASES = sorted(p.name for p in CORPUS_PTD.iterdir() if p.is_dir())

encode_data_file = getattr(pe, "encode_data_file", None)
needs_writer = pytest.mark.skipif(encode_data_file is None,
                                  reason="the .ptd writer (encode_data_file) is not here yet")


def corpus(case: str) -> Tuple[bytes, Dict[str, Any]]:
    folder = CORPUS_PTD / case
    return (folder / "expected.ptd").read_bytes(), json.loads((folder / "payload.json").read_text())


def aligned(offset: int, alignment: int) -> int:
    return offset + -offset % alignment


def placement(sizes: List[int], alignments: List[int], segment_alignment: int,
              flatbuffer_end: int) -> Tuple[List[int], int]:
    """Where ExecuTorch 1.5.1's FlatTensorSerializer.serialize puts each segment
    (offsets from the segment base), and the segment base offset."""
    offsets, end = [], 0
    for size, alignment in zip(sizes, alignments):
        offsets.append(aligned(end, math.lcm(segment_alignment, alignment)))
        end = offsets[-1] + size
    return offsets, aligned(flatbuffer_end, segment_alignment)


def container(flat: ft.FlatTensor, region: bytes, segment_alignment: int = 128) -> bytes:
    """A .ptd around ``flat`` (made by the flat tensor codec) and the segment
    data ``region``, laid out as ExecuTorch lays it out: for the bad files
    the writer would never write."""
    fb = FLAT_TENSOR.encode(flat)
    base = aligned(len(fb) + 48, segment_alignment)
    header = struct.pack("<4sIQQQQ", b"FH01", 40, 48, len(fb), base, len(region)).ljust(48, b"\0")
    root = struct.unpack_from("<I", fb)[0] + 48
    head = struct.pack("<I", root) + fb[4:8] + header + fb[8:]
    return head.ljust(base, b"\0") + region


def layout(raw: Optional[Dict[str, Any]]) -> Any:
    if raw is None:
        return None
    return (int(raw["scalar_type"]), list(raw["sizes"]), list(raw["dim_order"]))


# -- the corpus ------------------------------------------------------------------

@pytest.mark.parametrize("case", PTD_CASES)
def test_corpus_decodes_to_the_payload(case: str) -> None:
    data, payload = corpus(case)
    decoded = pe.decode_data_file(data)
    blobs = [base64.b64decode(b) for b in payload["buffers"]]
    # ExecuTorch: buffer i is segment i, one segment per buffer a key names
    named = list(payload["named_data"].items())
    used = list(dict.fromkeys(entry["buffer_index"] for _key, entry in named))
    assert [bytes(b) for b in decoded.buffers] == [blobs[i] for i in used]
    assert list(decoded.named_data) == [key for key, _entry in named]
    for key, entry in named:
        got = decoded.named_data[key]
        assert got.buffer_index == used.index(entry["buffer_index"])
        ours = got.tensor_layout
        assert (None if ours is None else (int(ours.scalar_type), list(ours.sizes),
                                           list(ours.dim_order))) == layout(entry["tensor_layout"])
        # the file keeps no alignment; what is inferred places the segment the same
        assert math.lcm(128, got.alignment) == math.lcm(payload["segment_alignment"],
                                                         entry["alignment"])


def test_tensor_layouts_use_the_program_scalar_type() -> None:
    entry = pe.decode_data_file(corpus("one")[0]).named_data["w"]
    assert entry.tensor_layout is not None
    assert entry.tensor_layout.scalar_type is pe.ScalarType.FLOAT
    assert entry.tensor_layout.sizes == [3, 4] and entry.tensor_layout.dim_order == [0, 1]


def test_blobs_are_views_of_the_input() -> None:
    data = bytearray(corpus("one")[0])
    payload = pe.decode_data_file(data)
    blob = payload.buffers[0]
    assert isinstance(blob, memoryview) and blob.obj is data
    data[256] = 0xAB
    assert blob[0] == 0xAB


def test_read_data_file_maps_the_file(tmp_path: Path) -> None:
    data = corpus("two_linear")[0]
    path = tmp_path / "w.ptd"
    path.write_bytes(data)
    payload = pe.read_data_file(path)
    assert payload == pe.decode_data_file(data)
    assert type(payload.buffers[0].obj).__name__ == "mmap"
    empty = tmp_path / "empty.ptd"
    empty.write_bytes(b"")
    with pytest.raises(pe.DecodeError, match="the file is empty"):
        pe.read_data_file(empty)


def _through_a_fifo(tmp_path: Path, data: bytes, read: Any) -> Any:
    import os
    import threading
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as out:
            out.write(data)
    writer = threading.Thread(target=feed)
    writer.start()
    try:
        return read(fifo)
    finally:
        writer.join()


def test_files_that_cannot_be_mapped_are_read(tmp_path: Path) -> None:
    """A pipe (`<(cat x.ptd)`, /dev/stdin) is read whole; nothing in it is
    still "the file is empty"."""
    data = corpus("two_linear")[0]
    assert _through_a_fifo(tmp_path, data, pe.read_data_file) == pe.decode_data_file(data)
    pte = (ROOT / "tests" / "data" / "corpus" / "conv" / "expected.pte").read_bytes()
    (tmp_path / "fifo").unlink()
    assert _through_a_fifo(tmp_path, pte, pe.read_program).program == pe.decode_program(pte).program
    (tmp_path / "fifo").unlink()
    with pytest.raises(pe.DecodeError, match="the file is empty"):
        _through_a_fifo(tmp_path, b"", pe.read_data_file)


def test_analyze_gives_the_layout() -> None:
    f = pe.analyze_data_file(corpus("two_linear")[0])
    assert f.segment_alignment == 128 and f.size == 1424
    assert f.header.segment_base_offset == 512 and f.header.flatbuffer_size == 456
    assert f.segment_keys == [["a.weight"], ["a.bias"], ["b.weight"], ["b.bias"]]
    assert [s.offset for s in f.stored.segments or []] == [0, 512, 640, 896]


# -- alignments: inferred as the writer places segments ---------------------------------

POWERS = st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096, 65536, 2**32])
SMALL_POWERS = st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096, 65536])


@given(st.lists(st.tuples(st.integers(0, 5000), POWERS), max_size=6), POWERS,
       st.integers(8, 5000))
def test_inferred_alignments_place_segments_as_written(segments: List[Tuple[int, int]],
                                                       segment_alignment: int, end: int) -> None:
    sizes = [size for size, _a in segments]
    offsets, base = placement(sizes, [a for _s, a in segments], segment_alignment, end)
    header = DataFileHeader(40, 48, end - 48, base, 0) if end >= 56 else None
    if header is None:
        return
    stored = [ft.DataSegment(offset=o, size=s) for o, s in zip(offsets, sizes)]
    inferred, entries = _infer_alignments(header, stored)
    assert placement(sizes, entries, inferred, end) == (offsets, base)
    if segment_alignment == 128:
        assert inferred == 128  # ExecuTorch's default is kept when it fits
    assert all(e == 1 or e > inferred for e in entries)  # the smallest that fits


def test_alignments_beyond_the_segment_alignment() -> None:
    header = DataFileHeader(40, 48, 100, 256, 0)
    stored = [ft.DataSegment(offset=0, size=10), ft.DataSegment(offset=4096, size=1)]
    assert _infer_alignments(header, stored) == (128, [1, 4096])


def test_other_segment_alignments() -> None:
    """Not 128: the largest that fits the segment base and every segment."""
    header = DataFileHeader(40, 48, 100, 148, 0)
    stored = [ft.DataSegment(offset=0, size=10), ft.DataSegment(offset=12, size=1)]
    assert _infer_alignments(header, stored) == (4, [1, 1])


def test_a_file_no_alignments_explain() -> None:
    header = DataFileHeader(40, 48, 100, 256, 0)
    stored = [ft.DataSegment(offset=0, size=10), ft.DataSegment(offset=12, size=1)]
    assert _infer_alignments(header, stored) == (128, [1, 1])
    stored = [ft.DataSegment(offset=0, size=10), ft.DataSegment(offset=5, size=1)]
    assert _infer_alignments(header, stored) == (128, [1, 1])  # segments overlap: as ExecuTorch


# -- round trips through the writer ---------------------------------------------------

@needs_writer
@pytest.mark.parametrize("case", PTD_CASES)
def test_corpus_round_trips(case: str) -> None:
    data = corpus(case)[0]
    assert encode_data_file(pe.decode_data_file(data)) == data  # type: ignore[misc]


def payloads() -> st.SearchStrategy[Any]:
    blobs = st.lists(st.binary(max_size=300), min_size=1, max_size=5)
    layouts = st.one_of(st.none(), st.builds(
        lambda t, sizes: pe.TensorLayout(t, sizes, list(range(len(sizes)))),
        st.sampled_from(list(pe.ScalarType)), st.lists(st.integers(0, 9), max_size=4)))
    keys = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)

    def build(buffers: List[bytes], entries: List[Any]) -> Any:
        named = {key: pe.DataEntry(index % len(buffers), alignment, tensor_layout)
                 for key, index, alignment, tensor_layout in entries}
        return pe.DataPayload(buffers=buffers, named_data=named)
    # Entry alignments up to 65536 here: a file aligned to 2**32 is 4 GiB in
    # memory (test_inferred_alignments_place_segments_as_written covers 2**32).
    return st.builds(build, blobs, st.lists(st.tuples(keys, st.integers(0, 4), SMALL_POWERS, layouts),
                                            max_size=6, unique_by=lambda e: e[0]))


@needs_writer
@given(payloads(), st.sampled_from([1, 16, 64, 128, 4096]))
def test_generated_files_round_trip(payload: Any, segment_alignment: int) -> None:
    data = encode_data_file(payload, segment_alignment=segment_alignment)  # type: ignore[misc]
    f = pe.analyze_data_file(data)
    again = encode_data_file(f.payload, segment_alignment=f.segment_alignment)  # type: ignore[misc]
    assert again == data


# -- bad files ----------------------------------------------------------------------

def entry(key: Optional[str], index: int) -> ft.NamedData:
    return ft.NamedData(key=key, segment_index=index, tensor_layout=None)


ONE_SEGMENT = [ft.DataSegment(offset=0, size=4)]


@pytest.mark.parametrize("flat, message", [
    (ft.FlatTensor(version=1, segments=[], named_data=[]), "version: expected at most 0"),
    (ft.FlatTensor(segments=ONE_SEGMENT, named_data=[entry("a", 0), entry("a", 0)]),
     "named_data\\[1\\].key: 'a' is given twice"),
    (ft.FlatTensor(segments=ONE_SEGMENT, named_data=[entry(None, 0)]),
     "named_data\\[0\\].key: missing"),
    (ft.FlatTensor(segments=ONE_SEGMENT, named_data=[entry("a", 1)]),
     "named_data\\[0\\].segment_index: expected a segment index below 1, got 1"),
    (ft.FlatTensor(segments=[ft.DataSegment(offset=2, size=4)], named_data=[]),
     "segments\\[0\\]: 4 bytes at 2 run past the 4 bytes of segment data"),
])
def test_bad_tables(flat: ft.FlatTensor, message: str) -> None:
    data = container(flat, b"abcd")
    with pytest.raises(pe.DecodeError, match=message):
        pe.decode_data_file(data)


def test_the_container_helper_makes_good_files() -> None:
    """The bad files above are bad only where they mean to be."""
    flat = ft.FlatTensor(segments=ONE_SEGMENT, named_data=[entry("a", 0)])
    payload = pe.decode_data_file(container(flat, b"abcd"))
    assert [bytes(b) for b in payload.buffers] == [b"abcd"]
    assert corpus("empty")[0] == container(ft.FlatTensor(version=0, segments=[], named_data=[]), b"")


@pytest.mark.parametrize("at, fmt, value, message", [
    (8, "4s", b"eh00", "header.magic: expected b'FH01'"),
    (12, "I", 39, "header.length: expected 40 to 296"),
    (16, "Q", 8, "header.flatbuffer_offset: expected 40"),
    (24, "Q", 10**6, "header.flatbuffer_size: expected 8 to 256"),
    (32, "Q", 16, "header.segment_base_offset: expected 0 or 200"),
    (40, "Q", 49, "truncated: the header says the file is 305 bytes, it has 304"),
    (32, "Q", 0, "header.segment_base_offset: 0, but the file lists 1 segments"),
    (4, "4s", b"ET12", "FlatTensor: expected the file identifier 'FT01', got b'ET12'"),
])
def test_headers_that_lie(at: int, fmt: str, value: Any, message: str) -> None:
    data = bytearray(corpus("one")[0])
    struct.pack_into("<" + fmt, data, at, value)
    with pytest.raises(pe.DecodeError, match=message):
        pe.decode_data_file(bytes(data))


@pytest.mark.parametrize("cut", [0, 4, 7, 8, 12, 47, 100, 200, 303])
def test_truncated_files(cut: int) -> None:
    with pytest.raises(pe.DecodeError):
        pe.decode_data_file(corpus("one")[0][:cut])


def test_not_bytes() -> None:
    with pytest.raises(pe.DecodeError, match="expected a bytes-like object, got str"):
        pe.decode_data_file("FT01")
