"""What scalar and blob fields take, the same way at every entry point:
buffers of pointers are refused, float-likes and numpy-like bools accepted,
integer-likes judged by their index, bad file objects refused first, and
failures (hostile objects, no memory) raised as EncodeError."""

from __future__ import annotations

import ctypes
import io
import math
import struct
import subprocess
import sys
import textwrap
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, List

import pytest

import pte_encoder as pe
from pte_encoder.schemas.program.codec import PROGRAM
from pte_encoder.engine.values import holds_pointers
from helpers import ROOT, flatc_binary
from test_errors import blob_places


class Secret:
    pass


def pointer_buffers() -> List[Any]:
    """Buffers whose bytes are addresses (as numpy object arrays are)."""

    class WithPointer(ctypes.Structure):
        _fields_ = [("x", ctypes.c_int), ("p", ctypes.POINTER(ctypes.c_int))]

    class WithObject(ctypes.Structure):
        _fields_ = [("x", ctypes.c_int), ("o", ctypes.py_object)]

    return [(ctypes.py_object * 2)(Secret(), "secret"), (ctypes.c_void_p * 2)(1, 2),
            (ctypes.c_char_p * 1)(b"x"), (WithPointer * 2)(), (WithObject * 1)(),
            memoryview((ctypes.py_object * 2)(Secret(), "secret"))]


@pytest.mark.parametrize("fmt, pointers", [
    ("B", False), ("<d", False), ("Zd", False), ("T{<i:P:<i:Obj:}", False), ("4w", False),
    ("O", True), ("<O", True), ("<P", True), ("<z", True), ("<Z", True), ("T{<i:x:&<i:p:}", True),
    ("T{<i:x:<O:o:}", True), ("X{}", True),
])
def test_pointer_formats(fmt: str, pointers: bool) -> None:
    assert holds_pointers(fmt) is pointers


@pytest.mark.parametrize("which", range(6))
@pytest.mark.parametrize("place", range(7))
def test_buffers_of_pointers_are_refused_everywhere(which: int, place: int) -> None:
    blob = pointer_buffers()[which]
    name, program, options = blob_places(blob)[place]
    with pytest.raises(pe.EncodeError, match="pointers") as info:
        pe.encode_program(program, **options)
    assert info.value.path, name
    out = io.BytesIO()
    with pytest.raises(pe.EncodeError, match="pointers"):
        pe.write_program(program, out, **options)
    assert out.getvalue() == b""
    if not options:
        for encode in (pe.encode_flatbuffer, pe.program_to_json):
            with pytest.raises(pe.EncodeError, match="pointers"):
                encode(program)


@pytest.mark.parametrize("which", range(6))
def test_buffers_of_pointers_are_refused_in_data_files(which: int) -> None:
    payload = pe.DataPayload([pointer_buffers()[which]], {"w": pe.DataEntry(0, 16)})
    with pytest.raises(pe.EncodeError, match="pointers"):
        pe.encode_data_file(payload)
    with pytest.raises(pe.EncodeError, match="pointers"):
        pe.write_data_file(payload, io.BytesIO())


def test_structured_data_buffers_are_taken() -> None:
    class Point(ctypes.Structure):  # field names that are also pointer codes
        _fields_ = [("P", ctypes.c_int), ("O", ctypes.c_int)]

    points = (Point * 2)((1, 2), (3, 4))
    program = pe.Program(constant_buffer=[pe.Buffer(points)], segments=[])
    assert pe.encode_program(program) == pe.encode_program(
        pe.Program(constant_buffer=[pe.Buffer(bytes(points))], segments=[]))


# --- Buffer.storage: the same message from both entry points ------------------

@pytest.mark.parametrize("storage, message", [
    ([1, 300], r"^constant_buffer\[1\]\.storage\[1\]: expected an integer in \[0, 255\], got 300$"),
    ([1, "x"], r"^constant_buffer\[1\]\.storage\[1\]: expected an integer, got 'x'$"),
    (7, r"^constant_buffer\[1\]\.storage: expected a bytes-like object or a list of integers, got 7$"),
])
def test_storage_errors_agree(storage: Any, message: str) -> None:
    program = pe.Program(constant_buffer=[pe.Buffer(b""), pe.Buffer(storage)], segments=[])
    for encode in (pe.encode_flatbuffer, pe.encode_program, pe.program_to_json):
        with pytest.raises(pe.EncodeError, match=message):
            encode(program)


def test_storage_none() -> None:
    """None is an absent vector to the FlatBuffer; no blob to a .pte, whose
    constants become segments (ExecuTorch's serializer fails on it too)."""
    program = pe.Program(constant_buffer=[pe.Buffer(None)], segments=[])
    assert pe.encode_flatbuffer(program)
    with pytest.raises(pe.EncodeError, match=r"^constant_buffer\[0\]\.storage: expected a bytes-like "
                                             r"object or a list of integers, got None$"):
        pe.encode_program(program)


# --- scalars ------------------------------------------------------------------

class Float32:
    """A float-like as numpy's float32 is: __float__, no float subclass."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __float__(self) -> float:
        return self.value


class NumpyBool:
    """A bool as numpy's bool_ is: no number, hashable, equal to True or False."""

    def __init__(self, value: bool) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return self.value == other if isinstance(other, bool) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.value)

    def __bool__(self) -> bool:
        return self.value

    def __float__(self) -> float:
        return float(self.value)


class BareIndex:
    """An integer-like without __eq__: equal to nothing but itself."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


def values(*vals: Any) -> pe.Program:
    return pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(v) for v in vals])])


def all_ways(program: Any) -> List[Any]:
    return [pe.encode_flatbuffer(program), pe.encode_flatbuffer(program, layout="flatbuffers"),
            pe.encode_program(program), pe.program_to_json(program)]


@pytest.mark.parametrize("value, plain", [
    (Float32(1.5), 1.5), (Float32(0.0), 0.0), (Fraction(1, 4), 0.25), (Decimal("2.5"), 2.5), (3, 3.0),
])
def test_float_likes(value: Any, plain: float) -> None:
    assert all_ways(values(pe.Double(value))) == all_ways(values(pe.Double(plain)))
    assert all_ways(values(pe.DoubleList([value, 1.0]))) == all_ways(values(pe.DoubleList([plain, 1.0])))
    assert all_ways(values(pe.DoubleList([value] * 20))) == all_ways(values(pe.DoubleList([plain] * 20)))


@pytest.mark.parametrize("value", [True, False, NumpyBool(True), "1.5", b"1", None, 1j, [1.0]])
def test_not_floats(value: Any) -> None:
    for program in (values(pe.Double(value)), values(pe.DoubleList([value]))):
        for encode in (pe.encode_flatbuffer, pe.encode_program, pe.program_to_json):
            with pytest.raises(pe.EncodeError, match=r"values\[0\]\.val\.(double_val|items\[0\]): "
                                                     r"expected a float"):
                encode(program)


@pytest.mark.parametrize("value", [True, False])
def test_numpy_like_bools(value: bool) -> None:
    assert all_ways(values(pe.Bool(NumpyBool(value)))) == all_ways(values(pe.Bool(value)))
    assert all_ways(values(pe.BoolList([NumpyBool(value), True]))) == \
        all_ways(values(pe.BoolList([value, True])))
    tensor = pe.Tensor(scalar_type=pe.ScalarType.FLOAT, sizes=[1], dim_order=[0],
                       requires_grad=NumpyBool(value))  # type: ignore[arg-type]
    plain = pe.Tensor(scalar_type=pe.ScalarType.FLOAT, sizes=[1], dim_order=[0], requires_grad=value)
    assert all_ways(values(tensor)) == all_ways(values(plain))


@pytest.mark.parametrize("value", [1, 0, 1.0, "true", None, Float32(1.0)])
def test_not_bools(value: Any) -> None:
    for program in (values(pe.Bool(value)), values(pe.BoolList([value]))):
        for encode in (pe.encode_flatbuffer, pe.encode_program, pe.program_to_json):
            with pytest.raises(pe.EncodeError, match="expected a bool"):
                encode(program)


@pytest.mark.parametrize("value", [0, 1, 7])
def test_integer_likes_without_eq_are_judged_by_their_index(value: int) -> None:
    odd = pe.Program(version=BareIndex(value), execution_plan=[pe.ExecutionPlan(
        values=[pe.EValue(pe.Int(BareIndex(value)))], non_const_buffer_sizes=[BareIndex(value)])])
    plain = pe.Program(version=value, execution_plan=[pe.ExecutionPlan(
        values=[pe.EValue(pe.Int(value))], non_const_buffer_sizes=[value])])
    assert all_ways(odd) == all_ways(plain)
    assert pe.encode_flatbuffer(odd) == flatc_binary(pe.program_to_json(plain))


@pytest.mark.parametrize("value", [0.0, 1.0, Decimal(0), "0"])
def test_non_integers_equal_to_the_default_are_refused(value: Any) -> None:
    for program in (pe.Program(version=value), values(pe.Int(value))):
        for encode in (pe.encode_flatbuffer, pe.encode_program):
            with pytest.raises(pe.EncodeError, match="expected an integer"):
                encode(program)


class Hostile:
    """A value whose every conversion fails with an unexpected error."""

    def __index__(self) -> int:
        raise RuntimeError("no index")

    def __float__(self) -> float:
        raise RuntimeError("no float")


class HostileTable:
    @property
    def int_val(self) -> int:
        raise RuntimeError("no int_val")


HostileTable.__name__ = "Int"


@pytest.mark.parametrize("program, path", [
    (values(pe.Int(Hostile())), "execution_plan[0].values[0].val.int_val"),
    (values(pe.Double(Hostile())), "execution_plan[0].values[0].val.double_val"),
    (values(pe.IntList([1, Hostile()])), "execution_plan[0].values[0].val.items[1]"),
    (values(HostileTable()), "execution_plan[0].values[0].val.int_val"),
    (pe.Program(version=Hostile()), "version"),  # type: ignore[arg-type]
])
def test_hostile_values_give_encode_error(program: Any, path: str) -> None:
    for encode in (pe.encode_flatbuffer, pe.encode_program, pe.program_to_json,
                   lambda p: pe.write_program(p, io.BytesIO())):
        with pytest.raises(pe.EncodeError, match=r"cannot be read: RuntimeError: no ") as info:
            encode(program)
        assert info.value.path == path


def test_keyboard_interrupt_propagates() -> None:
    class Interrupting:
        def __index__(self) -> int:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pe.encode_flatbuffer(values(pe.Int(Interrupting())))


# --- NaN: bits kept, as -0.0 (README "Where pte_encoder differs") ------------

def double_bits(data: bytes) -> List[int]:
    return [b for b in struct.unpack_from(f"<{len(data) // 8}Q", data[:len(data) // 8 * 8])]


@pytest.mark.parametrize("nan_bits", [0xFFF8000000000000, 0x7FF8000000000001, 0xFFF0000000000001])
@pytest.mark.parametrize("layout", ["flatc", "flatbuffers"])
def test_nan_keeps_its_bits(nan_bits: int, layout: str) -> None:
    nan = struct.unpack("<d", struct.pack("<Q", nan_bits))[0]
    ours = pe.encode_flatbuffer(values(pe.Double(nan)), layout=layout)  # type: ignore[arg-type]
    assert struct.pack("<Q", nan_bits) in ours
    # flatc, fed the JSON form ("nan"), writes its canonical NaN instead: the only other
    # difference, which program_to_json says (a warning naming the place and the bits).
    with pytest.warns(UserWarning, match=rf"^execution_plan\[0\]\.values\[0\]\.val\.double_val: a "
                      rf"NaN with a sign or payload \(0x{nan_bits:016x}\)"):
        text = pe.program_to_json(values(pe.Double(nan)))
    flatc = flatc_binary(text)
    canonical = pe.encode_flatbuffer(values(pe.Double(math.nan)))
    assert struct.pack("<Q", 0x7FF8000000000000) in canonical
    assert flatc == canonical
    if layout == "flatc":
        assert ours == canonical.replace(struct.pack("<Q", 0x7FF8000000000000), struct.pack("<Q", nan_bits))


# --- files --------------------------------------------------------------------

def file_calls(file: Any) -> List[Callable[[], Any]]:
    return [lambda: pe.write_program(pe.Program(), file),
            lambda: pe.write_data_file(pe.DataPayload([b"x"], {"w": pe.DataEntry(0, 16)}), file)]


@pytest.mark.parametrize("state", ["read-only", "closed", "closed raw", "closed BytesIO"])
def test_bad_file_objects_are_refused_first(tmp_path: Path, state: str) -> None:
    path = tmp_path / "x.pte"
    path.write_bytes(b"old")
    if state == "read-only":
        file: Any = open(path, "rb")
    elif state == "closed":
        file = open(path, "ab")
        file.close()
    elif state == "closed raw":
        file = open(path, "ab", buffering=0)
        file.close()
    else:
        file = io.BytesIO()
        file.close()
    expected = "a read-only one" if state == "read-only" else "a closed one"
    try:
        for call in file_calls(file):
            with pytest.raises(pe.EncodeError, match=f"^file: expected a binary file object open for "
                                                     f"writing, not {expected}") as info:
                call()
            assert info.value.path == "file"
    finally:
        file.close()
    assert path.read_bytes() == b"old"


def test_sinks_that_do_not_say_writable_are_taken() -> None:
    taken: List[bytes] = []

    class Sink(io.RawIOBase):  # writable() is io's default (False), write is its own
        def write(self, data: Any) -> int:
            taken.append(bytes(data))
            return len(taken[-1])

    class Plain:
        def write(self, data: Any) -> None:
            taken.append(bytes(data))

    for sink in (Sink(), Plain()):
        taken.clear()
        assert pe.write_program(pe.Program(), sink) == len(b"".join(taken))


# --- out of memory ------------------------------------------------------------

OUT_OF_MEMORY = textwrap.dedent("""
    import resource, sys
    import pte_encoder as pe
    resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
    program = pe.Program(constant_buffer=[pe.Buffer(b"x" * 16) for _ in range(4)], segments=[])
    for name, call in [
        ("pte", lambda: pe.encode_program(program, constant_tensor_alignment=2**30)),
        ("fb", lambda: pe.encode_flatbuffer(program, constant_tensor_alignment=2**30)),
        ("ptd", lambda: pe.encode_data_file(pe.DataPayload(
            [b"x", b"y"], {"a": pe.DataEntry(0, 2**31), "b": pe.DataEntry(1, 2**31)}))),
    ]:
        try:
            call()
        except pe.EncodeError as exc:
            print(name, exc)
        except MemoryError:
            print(name, "MemoryError")
""")


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS as Linux applies it")
def test_out_of_memory_is_an_encode_error() -> None:
    done = subprocess.run([sys.executable, "-c", OUT_OF_MEMORY], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["pte"].startswith("program: the .pte would be "), lines
    assert lines["pte"].endswith(" bytes: out of memory")
    assert lines["fb"] == "program: cannot be encoded: out of memory", lines
    assert lines["ptd"].startswith("payload: the .ptd would be "), lines


def raising(name: str) -> Any:
    def read(self: Any) -> Any:
        raise RuntimeError(f"no {name}")
    return property(read)


@pytest.mark.parametrize("name", ["constant_buffer", "segments", "execution_plan",
                                  "backend_delegate_data", "named_data"])
def test_container_reads_that_raise_give_encode_error(name: str) -> None:
    plain = pe.Program(segments=[])
    fields = {f.name: getattr(plain, f.name) for f in PROGRAM.schema.tables["Program"]}
    fields[name] = raising(name)
    program = type("Program", (), fields)()
    for encode in (pe.encode_program, pe.encode_flatbuffer, lambda p: pe.write_program(p, io.BytesIO())):
        with pytest.raises(pe.EncodeError, match=f"^{name}: cannot be read: RuntimeError: no {name}$"):
            encode(program)


def test_mutable_storage_that_raises_gives_encode_error() -> None:
    blob = type("Blob", (), {"storage": raising("storage")})()
    with pytest.raises(pe.EncodeError, match=r"^mutable_data\[0\]\.storage: cannot be read: RuntimeError"):
        pe.encode_program(pe.Program(), mutable_data=[blob])


# --- alignments below 4 (found while merging main) ---------------------------

@pytest.mark.parametrize("alignment", [1, 2, 4, 8])
def test_empty_blobs_aligned_below_four_keep_the_length_aligned(alignment: int) -> None:
    """An empty force-aligned vector's length is a uint32: 4-aligned even
    when constant_tensor_alignment or delegate_alignment is 1 or 2."""
    from test_layouts import packed
    program = pe.Program(
        version=1,
        execution_plan=[pe.ExecutionPlan(name="x", delegates=[pe.BackendDelegate(
            id="abc", processed=pe.BackendDelegateDataReference(pe.DataLocation.INLINE, i))
            for i in range(2)])],
        # After the first empty blob's table, whose vtable is 6 bytes long,
        # the second one starts 2 bytes past a multiple of 4.
        constant_buffer=[pe.Buffer(b""), pe.Buffer(b""), pe.Buffer(b"x")],
        backend_delegate_data=[pe.BackendDelegateInlineData(b""), pe.BackendDelegateInlineData(b"")])
    for options in ({"delegate_alignment": alignment}, {"constant_tensor_alignment": alignment}):
        tensor, delegate = options.get("constant_tensor_alignment"), options.get("delegate_alignment")
        assert pe.encode_flatbuffer(program, **options) == flatc_binary(  # type: ignore[arg-type]
            pe.program_to_json(program), tensor, delegate)
        assert pe.encode_flatbuffer(program, layout="flatbuffers", **options) == \
            packed(program, tensor, delegate)  # type: ignore[arg-type]
