"""Reading hostile .bpte files: any corrupt input decodes or raises a
DecodeError naming the place, in bounded time and memory (ExecuTorch's
reader, flatc, may print garbage or crash on them)."""

from __future__ import annotations

import random
import struct
import time
import tracemalloc
from pathlib import Path
from typing import List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pte_encoder as pe
from bundled_helpers import CASES, CORPUS_BUNDLED, EXPECTED
from pte_encoder.formats.bundled.read import infer_layout

FILES = [(CORPUS_BUNDLED / case / name).read_bytes() for case in CASES for name in sorted(EXPECTED.values())]


def _mutated(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    how = rng.random()
    if how < 0.45:  # a few bytes changed, mostly in the tables before the program
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(min(len(out), 800) if rng.random() < 0.7 else len(out))] = rng.randrange(256)
    elif how < 0.65:  # cut short
        del out[rng.randrange(len(out)):]
    else:  # a 32-bit word (an offset, a length) set to something else
        at = rng.randrange(0, min(len(out), 900) - 4) & ~3
        word = rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, rng.randrange(2**32), len(out), len(out) - at])
        out[at:at + 4] = struct.pack("<I", word)
    return bytes(out)


def test_corrupted_corpus_files_decode_or_raise_decode_error_quickly() -> None:
    rng = random.Random(20)
    outcomes = {"decoded": 0, "refused": 0}
    slowest = 0.0
    for _ in range(3000):
        data = _mutated(rng, rng.choice(FILES))
        start = time.perf_counter()
        try:
            bundled = pe.decode_bundled_program(data)
        except pe.DecodeError as exc:
            assert str(exc) and "\n" not in str(exc)
            outcomes["refused"] += 1
        else:
            outcomes["decoded"] += 1
            infer_layout(data, bundled)  # and whatever decoded can be laid out again or not
        slowest = max(slowest, time.perf_counter() - start)
    assert outcomes["decoded"] > 100 and outcomes["refused"] > 100, outcomes
    assert slowest < 0.5, slowest  # a bound far above the few milliseconds each takes


@settings(max_examples=200)
@given(st.sampled_from(range(len(FILES))), st.lists(st.tuples(st.integers(0, 2**16), st.integers(0, 255)),
                                                    min_size=1, max_size=6))
def test_memory_stays_bounded(index: int, changes: List[tuple]) -> None:
    data = bytearray(FILES[index])
    for at, value in changes:
        data[at % len(data)] = value
    tracemalloc.start()
    try:
        pe.decode_bundled_program(bytes(data))
    except pe.DecodeError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 200 * len(data) + 1_000_000


def test_what_is_not_a_bundled_program_is_refused(tmp_path: Path) -> None:
    pte = (CORPUS_BUNDLED / "mlp" / "program.pte").read_bytes()
    with pytest.raises(pe.DecodeError, match=r"^BundledProgram: expected the file identifier 'BP08', "
                                             r"got b'ET12' \(at byte 4\)$"):
        pe.decode_bundled_program(pte)
    with pytest.raises(pe.DecodeError, match=r"at least 8 bytes, got 3"):
        pe.decode_bundled_program(b"BP0")
    empty = tmp_path / "empty.bpte"
    empty.write_bytes(b"")
    with pytest.raises(pe.DecodeError, match="the file is empty"):
        pe.read_bundled_program(empty)
    with pytest.raises(OSError):
        pe.read_bundled_program(tmp_path / "missing.bpte")


def test_errors_name_the_place() -> None:
    data = bytearray(FILES[0])
    struct.pack_into("<I", data, 0, len(data) + 100)  # the root offset past the end
    with pytest.raises(pe.DecodeError, match=r"^BundledProgram: a BundledProgram table at \d+: expected "
                                             r"a 4-byte aligned position inside the buffer"):
        pe.decode_bundled_program(bytes(data))
    data = bytearray(FILES[0])
    data[-1] = 1  # the NUL after the last string (a method's name)
    with pytest.raises(pe.DecodeError, match=r"^method_test_suites\[0\]\.method_name: .* lacks its "
                                             r"terminating NUL"):
        pe.decode_bundled_program(bytes(data))


def test_the_layout_is_inferred() -> None:
    for case in CASES:
        for layout, name in EXPECTED.items():
            data = (CORPUS_BUNDLED / case / name).read_bytes()
            assert infer_layout(data) == layout
    changed = bytearray(FILES[0])
    changed[12] = 1  # padding after the identifier: still the same bundled program, in no writer's layout
    assert pe.decode_bundled_program(bytes(changed)).version == 2
    assert infer_layout(bytes(changed)) is None
