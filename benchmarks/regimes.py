"""Time the FlatBuffer step three ways, as issue 13 asks: warm, first call in
a fresh process, and with cold caches; plus the package's import time.

    python benchmarks/regimes.py [--quick] [--markdown FILE] [--reps N]
                                 [--only PROGRAM ...] [--operation STEP ...]

Steps (OPERATIONS): the FlatBuffer step, and decoding it back ("decode":
pe.decode_flatbuffer against the object API's unpack to dataclasses, as
ExecuTorch's deserialize_pte_binary reads), each a row per program; and
writing a whole .ptd file ("ptd": pe.encode_data_file against ExecuTorch's
FlatTensorSerializer rebuilt, JSON + flatc), a row per payload (PAYLOADS,
whose "values" column counts tensors).

Writers: (a) pte_encoder.encode_flatbuffer, (b) ExecuTorch 1.5.1's default
writer as benchmarks/executorch_paths.py rebuilds it (object API +
flatbuffers.Builder).

- warm: after two warm-up calls (our templates are compiled when a shape is
  met the second time), the median of up to 25 samples, each the mean of
  back-to-back calls filling about a millisecond (as timeit times short
  calls: a 10 us call timed alone varies by 30% from call to call), garbage
  collector off while timing (as run.py does).
- first call: one child process per measurement. The child imports both
  writers, builds the program, runs ``gc.collect()``, sleeps 10 ms, then
  times one call of one writer with ``time.perf_counter``. (a) and (b) each
  get their own fresh children: in a shared child, whichever writer went
  second would find the program's objects already in cache, the
  interpreter's type caches and allocator arenas warmed, and would look
  better than a real first call. The median over ``--reps`` children is
  reported.
- cold: in this process, after both writers have encoded the program at
  least once (so our templates are compiled), a pile of unrelated objects is
  kept alive (as a process with torch loaded has) and before each timed call
  ``gc.collect()`` walks all of it and a fresh block of memory is written,
  which evicts the CPU caches; a 10 ms sleep then starts the timed call on a
  fresh time slice (other processes' time slices evict caches further, and
  preemption in the middle of a call is rarer). Median over ``--reps``
  calls. The collector stays on during the timed call, as in a real process.
- import: ``python -X importtime -c "import pte_encoder"`` (bytecode
  compiled beforehand), the sum of the pte_encoder modules' self times;
  median over several runs.

Every program's output is checked byte-identical to flatc once, and every
payload's .ptd to ExecuTorch's serializer's.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _path in (str(HERE), str(ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import pte_encoder as pe  # noqa: E402
import programs  # noqa: E402
from executorch_paths import FlatcPath, FlatTensorPath, ObjectApiPath, executorch_payload  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "corpus"
CORPUS_PTD = ROOT / "tests" / "data" / "corpus-ptd"

Alignments = Tuple[Optional[int], Optional[int]]


def _corpus(name: str) -> Callable[[], Tuple[Any, Alignments]]:
    def build() -> Tuple[Any, Alignments]:
        folder = CORPUS / name
        options = pe.options_from_json((folder / "options.json").read_text())
        program = pe.program_from_json((folder / "flatbuffer.json").read_text())
        return program, (options.get("constant_tensor_alignment"), options.get("delegate_alignment"))
    return build


def _built(fn: Callable[[], Any]) -> Callable[[], Tuple[Any, Alignments]]:
    return lambda: (fn(), (None, None))


# name -> builder; a child process rebuilds a program from its name.
PROGRAMS: Dict[str, Callable[[], Tuple[Any, Alignments]]] = {
    **{f"corpus {p.name}": _corpus(p.name) for p in sorted(CORPUS.iterdir()) if p.is_dir()},
    "tiny, 1 value": _built(lambda: programs.tiny_program(1)),
    "tiny, 3 values": _built(lambda: programs.tiny_program(3)),
    "delegate only, 3 values": _built(programs.delegate_program),
    "stack traces, 22 values": _built(programs.stacktrace_program),
    "stack traces, 500 values": _built(lambda: programs.stacktrace_program(500)),
    "many operators (300)": _built(programs.many_operators_program),
    "many methods (40 x 6 values)": _built(programs.many_methods_program),
    "strings and int lists, 400 values": _built(programs.strings_intlists_program),
    **{f"synthetic {n // 1000}k values": _built(lambda n=n: programs.synthetic_program(n))
       for n in (1_000, 10_000, 100_000, 1_000_000)},
}

# name -> builder of a .ptd payload (the "ptd" step's rows).
PAYLOADS: Dict[str, Callable[[], Any]] = {
    # (its segment_alignment is the default, 128)
    ".ptd corpus two_linear": lambda: pe.payload_from_json((CORPUS_PTD / "two_linear" / "payload.json").read_text())[0],
    ".ptd, 100 small tensors": lambda: programs.small_tensor_payload(100),
    ".ptd, 10,000 small tensors": lambda: programs.small_tensor_payload(10_000),
}

QUICK = ["corpus conv", "corpus twomethods", "corpus xnn_mlp", "tiny, 1 value", "tiny, 3 values",
         "delegate only, 3 values", "stack traces, 22 values", "stack traces, 500 values",
         "many operators (300)", "many methods (40 x 6 values)", "strings and int lists, 400 values",
         "synthetic 1k values", "synthetic 10k values", *PAYLOADS]


class Writers:
    """Both writers, ready to encode a program with its alignments."""

    def __init__(self, workdir: Path) -> None:
        self.object_api = ObjectApiPath(workdir)
        self.flat_tensor = FlatTensorPath(workdir)

    def ours(self, program: Any, align: Alignments) -> bytes:
        return pe.encode_flatbuffer(program, constant_tensor_alignment=align[0], delegate_alignment=align[1])

    def theirs(self, program: Any, align: Alignments) -> bytes:
        return self.object_api.encode(program, align[0], align[1])

    def get(self, which: str) -> Callable[[Any, Alignments], bytes]:
        return self.ours if which == "a" else self.theirs


# One step timed for (a) against (b): each factory gets the writers and a
# program with its alignments (or, for "ptd", a payload and no alignments),
# does any setup (outside the timing), and returns the call to time. Rows of
# the decode step are labelled "<program> (decode)".
Factory = Callable[[Writers, Any, Alignments], Callable[[], Any]]


def _decoding(which: str) -> Factory:
    """Reading the program's FlatBuffer (flatc's bytes) back: (a)
    pe.decode_flatbuffer, (b) ExecuTorch's way (object-API unpack, then
    dataclasses)."""
    def factory(writers: Writers, program: Any, align: Alignments) -> Callable[[], Any]:
        data = writers.ours(program, align)
        decode = pe.decode_flatbuffer if which == "a" else writers.object_api.decode
        return lambda: decode(data)
    return factory


def _ptd_ours(writers: Writers, payload: Any, align: Alignments) -> Callable[[], Any]:
    return lambda: pe.encode_data_file(payload)


def _ptd_theirs(writers: Writers, payload: Any, align: Alignments) -> Callable[[], Any]:
    theirs = executorch_payload(payload)  # ExecuTorch's own dataclasses, made outside the timing
    return lambda: writers.flat_tensor.serialize(theirs)


OPERATIONS: Dict[str, Tuple[Factory, Factory]] = {
    "FlatBuffer": (lambda writers, program, align: lambda: writers.ours(program, align),
                   lambda writers, program, align: lambda: writers.theirs(program, align)),
    "decode": (_decoding("a"), _decoding("b")),
    "ptd": (_ptd_ours, _ptd_theirs),
}
# The steps that take a payload, not a program.
PAYLOAD_OPERATIONS = ("ptd",)


def prepare(operation: str, which: str, name: str, writers: Writers) -> Callable[[], Any]:
    """The call to time: ``which`` "a" (ours) or "b" (ExecuTorch's), on
    program (or payload) ``name``."""
    program, align = (PAYLOADS[name](), (None, None)) if name in PAYLOADS else PROGRAMS[name]()
    return OPERATIONS[operation][0 if which == "a" else 1](writers, program, align)


def warm(fn: Callable[[], Any], budget: float) -> float:
    """Median of 3..25 samples filling about ``budget`` seconds, each the
    mean of back-to-back calls filling about a millisecond, after two
    warm-up calls; collector off while timing."""
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    per_sample = max(1, int(1e-3 / once))
    samples = max(3, min(25, int(budget / (once * per_sample))))
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(samples):
            start = time.perf_counter()
            for _ in range(per_sample):
                fn()
            times.append((time.perf_counter() - start) / per_sample)
    finally:
        gc.enable()
    return statistics.median(times)


_CHILD = """
import gc, sys, time
from pathlib import Path
sys.path[:0] = [sys.argv[1]]
import regimes
call = regimes.prepare(sys.argv[5], sys.argv[4], sys.argv[3], regimes.Writers(Path(sys.argv[2])))
gc.collect()
time.sleep(0.01)  # start the timed call on a fresh time slice (the machine may be shared)
start = time.perf_counter()
call()
print(time.perf_counter() - start)
"""


def first_call(name: str, which: str, reps: int, workdir: Path, operation: str = "FlatBuffer") -> float:
    """Median over ``reps`` fresh processes of the first call's time."""
    times = []
    for _ in range(reps):  # the children reuse the object-API classes generated in workdir
        out = subprocess.run([sys.executable, "-c", _CHILD, str(HERE), str(workdir), name, which, operation],
                             check=True, capture_output=True, text=True).stdout
        times.append(float(out.split()[-1]))
    return statistics.median(times)


class Pile:
    """Unrelated live objects, standing in for what an export process holds
    (a model's parameters and modules, torch's own objects)."""

    def __init__(self, objects: int) -> None:
        self.items = [{"name": f"layer{i}.weight", "shape": (i % 97, i % 13 + 1), "stride": [i % 13 + 1, 1],
                       "grad": None} for i in range(objects)]

    def evict(self, scratch_bytes: int = 32 << 20) -> None:
        gc.collect()
        scratch = bytearray(scratch_bytes)
        scratch[::4096] = b"\1" * len(range(0, scratch_bytes, 4096))
        del scratch
        time.sleep(0.01)  # start the timed call on a fresh time slice (the machine may be shared)


def cold(fn: Callable[[], Any], pile: Pile, reps: int) -> float:
    fn()  # templates compiled, imports done
    times = []
    for _ in range(reps):
        pile.evict()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def import_time(runs: int = 7) -> Tuple[float, Dict[str, float]]:
    """Median of the pte_encoder modules' summed self import time (seconds),
    and the median self time of each of those modules."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "pte_encoder")], check=True)
    totals: List[float] = []
    per_runs: Dict[str, List[float]] = {}
    for _ in range(runs):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import pte_encoder"], check=True,
                             capture_output=True, text=True, cwd=str(ROOT)).stderr
        total = 0.0
        for match in re.finditer(r"import time:\s+(\d+) \|\s+\d+ \|\s+(\S+)", err):
            if match.group(2).split(".")[0] == "pte_encoder":
                total += int(match.group(1)) / 1e6
                per_runs.setdefault(match.group(2), []).append(int(match.group(1)) / 1e6)
        totals.append(total)
    per = {name: statistics.median(ts) for name, ts in per_runs.items()}
    return statistics.median(totals), per


def values_of(program: Any) -> int:
    return sum(len(template.values or []) for template in program.execution_plan or [])


HEADER = ["program", "values", "warm (a) ms", "warm (b) ms", "warm b/a", "first (a) ms", "first (b) ms",
          "first b/a", "cold (a) ms", "cold (b) ms", "cold b/a", "(a) first/warm"]


def measure(names: List[str], reps: int, budget: float, pile_objects: int = 300_000,
            echo: bool = True, operations: Sequence[str] = ("FlatBuffer",)) -> List[List[str]]:
    """One table row per program and operation: the three regimes for (a) and (b)."""
    workdir = Path(tempfile.mkdtemp(prefix="pte-regimes-"))
    writers = Writers(workdir)
    flatc = FlatcPath(workdir)
    pile = Pile(pile_objects)
    rows = []
    for name in names:
        if name in PAYLOADS:
            payload = PAYLOADS[name]()
            assert pe.encode_data_file(payload) == writers.flat_tensor.serialize(executorch_payload(payload)), \
                f"{name}: not byte-identical to ExecuTorch's serializer"
            values = len(payload.named_data)
            steps = [op for op in operations if op in PAYLOAD_OPERATIONS]
            del payload
        else:
            program, align = PROGRAMS[name]()
            assert writers.ours(program, align) == flatc.encode(program, *align), \
                f"{name}: not byte-identical to flatc"
            values = values_of(program)
            steps = [op for op in operations if op not in PAYLOAD_OPERATIONS]
            del program
        runs = min(reps, 3) if values >= 100_000 else reps  # (b) takes seconds per call there
        for operation in steps:
            ours, theirs = (prepare(operation, which, name, writers) for which in "ab")
            fa, fb = (first_call(name, which, runs, workdir, operation) for which in "ab")
            wa, wb = warm(ours, budget), warm(theirs, budget)
            ca, cb = cold(ours, pile, runs), cold(theirs, pile, runs)
            label = f"{name} (decode)" if operation == "decode" else name
            rows.append([label, f"{values:,}", f"{wa * 1e3:.3f}", f"{wb * 1e3:.3f}", f"{wb / wa:.1f}x",
                         f"{fa * 1e3:.3f}", f"{fb * 1e3:.3f}", f"{fb / fa:.1f}x",
                         f"{ca * 1e3:.3f}", f"{cb * 1e3:.3f}", f"{cb / ca:.1f}x", f"{fa / wa:.1f}x"])
            if echo:
                print(" | ".join(rows[-1]), flush=True)
            del ours, theirs
    return rows


def markdown(rows: List[List[str]], imported: Tuple[float, Dict[str, float]], reps: int) -> str:
    total, per = imported
    top = sorted(per.items(), key=lambda kv: -kv[1])[:6]
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
             f"{platform.system()}. (a) pte_encoder.encode_flatbuffer, (b) ExecuTorch's default writer; "
             f"(decode) rows: (a) decode_flatbuffer, (b) the object API's unpack to dataclasses; .ptd rows: "
             f"(a) encode_data_file, (b) ExecuTorch's FlatTensorSerializer (JSON + flatc), values = tensors; "
             f"first call and cold: median of {reps}.", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += ["", f"- Import: the pte_encoder modules' own import work is {total * 1e3:.1f} ms "
                  f"(median, `-X importtime`, self times summed); largest: "
                  + ", ".join(f"{name} {t * 1e3:.1f} ms" for name, t in top) + "."]
    return "\n".join(lines) + "\n"


def report(quick: bool, reps: Optional[int] = None, names: Optional[List[str]] = None,
           operations: Optional[List[str]] = None) -> str:
    """Measure (echoing rows as they come) and return the markdown."""
    reps = reps or (5 if quick else 7)
    print(" | ".join(HEADER))
    rows = measure(names or (QUICK if quick else list(PROGRAMS)), reps, budget=0.3 if quick else 1.0,
                   operations=operations or list(OPERATIONS))
    text = markdown(rows, import_time(9), reps)
    print(text.split("\n\n")[-1], end="")
    return text


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a subset that runs in about two minutes")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as markdown")
    parser.add_argument("--reps", type=int, default=None, help="fresh processes / cold calls per figure")
    parser.add_argument("--only", action="append", metavar="PROGRAM", choices=[*PROGRAMS, *PAYLOADS],
                        help="just this program or payload (repeatable)")
    parser.add_argument("--operation", action="append", choices=list(OPERATIONS),
                        help="just this step (repeatable; default: all of them)")
    args = parser.parse_args(argv)
    text = report(args.quick, args.reps, args.only, args.operation)
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
