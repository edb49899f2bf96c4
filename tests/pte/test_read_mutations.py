"""Damaged input: every mutation of a corpus file decodes or raises DecodeError,
quickly and in bounded memory; nothing else escapes, nothing hangs.

Mutations: flipped bytes, truncation, offset fields pointed out of range,
at themselves or anywhere, vtables with absurd sizes and field offsets, and
.pte and .ptd headers and segment tables that lie.
"""

from __future__ import annotations

import signal
import struct
import time
import tracemalloc
from typing import Any, Callable, Iterator, List, Set

import pytest
from hypothesis import given, settings, strategies as st

import pte_encoder as pe
from helpers import CORPUS, CORPUS_CASES, ROOT
from pte_encoder.engine.codec import Codec
from pte_encoder.engine.reader import _Session
from pte_encoder.schemas.flat_tensor.codec import FLAT_TENSOR
from pte_encoder.schemas.program.codec import PROGRAM
from pte_encoder.views.summary import (format_data_summary, format_summary, summarize,
                                 summarize_data_file)

FLATBUFFERS = [(CORPUS / c / name).read_bytes() for c in CORPUS_CASES
               for name in ("flatbuffer.bin", "flatbuffer-flatbuffers.bin")]
PTE_FILES = [(CORPUS / c / name).read_bytes() for c in CORPUS_CASES
             for name in ("expected.pte", "expected-flatbuffers.pte")]
PTD_FILES = [p.read_bytes() for p in sorted((ROOT / "tests" / "data" / "corpus-ptd").glob("*/*.ptd"))]
TIME_LIMIT = 2.0  # seconds per decode; a corpus file decodes in about a millisecond


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang()


def decodes_or_refuses(decode: Callable[[bytes], Any], data: bytes) -> None:
    """The property: a result or DecodeError, in bounded time."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)  # a guard: a hang fails the test instead of stalling the suite
    start = time.perf_counter()
    try:
        decode(data)
    except pe.DecodeError as exc:
        assert str(exc) and "\n" not in str(exc)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.perf_counter() - start < TIME_LIMIT


def decode_pte_and_summarize(data: bytes) -> None:
    format_summary("file.pte", summarize(pe.decode_program(data)))


def decode_ptd_and_summarize(data: bytes) -> None:
    format_data_summary("file.ptd", summarize_data_file(pe.analyze_data_file(data)))


def vtables(data: bytes, size: int, codec: Codec = PROGRAM) -> List[int]:
    """Where the vtables a decode meets are (read from the decoder's table readers)."""
    session = _Session(codec.reader(), memoryview(data), size)
    session.root()
    found: Set[int] = set()
    for readers in session.table_readers.values():
        found.update(key >> 3 for key in readers)  # keys: vtable position << 3 | table position % 8
    return sorted(found)


def program_size(data: bytes) -> int:
    return struct.unpack_from("<Q", data, 16)[0] if data[8:12] == b"eh00" else len(data)


def flatbuffer_end(data: bytes) -> int:
    """Where a .ptd's FlatBuffer ends (its FH01 header's offset plus size)."""
    return sum(struct.unpack_from("<QQ", data, 16))


VTABLES = [vtables(d, len(d)) for d in FLATBUFFERS]
PTE_VTABLES = [vtables(d, program_size(d)) for d in PTE_FILES]
PTD_VTABLES = [vtables(d, flatbuffer_end(d), FLAT_TENSOR) for d in PTD_FILES]

U32 = st.one_of(st.sampled_from([0, 1, 2, 3, 4, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFC]),
                st.integers(0, 2**32 - 1), st.integers(0, 8192))
U16 = st.one_of(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 0x7FFF, 0xFFFE, 0xFFFF]),
                st.integers(0, 2**16 - 1))
U64 = st.one_of(st.sampled_from([0, 1, 8, 2**31, 2**32, 2**63, 2**64 - 1]),
                st.integers(0, 2**64 - 1), st.integers(0, 20000))


def flipped(data: bytes, flips: List[Any]) -> bytes:
    out = bytearray(data)
    for at, mask in flips:
        out[at % len(out)] ^= mask
    return bytes(out)


# -- FlatBuffers ---------------------------------------------------------------

@given(st.sampled_from(range(len(FLATBUFFERS))),
       st.lists(st.tuples(st.integers(0, 2**20), st.integers(1, 255)), min_size=1, max_size=8))
def test_flipped_bytes(index: int, flips: List[Any]) -> None:
    decodes_or_refuses(pe.decode_flatbuffer, flipped(FLATBUFFERS[index], flips))


@given(st.sampled_from(range(len(FLATBUFFERS))), st.integers(0, 2**20))
def test_truncated(index: int, cut: int) -> None:
    data = FLATBUFFERS[index]
    decodes_or_refuses(pe.decode_flatbuffer, data[:cut % len(data)])


@given(st.sampled_from(range(len(FLATBUFFERS))), st.integers(0, 2**20),
       st.sampled_from(["zero", "self", "past end", "end", "any"]), U32)
def test_offset_fields_pointed_anywhere(index: int, word: int, how: str, value: int) -> None:
    """Any aligned word (offsets among them) set to 0 (itself), out of range, or anything."""
    data = bytearray(FLATBUFFERS[index])
    at = (word * 4) % len(data)
    target = {"zero": 0, "self": 0, "past end": len(data) - at + value % 64,
              "end": len(data) - at - 4, "any": value}[how]
    struct.pack_into("<I", data, at, target % 2**32)
    decodes_or_refuses(pe.decode_flatbuffer, bytes(data))


@given(st.sampled_from(range(len(FLATBUFFERS))), st.integers(0, 2**20),
       st.integers(0, 40), U16)
def test_vtables_with_absurd_sizes_and_offsets(index: int, which: int, entry: int,
                                               value: int) -> None:
    """A vtable's size, its table's size, or one of its field offsets set to anything."""
    data = bytearray(FLATBUFFERS[index])
    vts = VTABLES[index]
    at = vts[which % len(vts)] + 2 * entry
    if at + 2 <= len(data):
        struct.pack_into("<H", data, at, value)
    decodes_or_refuses(pe.decode_flatbuffer, bytes(data))


@given(st.sampled_from(range(len(FLATBUFFERS))), st.integers(0, 2**20),
       st.integers(-2**31, 2**31 - 1))
def test_tables_pointing_at_any_vtable(index: int, word: int, soffset: int) -> None:
    data = bytearray(FLATBUFFERS[index])
    at = (word * 4) % len(data)
    struct.pack_into("<i", data, at, soffset)
    decodes_or_refuses(pe.decode_flatbuffer, bytes(data))


# -- whole .pte files ----------------------------------------------------------

@given(st.sampled_from(range(len(PTE_FILES))),
       st.lists(st.tuples(st.integers(0, 2**20), st.integers(1, 255)), min_size=1, max_size=8))
def test_pte_flipped_bytes(index: int, flips: List[Any]) -> None:
    decodes_or_refuses(decode_pte_and_summarize, flipped(PTE_FILES[index], flips))


@given(st.sampled_from(range(len(PTE_FILES))), st.integers(0, 2**20))
def test_pte_truncated(index: int, cut: int) -> None:
    data = PTE_FILES[index]
    decodes_or_refuses(decode_pte_and_summarize, data[:cut % len(data)])


@given(st.sampled_from(range(len(PTE_FILES))),
       st.sampled_from([(12, "<I"), (16, "<Q"), (24, "<Q"), (32, "<Q")]), U64)
def test_pte_headers_that_lie(index: int, field: Any, value: int) -> None:
    """The extended header's length, program size, segment base or data size."""
    data = bytearray(PTE_FILES[index])
    at, fmt = field
    struct.pack_into(fmt, data, at, value % (2**32 if fmt == "<I" else 2**64))
    decodes_or_refuses(decode_pte_and_summarize, bytes(data))


def _u64_fields(data: bytes) -> Iterator[int]:
    """Positions of the segment table's and subsegment offsets' 64-bit words."""
    stored = pe.decode_program(data).stored
    assert stored is not None
    values = {s.offset for s in stored.segments or []} | {s.size for s in stored.segments or []}
    if stored.constant_segment:
        values |= set(stored.constant_segment.offsets or [])
    for at in range(40, program_size(data) - 8, 8):
        if struct.unpack_from("<Q", data, at)[0] in values:
            yield at


PTE_U64 = [list(_u64_fields(d)) for d in PTE_FILES]


@given(st.sampled_from(range(len(PTE_FILES))), st.integers(0, 2**20), U64)
def test_pte_segment_tables_that_lie(index: int, which: int, value: int) -> None:
    """Segment offsets and sizes, constant offsets: set to anything."""
    fields = PTE_U64[index]
    data = bytearray(PTE_FILES[index])
    if fields:
        struct.pack_into("<Q", data, fields[which % len(fields)], value)
    decodes_or_refuses(decode_pte_and_summarize, bytes(data))


@given(st.sampled_from(range(len(PTE_FILES))), st.integers(0, 2**20),
       st.integers(0, 40), U16)
def test_pte_vtables(index: int, which: int, entry: int, value: int) -> None:
    data = bytearray(PTE_FILES[index])
    vts = PTE_VTABLES[index]
    at = vts[which % len(vts)] + 2 * entry
    if at + 2 <= len(data):
        struct.pack_into("<H", data, at, value)
    decodes_or_refuses(decode_pte_and_summarize, bytes(data))


# -- whole .ptd files ----------------------------------------------------------

@given(st.sampled_from(range(len(PTD_FILES))),
       st.lists(st.tuples(st.integers(0, 2**20), st.integers(1, 255)), min_size=1, max_size=8))
def test_ptd_flipped_bytes(index: int, flips: List[Any]) -> None:
    decodes_or_refuses(decode_ptd_and_summarize, flipped(PTD_FILES[index], flips))


@given(st.sampled_from(range(len(PTD_FILES))), st.integers(0, 2**20))
def test_ptd_truncated(index: int, cut: int) -> None:
    data = PTD_FILES[index]
    decodes_or_refuses(decode_ptd_and_summarize, data[:cut % len(data)])


@given(st.sampled_from(range(len(PTD_FILES))),
       st.sampled_from([(12, "<I"), (16, "<Q"), (24, "<Q"), (32, "<Q"), (40, "<Q")]), U64)
def test_ptd_headers_that_lie(index: int, field: Any, value: int) -> None:
    """The FH01 header's length, FlatBuffer offset and size, segment base or data size."""
    data = bytearray(PTD_FILES[index])
    at, fmt = field
    struct.pack_into(fmt, data, at, value % (2**32 if fmt == "<I" else 2**64))
    decodes_or_refuses(decode_ptd_and_summarize, bytes(data))


def _ptd_u64_fields(data: bytes) -> List[int]:
    """Positions of the segment table's 64-bit words (offsets and sizes)."""
    stored = pe.analyze_data_file(data).stored
    values = {s.offset for s in stored.segments or []} | {s.size for s in stored.segments or []}
    return [at for at in range(56, flatbuffer_end(data) - 8, 8)
            if struct.unpack_from("<Q", data, at)[0] in values]


PTD_U64 = [_ptd_u64_fields(d) for d in PTD_FILES]


@given(st.sampled_from(range(len(PTD_FILES))), st.integers(0, 2**20), U64)
def test_ptd_segment_tables_that_lie(index: int, which: int, value: int) -> None:
    fields = PTD_U64[index]
    data = bytearray(PTD_FILES[index])
    if fields:
        struct.pack_into("<Q", data, fields[which % len(fields)], value)
    decodes_or_refuses(decode_ptd_and_summarize, bytes(data))


@given(st.sampled_from(range(len(PTD_FILES))), st.integers(0, 2**20), st.integers(0, 20),
       st.sampled_from(["zero", "self", "past end", "any"]), U32)
def test_ptd_offsets_pointed_anywhere(index: int, word: int, entry: int, how: str,
                                      value: int) -> None:
    """Any aligned word of the FlatBuffer (offsets among them), and the vtables' entries."""
    data = bytearray(PTD_FILES[index])
    end = flatbuffer_end(data)
    at = 56 + (word * 4) % (end - 56)
    target = {"zero": 0, "self": 0, "past end": end - at + value % 64, "any": value}[how]
    struct.pack_into("<I", data, at, target % 2**32)
    vts = PTD_VTABLES[index]
    vt = vts[word % len(vts)] + 2 * entry
    if vt + 2 <= end:
        struct.pack_into("<H", data, vt, value % 2**16)
    decodes_or_refuses(decode_ptd_and_summarize, bytes(data))


def test_ptd_mutations_reach_the_checks() -> None:
    """The .ptd mutations do get refused: a damaged vtable, a lying header."""
    data = PTD_FILES[-1]
    decode_ptd_and_summarize(data)
    bad = bytearray(data)
    struct.pack_into("<H", bad, PTD_VTABLES[-1][0], 3)
    with pytest.raises(pe.DecodeError, match="has size 3: expected an even size"):
        pe.decode_data_file(bytes(bad))
    assert PTD_U64[-1]
    bad = bytearray(data)
    struct.pack_into("<Q", bad, PTD_U64[-1][0], 2**40)
    with pytest.raises(pe.DecodeError, match="run past"):
        pe.decode_data_file(bytes(bad))


# -- memory --------------------------------------------------------------------

@settings(max_examples=30)
@given(st.sampled_from(range(len(FLATBUFFERS))),
       st.lists(st.tuples(st.integers(0, 2**20), st.integers(1, 255)), min_size=1, max_size=4))
def test_memory_stays_bounded(index: int, flips: List[Any]) -> None:
    data = flipped(FLATBUFFERS[index], flips)
    tracemalloc.start()
    try:
        pe.decode_flatbuffer(data)
    except pe.DecodeError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # Python objects cost far more than the bytes they come from (an int in a
    # list: 36 bytes for 4 in the buffer); bounded by the buffer size all the same
    assert peak < 200 * len(data) + 1_000_000


def test_mutations_reach_the_checks() -> None:
    """The suite's mutations do get refused (a property that can fail)."""
    data = FLATBUFFERS[0]
    with pytest.raises(pe.DecodeError):
        pe.decode_flatbuffer(data[:len(data) // 2])
    vt = VTABLES[0][0]
    bad = bytearray(data)
    struct.pack_into("<H", bad, vt, 3)
    with pytest.raises(pe.DecodeError, match="has size 3: expected an even size"):
        pe.decode_flatbuffer(bytes(bad))
