"""Big bundled programs: a 1 GiB file-backed program streams through
write_bundled_program in bounded memory, and one that would make the
FlatBuffer exceed 2 GiB is refused before anything is written (sparse files:
making them costs nothing, and nothing here allocates gigabytes)."""

from __future__ import annotations

import gc
import mmap
import tracemalloc
import zlib
from pathlib import Path
from typing import Any, Callable

import pytest

import executorch_mirror as et
import pte_encoder as pe

B = pe.bundled
GIB = 1 << 30
LIMIT = 2**31 - 1  # the largest FlatBuffer (offsets are signed 32-bit)


def _peak(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def _bundled(program: Any, data_bytes: int = 64) -> Any:
    tensor = B.Tensor(B.ScalarType.FLOAT, [data_bytes // 4], bytes(range(256)) * (data_bytes // 256)
                      + bytes(data_bytes % 256), b"\0")
    return B.BundledProgram(2, [B.BundledMethodTestSuite("forward", [
        B.BundledMethodTestCase([B.Value(tensor), B.Value(B.Int(3))], [B.Value(tensor)])])], program)


class _HashingSink:
    """A binary file object that keeps only a checksum of what it is given."""

    def __init__(self) -> None:
        self.crc = 0
        self.size = 0

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.crc = zlib.crc32(view, self.crc)
        self.size += view.nbytes
        return view.nbytes


@pytest.mark.parametrize("layout", ["flatc", "flatbuffers"])
def test_a_1_gib_file_backed_program_streams_in_bounded_memory(layout: str, tmp_path: Path) -> None:
    program = _sparse(tmp_path / "program.pte", GIB)
    with open(program, "r+b") as f:  # some bytes that are not zero, at both ends
        f.write(b"ET12 start")
        f.seek(GIB - 3)
        f.write(b"end")
    bundled = _bundled(pe.FileData(program))
    sink = _HashingSink()
    written = [0]
    peak = _peak(lambda: written.__setitem__(0, pe.write_bundled_program(bundled, sink, layout=layout)))  # type: ignore[arg-type]
    assert peak < 32 << 20, peak
    assert written[0] == sink.size > GIB
    # the same bytes as the program given as a view of the file mapped (not read)
    with open(program, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        mapped_sink = _HashingSink()
        pe.write_bundled_program(_bundled(view), mapped_sink, layout=layout)  # type: ignore[arg-type]
        view.release()
    assert mapped_sink.size == sink.size and mapped_sink.crc == sink.crc


def test_a_big_program_streams_to_a_path_and_reads_back_mapped(tmp_path: Path) -> None:
    size = 256 << 20  # (a path's file is flushed to disk: 1 GiB would take long)
    program = _sparse(tmp_path / "program.pte", size)
    with open(program, "r+b") as f:
        f.seek(size - 8)
        f.write(b"the end.")
    target = tmp_path / "big.bpte"
    written = [0]
    peak = _peak(lambda: written.__setitem__(0, pe.write_bundled_program(_bundled(pe.FileData(program)), target)))
    assert peak < 32 << 20, peak
    assert target.stat().st_size == written[0]
    back = pe.read_bundled_program(target)
    assert isinstance(back.program, memoryview) and len(back.program) == size
    assert back.program[-8:] == b"the end." and back.program[:8] == bytes(8)
    assert back.method_test_suites[0].test_cases[0].inputs[1].val == B.Int(3)  # type: ignore[index]


@pytest.mark.parametrize("backed", ["FileData", "FileBackedData"])
def test_over_2_gib_is_refused_before_anything_is_written(backed: str, tmp_path: Path) -> None:
    # the program alone fits; with the test data the FlatBuffer does not
    program = _sparse(tmp_path / "program.pte", LIMIT - 1000)
    blob: Any = pe.FileData(program) if backed == "FileData" else et.FileBackedData(str(program))
    bundled = _bundled(blob, data_bytes=4096)
    target = tmp_path / "out.bpte"
    target.write_bytes(b"old")
    sink = _HashingSink()
    for call in (lambda: pe.write_bundled_program(bundled, target),
                 lambda: pe.write_bundled_program(bundled, sink),  # type: ignore[arg-type]
                 lambda: pe.encode_bundled_program(bundled)):
        errors = []

        def attempt() -> None:
            try:
                call()
            except pe.EncodeError as exc:
                errors.append(exc)

        assert _peak(attempt) < 1 << 20
        assert len(errors) == 1
        error = errors[0]
        size = error.value
        assert isinstance(size, int) and size > LIMIT
        assert str(error) == (f"bundled_program: the FlatBuffer would be {size} bytes, over the "
                              f"format's limit of {LIMIT}")
        assert error.expected == f"at most {LIMIT} bytes"
    assert target.read_bytes() == b"old" and sink.size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bpte", "program.pte"]


def test_a_program_over_2_gib_is_named(tmp_path: Path) -> None:
    program = _sparse(tmp_path / "program.pte", 1 << 31)
    with pytest.raises(pe.EncodeError) as info:
        pe.write_bundled_program(_bundled(pe.FileData(program)), tmp_path / "out.bpte")
    assert str(info.value) == f"program: expected at most {LIMIT} bytes (the FlatBuffer limit), got {1 << 31} bytes"
    assert info.value.path == "program"
    assert not (tmp_path / "out.bpte").exists()
