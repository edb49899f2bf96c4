"""Damaged ETDumps: every mutation of a corpus file decodes or raises
DecodeError, quickly and in bounded memory, all the way through what
``inspect`` and ``decode`` do with it (the profile, joined with the program
or not, its text, the JSON form) and through reading its debug tensors.

Mutations: flipped bytes, truncation (with the size prefix made to agree, so
that the damage reaches the tables), a size prefix set to anything, aligned
words (offsets, lengths, vtable offsets) set to anything, vtable entries set
to anything."""

from __future__ import annotations

import signal
import struct
import time
import tracemalloc
from typing import Any, Callable, List

from hypothesis import given, settings, strategies as st

import pte_encoder as pe
import pte_encoder.etdump as etd
from helpers import ROOT

DATA = ROOT / "tests" / "data" / "corpus-etdump"
PATHS = sorted(DATA.glob("*/*.etdp"))
FILES = [p.read_bytes() for p in PATHS]
BUFFERS = [p.with_suffix(".bin").read_bytes() if p.with_suffix(".bin").exists() else b"" for p in PATHS]
PROGRAMS = [pe.read_program(DATA / case / "program.pte").program for case in ("mlp", "xnn_mlp")]
TIME_LIMIT = 2.0  # seconds per file; a corpus file takes well under a millisecond

U32 = st.one_of(st.sampled_from([0, 1, 2, 3, 4, 8, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFC]),
                st.integers(0, 2**32 - 1), st.integers(0, 8192))
U16 = st.one_of(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 8, 0x7FFF, 0xFFFE, 0xFFFF]),
                st.integers(0, 2**16 - 1))
INDEX = st.sampled_from(range(len(FILES)))


class Hang(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Hang()


def everything(data: bytes, buffer: bytes) -> None:
    """What the commands and the API do with a file."""
    dump = pe.decode_etdump(data)
    for program in (None, *PROGRAMS):
        etd.format_profile("x.etdp", etd.summarize_profile(dump, program))
    etd.etdump_to_json(dump)
    for run in dump.run_data or []:
        for event in run.events or []:
            if event.debug_event is not None:
                try:
                    etd.debug_tensors(event.debug_event, buffer)
                except pe.DecodeError as exc:
                    assert str(exc) and "\n" not in str(exc)


def decodes_or_refuses(data: bytes, buffer: bytes = b"") -> None:
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)  # a hang fails the test instead of stalling the suite
    start = time.perf_counter()
    try:
        everything(data, buffer)
    except pe.DecodeError as exc:
        assert str(exc) and "\n" not in str(exc)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert time.perf_counter() - start < TIME_LIMIT


def with_prefix(body: bytes) -> bytes:
    """``body`` (all but a prefix) behind a prefix that agrees with it."""
    return struct.pack("<I", len(body)) + body


def vtables(data: bytes) -> List[int]:
    """Where the file's vtables are: every table's soffset points at one; found
    from the reader's plans, keyed by vtable position << 3 | table position % 8."""
    from pte_encoder.engine.reader import _Session
    from pte_encoder.schemas.etdump.codec import ETDUMP
    session = _Session(ETDUMP.reader(), memoryview(data), len(data), 4)
    session.root()
    return sorted({key >> 3 for plans in session.table_readers.values() for key in plans})


VTABLES = [vtables(d) for d in FILES]


@given(INDEX, st.lists(st.tuples(st.integers(0, 2**20), st.integers(1, 255)), min_size=1, max_size=8))
def test_flipped_bytes(index: int, flips: List[Any]) -> None:
    data = bytearray(FILES[index])
    for at, mask in flips:
        data[4 + at % (len(data) - 4)] ^= mask  # past the prefix: the damage reaches the tables
    decodes_or_refuses(bytes(data), BUFFERS[index])


@given(INDEX, st.integers(0, 2**20))
def test_truncated_with_a_prefix_that_agrees(index: int, cut: int) -> None:
    data = FILES[index]
    decodes_or_refuses(with_prefix(data[4:4 + cut % (len(data) - 4)]))


@given(INDEX, U32)
def test_any_size_prefix(index: int, prefix: int) -> None:
    decodes_or_refuses(struct.pack("<I", prefix) + FILES[index][4:])


@given(INDEX, st.integers(0, 2**20), U32)
def test_any_aligned_word_set_to_anything(index: int, word: int, value: int) -> None:
    """Root offset, soffsets, uoffsets, lengths, scalars: every 4-byte word."""
    data = bytearray(FILES[index])
    at = 4 + 4 * (word % ((len(data) - 4) // 4))
    struct.pack_into("<I", data, at, value)
    decodes_or_refuses(bytes(data), BUFFERS[index])


@given(INDEX, st.integers(0, 2**20), st.integers(0, 12), U16)
def test_vtable_entries_set_to_anything(index: int, which: int, entry: int, value: int) -> None:
    data = bytearray(FILES[index])
    at = VTABLES[index][which % len(VTABLES[index])] + 2 * entry
    if at + 2 <= len(data):
        struct.pack_into("<H", data, at, value)
    decodes_or_refuses(bytes(data), BUFFERS[index])


@settings(max_examples=30)
@given(INDEX, st.lists(st.tuples(st.integers(0, 2**20), st.integers(1, 255)), min_size=1, max_size=4))
def test_memory_stays_bounded(index: int, flips: List[Any]) -> None:
    data = bytearray(FILES[index])
    for at, mask in flips:
        data[4 + at % (len(data) - 4)] ^= mask
    tracemalloc.start()
    try:
        everything(bytes(data), BUFFERS[index])
    except pe.DecodeError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 200 * len(data) + 1_000_000


def test_mutations_reach_the_checks() -> None:
    """The mutations above do get refused, deep in the file (a property that can fail)."""
    refused: List[str] = []
    for data in FILES:
        root = 4 + struct.unpack_from("<I", data, 4)[0]
        for mutate in (lambda d: with_prefix(d[4:len(d) // 2]),  # the root's vtable pointed away:
                       lambda d: d[:root] + b"\xff\xff\xff\x7f" + d[root + 4:]):
            try:
                pe.decode_etdump(mutate(data))
            except pe.DecodeError as exc:
                refused.append(exc.path)
    assert len(refused) == 2 * len(FILES)
    assert any(path.startswith("run_data[") for path in refused)


def test_many_mutations_in_bounded_time() -> None:
    """A bulk run over every word of one file, all values that matter."""
    data = FILES[0]
    check: Callable[[bytes], None] = decodes_or_refuses
    for at in range(4, len(data) - 3, 4):
        for value in (0, 1, 4, 0xFFFFFFFF, 0x7FFFFFFF, len(data), len(data) - at):
            mutated = bytearray(data)
            struct.pack_into("<I", mutated, at, value % 2**32)
            check(bytes(mutated))
