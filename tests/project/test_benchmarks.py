"""The benchmark script keeps working (its numbers are not asserted here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import ROOT


def test_quick_benchmark_runs_and_writes_markdown(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick",
                             "--markdown", str(out)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    table = out.read_text()
    for case in ("| mlp |", "| synthetic 10k values |"):
        assert case in table
    assert "geometric mean" in table and "peaks at" in table
    assert "XNNPACK blobs, encode_xnnpack_blob vs ExecuTorch's serialize_xnnpack_binary" in table


def test_regimes_run_on_a_tiny_program(tmp_path: Path) -> None:
    """benchmarks/regimes.py: all three regimes and the import time, on one
    tiny program (encoded and decoded) and one .ptd payload, with the fewest
    repetitions."""
    out = tmp_path / "regimes.md"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "regimes.py"), "--reps", "1",
                             "--only", "tiny, 1 value", "--only", ".ptd corpus two_linear", "--markdown", str(out)],
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    table = out.read_text()
    for label in ("| tiny, 1 value |", "| tiny, 1 value (decode) |", "| .ptd corpus two_linear |"):
        row = next(line for line in table.splitlines() if line.startswith(label))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert len(cells) == 12 and all(cells), row
        assert all(float(cell) > 0 for cell in cells[2:4] + cells[5:7] + cells[8:10]), row
    assert "own import work is" in table and "pte_encoder.schemas.program.model" in table


def test_benchmark_programs_are_byte_identical_to_flatc(tmp_path: Path) -> None:
    """Every program regimes.py times (but the 100k and 1M synthetic ones,
    which run.py checks) encodes as flatc writes it, and every payload as
    ExecuTorch's serializer writes it."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import regimes
        from executorch_paths import FlatcPath
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    flatc = FlatcPath(tmp_path)
    names = [name for name in regimes.PROGRAMS if not name.endswith(("100k values", "1000k values"))]
    assert len(names) == len(regimes.PROGRAMS) - 2
    for name in names:
        program, (tensor, delegate) = regimes.PROGRAMS[name]()
        ours = regimes.pe.encode_flatbuffer(program, constant_tensor_alignment=tensor, delegate_alignment=delegate)
        assert ours == flatc.encode(program, tensor, delegate), name
    # and every payload as ExecuTorch's .ptd serializer (rebuilt) writes it
    writers = regimes.Writers(tmp_path)
    for name in regimes.PAYLOADS:
        ours, theirs = (regimes.prepare("ptd", which, name, writers)() for which in "ab")
        assert ours == theirs, name


def test_executorch_way_back_reads_what_the_reader_reads(tmp_path: Path) -> None:
    """The decoding benchmark's (b): the object API's unpack to dataclasses,
    and deserialize_pte_binary rebuilt around it, give decode_flatbuffer's and
    decode_program's programs (after other object-API users came and went)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from executorch_paths import ObjectApiPath, executorch_deserialize
        from programs import synthetic_program
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    import pte_encoder as pe
    object_api = ObjectApiPath(tmp_path)
    ObjectApiPath(tmp_path)  # a second one, as the benchmark makes: the first still decodes
    program = synthetic_program(1000)
    data = pe.encode_flatbuffer(program)
    assert pe.encode_flatbuffer(object_api.decode(data)) == data
    pte = pe.encode_program(program)
    theirs, ours = executorch_deserialize(pte, object_api.decode), pe.decode_program(pte).program
    # ExecuTorch keeps each constant's padding; decode_program cuts it off
    assert len(theirs.constant_buffer) == len(ours.constant_buffer) > 1
    for mine, padded in zip(ours.constant_buffer, theirs.constant_buffer):
        assert bytes(padded.storage).startswith(bytes(mine.storage))
    theirs.constant_buffer = ours.constant_buffer
    assert pe.encode_flatbuffer(theirs) == pe.encode_flatbuffer(ours)


def test_executorch_pte_follows_executorch(tmp_path: Path) -> None:
    """The benchmark's model of ExecuTorch's segment handling: no header
    without segment data, a header padded to the largest force_align."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from executorch_paths import ObjectApiPath, executorch_pte
        from programs import synthetic_program
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    import pte_encoder as pe
    object_api = ObjectApiPath(tmp_path)
    bare = synthetic_program(20)
    bare.constant_buffer = []
    with_constants = synthetic_program(20)
    with_constants.constant_buffer = [pe.Buffer(b""), pe.Buffer(bytes(range(40)))]
    empty_constants = synthetic_program(20)
    empty_constants.constant_buffer = [pe.Buffer(b"")]
    for program in (bare, with_constants, empty_constants):
        for alignment in (16, 64):
            assert executorch_pte(program, object_api.encode, tensor_alignment=alignment) == \
                pe.encode_program(program, layout="flatbuffers", constant_tensor_alignment=alignment)
