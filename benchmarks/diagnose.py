"""Where the first encode in a fresh process, and the import, spend their time.

    python benchmarks/diagnose.py [--reps N] [PROGRAM ...]

PROGRAM is a name from regimes.PROGRAMS (default: three small ones). For
each, in fresh child processes (median of ``--reps``):

- first / second / third call times and the warm median of pte_encoder;
- template compilations on the first call: how many (``Templates.learn`` calls),
  distinct shapes, the time inside ``learn`` and, within it, in
  ``_Sim.table`` (the walk) and ``_Sim.compile`` (struct and picker);
  table layouts computed (entries added to the codec's ``table_packing`` memo) and
  ``new_packer`` time for the tables written without templates (engine/templates.py, codec.py);
- the first call after the *other* benchmark programs were encoded in the
  same process (their shapes' templates compiled, the code warm): how many new
  templates are still compiled, and the time (the most a build-time set of
  common templates could give);
- cold caches with templates compiled, against the distinct code each writer
  runs (Python calls, distinct functions, C calls);
- a cProfile of one first call (top functions by cumulative time; the
  profiler's own overhead inflates the figures, read them for shape only).

Then the import: ``-X importtime`` of ``import pte_encoder`` per module
(self and cumulative, median).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

DEFAULT = ["corpus conv", "stack traces, 22 values", "delegate only, 3 values", "synthetic 1k values"]

_BREAKDOWN = r"""
import gc, json, sys, time
sys.path[:0] = [sys.argv[1]]
import regimes
from pathlib import Path
from pte_encoder.schemas.program.codec import PROGRAM
from pte_encoder.engine import layout as layout_module, templates as plans_module, writer as writer_module
clock = time.perf_counter
acc = {"learn": 0.0, "learns": 0, "walk": 0.0, "compile": 0.0, "new_packer": 0.0, "new_layouts": 0}
Templates, Sim, Writer = plans_module.Templates, plans_module._Sim, writer_module.Writer
Policy = layout_module.LayoutPolicy
learn, walk, comp, new_packer = Templates.learn, Sim.table, Sim.compile, Policy.new_packer
depth = [0]
learn_by_key = {}
def timed_learn(self, templates, key, *args):
    start = clock(); result = learn(self, templates, key, *args); took = clock() - start
    acc["learn"] += took; acc["learns"] += 1
    learn_by_key[key] = learn_by_key.get(key, 0.0) + took
    return result
def timed_walk(self, *args):
    depth[0] += 1
    start = clock()
    try:
        return walk(self, *args)
    finally:
        depth[0] -= 1
        if depth[0] == 0:
            acc["walk"] += clock() - start
def timed_compile(self):
    start = clock(); result = comp(self); acc["compile"] += clock() - start
    return result
def timed_new_layout(*args):
    start = clock(); result = new_packer(*args); acc["new_packer"] += clock() - start
    acc["new_layouts"] += 1
    return result
Templates.learn, Sim.table, Sim.compile = timed_learn, timed_walk, timed_compile
Policy.new_packer = timed_new_layout  # what LayoutEncoders.new_packer calls
laid = PROGRAM.layout("flatc")  # the default layout, which the benchmark's (a) writes
shapes = laid.templates.shapes
table_layouts = laid._table_packings
writers = regimes.Writers(Path(sys.argv[2]))
target = sys.argv[3]
mode = sys.argv[4]
if mode == "others":  # the other programs first: their templates compiled, the code warm
    for name in regimes.QUICK:
        if name != target and "10k" not in name:
            writers.ours(*regimes.PROGRAMS[name]())
    for key in acc:
        acc[key] = 0
shapes_before = len(shapes)
packers_before = len(table_layouts)
program, align = regimes.PROGRAMS[target]()
gc.collect()
time.sleep(0.01)
times = []
for _ in range(3):
    start = clock(); writers.ours(program, align); times.append(clock() - start)
first = dict(acc)
first_keys = dict(learn_by_key)
new_shapes, new_layouts = len(shapes) - shapes_before, len(table_layouts) - packers_before
warm = regimes.warm(lambda: writers.ours(program, align), 0.2)
# How often the program uses each shape: the templates a tiered scheme (compile on
# the second use) would skip, and the learn time they took on the first call.
uses = {}
subtree = Writer.subtree
def counting_subtree(w, table, shape, values):
    key = (table, shape, w.size & 7)
    uses[key] = uses.get(key, 0) + 1
    return subtree(w, table, shape, values)
Writer.subtree = counting_subtree
writers.ours(program, align)
Writer.subtree = subtree
once = [key for key, n in uses.items() if n == 1]
# learn warm: the same templates compiled again with the code and data hot.
relearn = []
for _ in range(5):
    shapes.clear(); acc["learn"] = 0.0; acc["learns"] = 0
    writers.ours(program, align)
    relearn.append(acc["learn"] / max(acc["learns"], 1))
print(json.dumps({"first": times[0], "second": times[1], "third": times[2], "warm": warm,
                  "once": len(once), "once_learn": sum(first_keys.get(key, 0.0) for key in once),
                  "learn_warm_each": sorted(relearn)[2],
                  "shapes": new_shapes, "layouts": new_layouts, **first}))
"""

_PROFILE = r"""
import cProfile, gc, pstats, sys, io, time
sys.path[:0] = [sys.argv[1]]
import regimes
from pathlib import Path
writers = regimes.Writers(Path(sys.argv[2]))
program, align = regimes.PROGRAMS[sys.argv[3]]()
gc.collect()
profile = cProfile.Profile()
profile.runcall(writers.ours, program, align)
out = io.StringIO()
pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(16)
print(out.getvalue())
"""


def _child(code: str, *args: str) -> str:
    return subprocess.run([sys.executable, "-c", code, str(HERE), *args], check=True,
                          capture_output=True, text=True).stdout


def breakdown(name: str, mode: str, reps: int, workdir: Path) -> Dict[str, float]:
    runs = [json.loads(_child(_BREAKDOWN, str(workdir), name, mode).splitlines()[-1]) for _ in range(reps)]
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def first_call_report(names: List[str], reps: int) -> str:
    sys.path.insert(0, str(HERE))
    from executorch_paths import ObjectApiPath
    workdir = Path(tempfile.mkdtemp(prefix="pte-diagnose-"))
    ObjectApiPath(workdir)  # generate the object-API classes once, for the children
    lines = ["| program | first ms | 2nd ms | 3rd ms | warm ms | templates compiled | shapes | in learn ms "
             "| walk ms | compile ms | first - learn ms | table layouts | new_packer calls, ms "
             "| shapes used once | their learn ms | learn warm, us per template "
             "| after others: first ms | after others: templates compiled | after others: in learn ms |",
             "|" + "---|" * 19]
    for name in names:
        cold, others = breakdown(name, "fresh", reps, workdir), breakdown(name, "others", reps, workdir)
        lines.append("| " + " | ".join([
            name, _ms(cold["first"]), _ms(cold["second"]), _ms(cold["third"]), _ms(cold["warm"]),
            f"{cold['learns']:.0f}", f"{cold['shapes']:.0f}", _ms(cold["learn"]), _ms(cold["walk"]),
            _ms(cold["compile"]), _ms(cold["first"] - cold["learn"]), f"{cold['layouts']:.0f}",
            f"{cold['new_layouts']:.0f}, {_ms(cold['new_packer'])}", f"{cold['once']:.0f}", _ms(cold["once_learn"]),
            f"{cold['learn_warm_each'] * 1e6:.1f}", _ms(others["first"]), f"{others['learns']:.0f}",
            _ms(others["learn"])]) + " |")
        print(lines[-1], flush=True)
    profiles = [f"### cProfile of a first call (cumulative; profiler overhead included): {name}\n\n```\n"
                + _trim(_least_disturbed([_child(_PROFILE, str(workdir), name) for _ in range(3)])) + "```\n"
                for name in names[:2]]
    return "\n".join(lines) + "\n\n" + "\n".join(profiles)


def footprint_report(names: List[str], reps: int) -> str:
    """Cold caches, templates compiled (as regimes.py measures it), against how
    much distinct code each writer runs: the extra time cold is roughly
    proportional to the distinct functions (and their data) touched."""
    sys.path.insert(0, str(HERE))
    import regimes
    writers = regimes.Writers(Path(tempfile.mkdtemp(prefix="pte-diagnose-")))
    pile = regimes.Pile(300_000)
    lines = ["| program | writer | Python calls | distinct Python functions | C calls | warm us | cold us "
             "| (cold - warm) / distinct functions, us |", "|" + "---|" * 8]
    for name in names:
        program, align = regimes.PROGRAMS[name]()
        for which, label in (("a", "(a) ours"), ("b", "(b) ExecuTorch")):
            encode = writers.get(which)
            encode(program, align)
            counts = {"call": 0, "c_call": 0}
            codes = set()

            def profile(frame: Any, event: str, _arg: Any) -> None:
                if event in counts:
                    counts[event] += 1
                if event == "call":
                    codes.add(frame.f_code)
            sys.setprofile(profile)
            encode(program, align)
            sys.setprofile(None)
            warm = regimes.warm(lambda: encode(program, align), 0.2)
            cold = regimes.cold(lambda: encode(program, align), pile, reps)
            lines.append(f"| {name} | {label} | {counts['call']:,} | {len(codes)} | {counts['c_call']:,} "
                         f"| {warm * 1e6:.0f} | {cold * 1e6:.0f} | {(cold - warm) / len(codes) * 1e6:.1f} |")
            print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


def _least_disturbed(outputs: List[str]) -> str:
    """The profile with the smallest total: the others were preempted or
    collected in the middle (a shared machine's 4 ms ticks)."""
    return min(outputs, key=lambda out: float(re.findall(r"in ([0-9.]+) seconds", out)[0]))


def _trim(text: str) -> str:
    keep = [line for line in text.splitlines() if line.strip() and not line.startswith("   Ordered")]
    return "\n".join(line.replace(str(ROOT) + "/", "") for line in keep) + "\n"


def _import_times(cwd: Path, runs: int, baseline: Any) -> Tuple[Dict[str, float], Dict[str, float]]:
    """Median self and cumulative ms per module newly imported by ``import pte_encoder``."""
    selfs: Dict[str, List[int]] = {}
    cumulative: Dict[str, List[int]] = {}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(cwd / "pte_encoder")], check=True)
    for _ in range(runs):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import pte_encoder"], check=True,
                             capture_output=True, text=True, cwd=str(cwd)).stderr
        for match in re.finditer(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", err):
            name = match.group(4)
            if name not in baseline:
                selfs.setdefault(name, []).append(int(match.group(1)))
                cumulative.setdefault(name, []).append(int(match.group(2)))
    return ({name: statistics.median(ts) / 1e3 for name, ts in selfs.items()},
            {name: statistics.median(ts) / 1e3 for name, ts in cumulative.items()})


def import_report(runs: int) -> str:
    baseline = set(subprocess.run([sys.executable, "-c", "import sys; print(' '.join(sys.modules))"],
                                  check=True, capture_output=True, text=True, cwd=str(ROOT)).stdout.split())
    med, cum = _import_times(ROOT, runs, baseline)
    own = sum(t for name, t in med.items() if name.split(".")[0] == "pte_encoder")
    lines = [f"`import pte_encoder`: cumulative {cum['pte_encoder']:.1f} ms; pte_encoder modules' self "
             f"times {own:.1f} ms; other modules it pulls in {sum(med.values()) - own:.1f} ms "
             f"(median of {runs}, bytecode compiled).", "",
             "| module | self ms | cumulative ms |", "|---|---|---|"]
    lines += [f"| {name} | {t:.2f} | {cum[name]:.2f} |" for name, t in sorted(med.items(), key=lambda kv: -kv[1])
              if t >= 0.25 or name.startswith("pte_encoder")]
    return "\n".join(lines) + "\n"


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("programs", nargs="*", default=DEFAULT)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--markdown", metavar="FILE")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-first-call", action="store_true")
    args = parser.parse_args(argv)
    text = "" if args.skip_first_call else first_call_report(args.programs, args.reps)
    text += "\n" + footprint_report(["tiny, 1 value"] + args.programs, max(args.reps, 7))
    if not args.skip_import:
        text += "\n" + import_report(args.reps)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
