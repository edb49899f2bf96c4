"""Small hostile inputs, and the measured command line, for tests/hostile.

Inputs are built through the public API (``import pte_encoder as pe``) and,
where no writer would make them, by patching bytes of what
``pe.encode_program`` or ``pe.encode_data_file`` wrote (a small FlatBuffer
walker finds the fields). Commands run as a user runs them:
``sys.executable -m pte_encoder`` in a temporary folder, under a small
Python that reports the command's peak RSS.

Bounds (input = the hostile file's size):
- command output  <= 8 x input + 64 KiB for JSON (a byte is at most 3 digits
  and ", "; base64 is 4/3), 32 x input + 64 KiB for `inspect` (each 4-byte
  input or output index becomes a described value, at most ~100 chars);
- peak memory of a command (RSS) <= 64 MiB + 10 x input; of a function
  (tracemalloc) <= 16 MiB + 10 x input;
- time of ``infer_options`` <= 6 x (decode + one encode of the same program)
  + 0.25 s (at most three candidates checked per layout); of a command <= 10 s,
  and `decode --options-out` <= 3 x `decode` + 1 s.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pte_encoder as pe

ROOT = Path(pe.__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"

MiB = 1 << 20
OUTPUT_FACTOR, OUTPUT_SLACK = 8, 64 * 1024
INSPECT_FACTOR = 32  # text for people: a 4-byte input index may become "%0 String '<80 chars>...'"
RSS_SLACK, RSS_FACTOR = 64 * MiB, 10
TRACED_SLACK, TRACED_FACTOR = 16 * MiB, 10
COMMAND_SECONDS = 10.0


# --------------------------------------------------------------------------
# Running the command line, measured
# --------------------------------------------------------------------------

class Run:
    def __init__(self, returncode: int, stdout: bytes, stderr: bytes, seconds: float,
                 peak_rss: int, timed_out: bool) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        self.seconds, self.peak_rss, self.timed_out = seconds, peak_rss, timed_out

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return (f"Run(rc={self.returncode}, {self.seconds:.2f} s, peak RSS {self.peak_rss / MiB:.0f} MiB, "
                f"stdout {len(self.stdout)} bytes, stderr {self.err[-400:]!r})")


# The command runs under a small Python that reports its child's wait4
# rusage: a child forked from pytest itself would count pytest's pages in its
# peak RSS (Linux keeps the forked process's high-water mark across exec).
_MEASURE = textwrap.dedent("""
    import json, os, resource, subprocess, sys
    report, limit = sys.argv[1], int(sys.argv[2])
    def limits():
        if limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    child = subprocess.Popen(sys.argv[3:], preexec_fn=limits)
    _pid, status, usage = os.wait4(child.pid, 0)
    with open(report, "w") as f:
        json.dump([os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024], f)
""")


def run_cli(args: Sequence[str], cwd: Path, timeout: float = COMMAND_SECONDS,
            python: Optional[str] = None, limit_memory: Optional[int] = None) -> Run:
    """``python -m pte_encoder ARGS`` in ``cwd``: exit status, output, wall
    time and peak RSS, killed after ``timeout`` seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(ROOT)
    out_path, err_path, report = cwd / ".stdout", cwd / ".stderr", cwd / ".rusage"
    command = [python or sys.executable, "-m", "pte_encoder", *args]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", _MEASURE, str(report), str(limit_memory or 0),
                                 *command], cwd=cwd, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        seconds = time.perf_counter() - start
    returncode, peak = json.loads(report.read_text()) if report.exists() else (-9, 0)
    stdout, stderr = out_path.read_bytes(), err_path.read_bytes()
    for path in (out_path, err_path, report):
        if path.exists():
            path.unlink()
    return Run(returncode, stdout, stderr, seconds, peak, timed_out)


def assert_bounded(run: Run, input_size: int, outputs: Sequence[Path] = (),
                   factor: int = OUTPUT_FACTOR) -> None:
    assert not run.timed_out, f"still running after {COMMAND_SECONDS} s: {run}"
    assert "Traceback" not in run.err, run
    produced = len(run.stdout) + sum(p.stat().st_size for p in outputs if p.exists())
    assert produced <= factor * input_size + OUTPUT_SLACK, \
        f"{produced:,} bytes of output from a {input_size:,}-byte file: {run}"
    assert run.peak_rss <= RSS_SLACK + RSS_FACTOR * input_size, \
        f"peak RSS {run.peak_rss / MiB:.0f} MiB for a {input_size:,}-byte file: {run}"


def traced(fn: Any, *args: Any, **kwargs: Any) -> Tuple[Any, float, int]:
    """``fn(*args)``, its wall time and its tracemalloc peak."""
    tracemalloc.start()
    try:
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, seconds, peak


def one_error_line(run: Run) -> str:
    assert run.returncode == 2, run
    assert "Traceback" not in run.err, run
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run
    return lines[0]


# --------------------------------------------------------------------------
# Building hostile files
# --------------------------------------------------------------------------

def plan(name: str = "forward", values: Any = None, inputs: Any = None, outputs: Any = None,
         delegates: Any = None, operators: Any = None, chains: Any = None) -> pe.ExecutionPlan:
    return pe.ExecutionPlan(name=name, values=values or [], inputs=inputs or [], outputs=outputs or [],
                            chains=chains or [], operators=operators or [], delegates=delegates or [],
                            non_const_buffer_sizes=[0])


def program(plans: List[Any], constant_buffer: Any = None, backend_delegate_data: Any = None,
            segments: Any = None) -> pe.Program:
    return pe.Program(version=0, execution_plan=plans, constant_buffer=constant_buffer or [],
                      backend_delegate_data=backend_delegate_data or [], segments=segments or [])


def delegate(index: int, id: str = "XnnpackBackend") -> pe.BackendDelegate:
    return pe.BackendDelegate(id=id, processed=pe.BackendDelegateDataReference(
        location=pe.DataLocation.INLINE, index=index), compile_specs=[])


def field_pos(b: Any, table: int, slot: int) -> Optional[int]:
    """Where field ``slot`` of the FlatBuffer table at ``table`` is stored (None: absent)."""
    vt = table - struct.unpack_from("<i", b, table)[0]
    vsize = struct.unpack_from("<H", b, vt)[0]
    if 4 + 2 * slot >= vsize:
        return None
    off = struct.unpack_from("<H", b, vt + 4 + 2 * slot)[0]
    return table + off if off else None


def deref(b: Any, at: int) -> int:
    return at + struct.unpack_from("<I", b, at)[0]


PTE_SEGMENTS, PTD_SEGMENTS = 4, 1  # the slot of `segments` in Program and FlatTensor


def patch_segments(data: bytes, new: Sequence[Tuple[int, int]], slot: int) -> bytes:
    """Set the (offset, size) of each DataSegment of the root's segments vector."""
    out = bytearray(data)
    vec = deref(out, field_pos(out, struct.unpack_from("<I", out, 0)[0], slot) or 0)
    count = struct.unpack_from("<I", out, vec)[0]
    for i, (offset, size) in zip(range(count), new):
        table = deref(out, vec + 4 + 4 * i)
        for field, value in ((0, offset), (1, size)):
            at = field_pos(out, table, field)
            if at is None:
                assert value == 0, "an absent field (0) cannot be patched"
                continue
            struct.pack_into("<Q", out, at, value)
    return bytes(out)


def shared_empty_delegates(n: int, layout: str) -> bytes:
    """n delegates naming one empty inline blob (no segments: no header), one
    trailing byte after the FlatBuffer (so that no options give the file back)."""
    prog = program([plan(delegates=[delegate(0) for _ in range(n)])],
                   backend_delegate_data=[pe.BackendDelegateInlineData(data=b"")])
    return pe.encode_program(prog, layout=layout) + b"\1"


def big_delegate_alignment(n: int) -> bytes:
    """n delegates sharing a 1-byte blob, written with delegate_alignment=65536,
    and one trailing zero byte (the 327-candidate case of the issue)."""
    prog = program([plan(delegates=[delegate(0) for _ in range(n)],
                         values=[pe.EValue(pe.Int(i)) for i in range(n)])],
                   backend_delegate_data=[pe.BackendDelegateInlineData(data=b"x")])
    return pe.encode_program(prog, delegate_alignment=1 << 16) + b"\0"


def long_string_named_many(n: int = 2500, size: int = 20000) -> bytes:
    """A ``size``-character String value named n times among inputs and outputs."""
    prog = program([plan(values=[pe.EValue(pe.String(string_val="A" * size))],
                         inputs=[0] * n, outputs=[0] * n)])
    return pe.encode_program(prog)


def long_tensor_named_many(n: int = 2500, dims: int = 10000) -> bytes:
    """A Tensor of ``dims`` sizes named n times among inputs and outputs."""
    tensor = pe.Tensor(scalar_type=pe.ScalarType.FLOAT, sizes=[1] * dims, dim_order=[])
    prog = program([plan(values=[pe.EValue(tensor)], inputs=[0] * n, outputs=[0] * n)])
    return pe.encode_program(prog)


def shared_segment_blob(n: int = 1000, size: int = 20000) -> bytes:
    """n delegates whose identical blobs encode_program puts in one shared segment."""
    blob = bytes(range(256)) * (size // 256) + bytes(size % 256)
    prog = program([plan(delegates=[delegate(i) for i in range(n)])],
                   backend_delegate_data=[pe.BackendDelegateInlineData(data=blob) for _ in range(n)])
    return pe.encode_program(prog)


def overlapping_delegate_segments(n: int = 1000, region: int = 20000, at: int = 4096) -> bytes:
    """n delegates, each with a segment of its own, all over the same ``region``
    bytes (after a first segment of ``at`` bytes)."""
    blobs = [bytes(at)] + [bytes([i % 256, i // 256 % 256, 1 + i // 65536]) for i in range(n)]
    prog = program([plan(delegates=[delegate(i) for i in range(n + 1)])],
                   backend_delegate_data=[pe.BackendDelegateInlineData(data=b) for b in blobs])
    data = pe.encode_program(prog, segment_alignment=1)
    pte = pe.decode_program(data)
    assert pte.header is not None and len(pte.stored.segments) == n + 1
    patched = bytearray(patch_segments(data, [(0, at)] + [(at, region)] * n, PTE_SEGMENTS))
    base = pte.header.segment_base_offset
    out = patched[:base] + bytes(at) + bytes(range(256)) * (region // 256) + bytes(region % 256)
    struct.pack_into("<Q", out, 8 + 24, at + region)  # eh00's segment_data_size
    return bytes(out)


def ptd_overlapping_segments(n: int = 1000, region: int = 100_000) -> bytes:
    """A .ptd whose n segments (one key each) all cover the same ``region`` bytes."""
    sizes = [region] + [1] * (n - 1)
    payload = pe.DataPayload(buffers=[bytes([i % 251]) * s for i, s in enumerate(sizes)],
                             named_data={f"k{i}": pe.DataEntry(i, 1) for i in range(n)})
    data = pe.encode_data_file(payload, segment_alignment=1)
    ptd = pe.analyze_data_file(data)
    patched = bytearray(patch_segments(data, [(0, region)] * n, PTD_SEGMENTS))
    out = patched[:ptd.header.segment_base_offset + region]
    struct.pack_into("<Q", out, 8 + 32, region)  # FH01's segment_data_size
    return bytes(out)


def pte_overlapping_named_segments(n: int = 1000, region: int = 100_000, at: int = 4096) -> bytes:
    """A .pte whose n named-data keys each have a segment, all over the same
    ``region`` bytes (after a first segment of ``at`` bytes, key "pad")."""
    sizes = [at, region] + [1] * (n - 1)
    named = pe.NamedDataOutput(buffers=[bytes([i % 251]) * s for i, s in enumerate(sizes)],
                               pte_data={"pad": pe.DataEntry(0, 1),
                                         **{f"k{i}": pe.DataEntry(i + 1, 1) for i in range(n)}})
    data = pe.encode_program(program([plan()]), named_data=named, segment_alignment=1)
    pte = pe.decode_program(data)
    patched = bytearray(patch_segments(data, [(0, at)] + [(at, region)] * n, PTE_SEGMENTS))
    out = patched[:pte.header.segment_base_offset + at + region]
    struct.pack_into("<Q", out, 8 + 24, at + region)
    return bytes(out)


def named_segment_at_zero() -> bytes:
    """A valid .pte whose last named-data segment sits at offset 0 (over the constants)."""
    prog = program([plan()], constant_buffer=[pe.Buffer(storage=b""), pe.Buffer(storage=b"w" * 64)])
    named = pe.NamedDataOutput(buffers=[b"abc"], pte_data={"k": pe.DataEntry(0, 4096)})
    data = pe.encode_program(prog, named_data=named)
    assert [(s.offset, s.size) for s in pe.decode_program(data).stored.segments] == [(0, 64), (4096, 3)]
    return patch_segments(data, [(0, 64), (0, 3)], PTE_SEGMENTS)


EVIL = "\x1b[2J\x1b]0;pwned\x07\rforged line\nmethod fake: 0 values\x1b[31m\x9b31m"


def names_program(evil: str) -> bytes:
    """``evil`` in every name inspect prints: method, operator name and
    overload, delegate id, compile spec key, named-data key, a String value."""
    prog = program([plan(name="m" + evil,
                         values=[pe.EValue(pe.String(string_val="s" + evil)), pe.EValue(pe.Int(1))],
                         inputs=[0, 1], outputs=[0],
                         operators=[pe.Operator(name="op" + evil, overload="ov" + evil)],
                         chains=[pe.Chain(inputs=[], outputs=[], instructions=[
                             pe.Instruction(pe.KernelCall(op_index=0, args=[]))])],
                         delegates=[pe.BackendDelegate(
                             id="d" + evil, processed=pe.BackendDelegateDataReference(
                                 location=pe.DataLocation.INLINE, index=0),
                             compile_specs=[pe.CompileSpec(key="c" + evil, value=b"v")])])],
                   backend_delegate_data=[pe.BackendDelegateInlineData(data=b"blob")])
    named = pe.NamedDataOutput(buffers=[b"abc"], pte_data={"k" + evil: pe.DataEntry(0, 1)})
    return pe.encode_program(prog, named_data=named)


def flaky(cls: Any, attr: str, first: Any, later: Any, k: int = 1, **fields: Any) -> Tuple[Any, Dict[str, int]]:
    """An instance of a subclass of the model class ``cls`` (same name, so a
    union takes it) whose ``attr`` reads ``first`` k times, then ``later``;
    and the count of its reads."""
    state = {"reads": 0}

    def get(self: Any) -> Any:
        state["reads"] += 1
        return first if state["reads"] <= k else later

    sub = type(cls.__name__, (cls,), {attr: property(get, lambda self, value: None)})
    return sub(**fields), state


def write(path: Path, data: Any) -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


PTE_BACKEND_DELEGATE_DATA = 3  # the slot of backend_delegate_data in Program


def shared_inline_vector(n: int = 8, size: int = 20000) -> bytes:
    """A .pte without segments whose n inline delegate blobs are one [ubyte]
    vector in the FlatBuffer (each table's offset patched to the first
    one's): what no writer makes, and the reader's work budget bounds."""
    prog = program([plan(delegates=[delegate(i) for i in range(n)])],
                   backend_delegate_data=[pe.BackendDelegateInlineData(data=bytes([255]) * size)] +
                   [pe.BackendDelegateInlineData(data=bytes([i])) for i in range(1, n)])
    data = bytearray(pe.encode_program(prog, extract_delegate_segments=False))
    root = struct.unpack_from("<I", data, 0)[0]
    vector = deref(data, field_pos(data, root, PTE_BACKEND_DELEGATE_DATA) or 0)
    fields = []
    for i in range(struct.unpack_from("<I", data, vector)[0]):
        table = deref(data, vector + 4 + 4 * i)
        fields.append(field_pos(data, table, 0) or 0)
    target = deref(data, fields[0])
    for at in fields[1:]:
        struct.pack_into("<I", data, at, target - at)
    return bytes(data)
