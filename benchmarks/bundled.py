"""Bundled programs (.bpte): pte_encoder against ExecuTorch 1.5.1's writers
and reader, rebuilt in executorch_paths.py, from the same ``bp_schema``
objects (tests/executorch_bundled_mirror.py: its dataclasses, mirrored).

    python benchmarks/bundled.py [--quick]      (run.py runs it too)

Per case: encode_bundled_program(layout="flatbuffers") against ExecuTorch's
default writer (object API + Builder + its packers), encode_bundled_program()
against its legacy path (dataclass JSON + flatc --binary), and
decode_bundled_program against its reader (flatc --json, json, dataclasses);
each pair checked byte for byte (or field by field) as it runs. Then the
memory and time of write_bundled_program with a big file-backed program.
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE), str(HERE.parent / "tests")]

import executorch_bundled_mirror as bp  # noqa: E402
import pte_encoder as pe  # noqa: E402
from executorch_paths import ExecuTorchBundledReader, FlatcBundledPath, ObjectApiBundledPath  # noqa: E402

CORPUS = HERE.parent / "tests" / "data" / "corpus-bundled"
MIB = 1 << 20
# ExecuTorch's legacy writer and its reader print every byte as a JSON
# number: past this size they take minutes, and are left out.
JSON_LIMIT = 2 * MIB

HEADER = ["case", "bytes", "encode ms", "default writer ms", "speed-up", "flatc layout ms",
          "legacy path ms", "speed-up", "decode ms", "reader ms", "speed-up"]


def timed(fn: Callable[[], Any], runs: int) -> float:
    """Median wall time of ``runs`` calls after a warm-up, the collector off (as timeit)."""
    fn()
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    finally:
        gc.enable()
    return statistics.median(times)


def timed_auto(fn: Callable[[], Any]) -> float:
    """As many runs as fit in about two seconds, from 3 to 25."""
    start = time.perf_counter()
    fn()
    return timed(fn, max(3, min(25, int(2.0 / max(time.perf_counter() - start, 1e-6)))))


def synthetic(program_bytes: int, cases: int, inputs: int, tensor_bytes: int, seed: int = 0) -> bp.BundledProgram:
    """A bundled program as ExecuTorch makes one: ``cases`` test cases of
    ``inputs`` float tensors and one expected output, and an Int input."""
    rng = random.Random(seed)

    def tensor() -> bp.Value:
        return bp.Value(bp.Tensor(bp.ScalarType.FLOAT, [2, tensor_bytes // 8], rng.randbytes(tensor_bytes),
                                  [0, 1]))  # type: ignore[list-item]
    suite = bp.BundledMethodTestSuite("forward", [
        bp.BundledMethodTestCase([tensor() for _ in range(inputs)] + [bp.Value(bp.Int(i))], [tensor()])
        for i in range(cases)])
    block = rng.randbytes(min(program_bytes, MIB)) or b"\0"
    return bp.BundledProgram(2, [suite], (block * (program_bytes // len(block) + 1))[:program_bytes])


def cases(quick: bool) -> List[Tuple[str, bp.BundledProgram]]:
    found = [(f"corpus {p.name}", bp.bundled_from_json((p / "bundled.json").read_text()))
             for p in sorted(CORPUS.iterdir()) if p.is_dir()]
    found.append(("200 cases x 9 tensors of 1 KiB, 1 MiB program", synthetic(MIB, 200, 8, 1024)))
    found.append(("1,000 cases x 5 tensors of 256 B", synthetic(64 << 10, 1000, 4, 256)))
    big = 16 if quick else 256
    found.append((f"{big} MiB program, 2 cases x 3 tensors of 64 KiB", synthetic(big * MIB, 2, 2, 64 << 10)))
    return found


def measure(quick: bool) -> Tuple[List[List[str]], List[str]]:
    workdir = Path(tempfile.mkdtemp(prefix="pte-bench-bundled-"))
    default, legacy, reader = ObjectApiBundledPath(workdir), FlatcBundledPath(workdir), ExecuTorchBundledReader(workdir, bp)
    encode, decode = pe.encode_bundled_program, pe.decode_bundled_program
    rows: List[List[str]] = []
    ratios: List[float] = []
    decode_ratios: List[float] = []
    for name, bundled in cases(quick):
        data = encode(bundled, layout="flatbuffers")
        assert data == default.encode(bundled), f"{name}: not byte-identical to the default writer"
        a = timed_auto(lambda: encode(bundled, layout="flatbuffers"))
        b = timed_auto(lambda: default.encode(bundled))
        ratios.append(b / a)
        row = [name, f"{len(data):,}", f"{a * 1e3:.3f}", f"{b * 1e3:.2f}", f"{b / a:.1f}x"]
        c = d = r = t = None
        if len(bundled.program) <= (64 << 10 if quick else JSON_LIMIT):
            flat = encode(bundled)
            assert flat == legacy.encode(bundled), f"{name}: not byte-identical to the legacy path"
            c = timed_auto(lambda: encode(bundled))
            d = timed(lambda: legacy.encode(bundled), 3)
            assert reader.decode(data) == bundled, f"{name}: ExecuTorch's reader does not read the input back"
            r = timed_auto(lambda: decode(data))
            t = timed(lambda: reader.decode(data), 3)
            decode_ratios.append(t / r)
        row += [_ms(c), _ms(d), _ratio(d, c), _ms(r), _ms(t), _ratio(t, r)]
        rows.append(row)
        print(" | ".join(row), flush=True)
    notes = [f"encode_bundled_program(layout='flatbuffers') vs ExecuTorch's default writer: geometric mean "
             f"{statistics.geometric_mean(ratios):.1f}x, slowest case {min(ratios):.1f}x; decode_bundled_program "
             f"vs its reader: slowest case {min(decode_ratios):.0f}x."]
    notes += big_file_notes(16 if quick else 256, default)
    return rows, notes


def _ms(value: Optional[float]) -> str:
    return "-" if value is None else f"{value * 1e3:.3f}" if value < 0.01 else f"{value * 1e3:.1f}"


def _ratio(theirs: Optional[float], ours: Optional[float]) -> str:
    return "-" if theirs is None or ours is None else f"{theirs / ours:.0f}x"


def big_file_notes(mib: int, default: ObjectApiBundledPath) -> List[str]:
    """A big program to a file: write_bundled_program from a file-backed
    program (streamed) against ExecuTorch's writer plus a file write (it
    needs the program in memory, read first), and peak memory."""
    import tracemalloc

    bundled = synthetic(0, 2, 2, 64 << 10)
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "program.pte")
        with open(source, "wb") as f:
            for _ in range(mib):
                f.write(os.urandom(MIB))
        on_disk = bp.BundledProgram(2, bundled.method_test_suites, pe.FileData(source))  # type: ignore[arg-type]
        target = os.path.join(tmp, "out.bpte")

        def theirs() -> None:
            with open(source, "rb") as f:
                program = f.read()
            data = default.encode(bp.BundledProgram(2, bundled.method_test_suites, program))
            with open(target, "wb") as out:
                out.write(data)

        ours = timed(lambda: pe.write_bundled_program(on_disk, target), 3)
        size = os.path.getsize(target)
        executorch = timed(theirs, 3)
        gc.collect()
        tracemalloc.start()
        pe.write_bundled_program(on_disk, target)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return [f"{mib} MiB file-backed program to a file ({size:,} bytes): write_bundled_program {ours * 1e3:.0f} ms, "
            f"peak {peak:,} bytes traced; ExecuTorch (read the program, default writer, write) "
            f"{executorch * 1e3:.0f} ms: {executorch / ours:.1f}x."]


def markdown(rows: List[List[str]], notes: List[str]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines + [""] + [f"- {note}" for note in notes]) + "\n"


def main(argv: List[str]) -> int:
    rows, notes = measure("--quick" in argv)
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
