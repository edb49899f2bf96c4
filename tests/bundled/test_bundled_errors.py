"""Bad bundled programs: an EncodeError naming the place, the value and what
was expected, the same in both layouts and for every function; nothing
written, the input unchanged."""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

import pytest

import executorch_bundled_mirror as bp
import pte_encoder as pe
from bundled_helpers import corpus

B = bp


def _tensor(sizes: Any = (1,), data: Any = b"", dim_order: Any = (0,), scalar_type: Any = 6) -> bp.Value:
    return B.Value(B.Tensor(scalar_type, list(sizes), data, list(dim_order)))


def _suite(*values: Any, outputs: Any = ()) -> bp.BundledMethodTestSuite:
    return B.BundledMethodTestSuite("forward", [B.BundledMethodTestCase(list(values), list(outputs))])


def _program(*suites: Any, version: Any = 2, program: Any = b"") -> bp.BundledProgram:
    return B.BundledProgram(version, list(suites), program)


CASES = [
    (_program(_suite(_tensor()), _suite(_tensor(), _tensor(), _tensor(sizes=[2**31]))),
     "method_test_suites[1].test_cases[0].inputs[2].val.sizes[0]",
     "expected an integer in [-2147483648, 2147483647], got 2147483648"),
    (_program(version=-1), "version", "expected an integer in [0, 4294967295], got -1"),
    (_program(version=2**32), "version", "expected an integer in [0, 4294967295], got 4294967296"),
    (_program(_suite(B.Value("hello"))), "method_test_suites[0].test_cases[0].inputs[0].val",  # type: ignore[arg-type]
     "expected one of Tensor, Int, Bool, Double (a ValueUnion), got 'hello'"),
    (_program(_suite(outputs=[_tensor(dim_order=[0, 256])])),
     "method_test_suites[0].test_cases[0].expected_outputs[0].val.dim_order[1]",
     "expected an integer in [0, 255], got 256"),
    (_program(_suite(_tensor(data=5))), "method_test_suites[0].test_cases[0].inputs[0].val.data",
     "expected a bytes-like object or a list of integers, got 5"),
    (_program(_suite(_tensor(scalar_type=300))), "method_test_suites[0].test_cases[0].inputs[0].val.scalar_type",
     "expected an integer in [-128, 127], got 300"),
    (_program(_suite(B.Value(B.Int(2**63)))), "method_test_suites[0].test_cases[0].inputs[0].val.int_val",
     "expected an integer in [-9223372036854775808, 9223372036854775807], got 9223372036854775808"),
    (_program(_suite(B.Value(B.Bool(2)))), "method_test_suites[0].test_cases[0].inputs[0].val.bool_val",  # type: ignore[arg-type]
     "expected a bool, got 2"),
    (_program(_suite(B.Value(B.Double("x")))), "method_test_suites[0].test_cases[0].inputs[0].val.double_val",  # type: ignore[arg-type]
     "expected a float (or the string 'inf', '+inf' or '-inf'), got 'x'"),
    (B.BundledProgram(2, [B.BundledMethodTestSuite(5, [])], b""), "method_test_suites[0].method_name",  # type: ignore[arg-type]
     "expected a str, got 5"),
    (B.BundledProgram(2, "x", b""), "method_test_suites",  # type: ignore[arg-type]
     "expected a list of BundledMethodTestSuite, got 'x'"),
    (_program(program=3), "program",
     "expected a bytes-like object, a list of integers or a file-backed object (FileData, "
     "FileBackedData), got 3"),
    (_program(program="abc"), "program", "expected a bytes-like object, a list of integers or a "
     "file-backed object (FileData, FileBackedData), got 'abc'"),
    (None, "", "bundled_program: expected a BundledProgram object, got None"),
]


@pytest.mark.parametrize("bundled, path, message", CASES, ids=[c[1] or "root" for c in CASES])
def test_bad_input_is_named_by_every_function_in_both_layouts(bundled: Any, path: str, message: str,
                                                              tmp_path: Path) -> None:
    before = copy.deepcopy(bundled)
    target = tmp_path / "out.bpte"
    stream = io.BytesIO()
    calls = [lambda layout: pe.encode_bundled_program(bundled, layout=layout),
             lambda layout: pe.write_bundled_program(bundled, target, layout=layout),
             lambda layout: pe.write_bundled_program(bundled, stream, layout=layout)]
    for layout in ("flatc", "flatbuffers"):
        for call in calls:
            with pytest.raises(pe.EncodeError) as info:
                call(layout)
            assert info.value.path == path
            assert str(info.value) == (f"{path}: {message}" if path else message)
    assert not target.exists() and stream.getvalue() == b""
    assert bundled == before


def test_the_first_bad_value_in_field_order_is_named() -> None:
    # a bad tensor comes before a bad program (the last field)
    bundled = _program(_suite(_tensor(sizes=["x"])), program=3)
    with pytest.raises(pe.EncodeError, match=r"^method_test_suites\[0\]\.test_cases\[0\]\.inputs\[0\]\.val\.sizes\[0\]: "):
        pe.encode_bundled_program(bundled)


def test_a_failing_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.bpte"
    target.write_bytes(b"old")
    with pytest.raises(pe.EncodeError):
        pe.write_bundled_program(_program(version=-1), target)
    missing = pe.FileData(tmp_path / "gone.pte", 0, 10)
    with pytest.raises(pe.EncodeError, match=r"^program: .*gone\.pte"):
        pe.write_bundled_program(_program(program=missing), target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bpte"]


def test_a_file_backed_program_shorter_than_it_says_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p.pte").write_bytes(b"12345")
    short = pe.FileData(tmp_path / "p.pte", 0, 5)
    (tmp_path / "p.pte").write_bytes(b"123")  # shrunk after FileData was made
    for call in (lambda: pe.encode_bundled_program(_program(program=short)),
                 lambda: pe.write_bundled_program(_program(program=short), tmp_path / "o.bpte"),
                 lambda: pe.write_bundled_program(_program(program=short), io.BytesIO())):
        with pytest.raises(pe.EncodeError, match=r"^program: .*holds 3 bytes"):
            call()
    assert not (tmp_path / "o.bpte").exists()


def test_bad_arguments() -> None:
    bundled = corpus("mlp")
    with pytest.raises(pe.EncodeError, match=r"^layout: expected 'flatc' or 'flatbuffers', got 'x'$"):
        pe.encode_bundled_program(bundled, layout="x")  # type: ignore[arg-type]
    with pytest.raises(pe.EncodeError, match=r"^file: expected a path or a binary file object"):
        pe.write_bundled_program(bundled, 3)  # type: ignore[arg-type]
    with open(__file__, "rb") as read_only, \
            pytest.raises(pe.EncodeError, match=r"^file: .* not a read-only one"):
        pe.write_bundled_program(bundled, read_only)  # type: ignore[arg-type]
    # a program's objects are not a bundled program's
    with pytest.raises(pe.EncodeError, match=r"missing \(a BundledProgram needs the attribute"):
        pe.encode_bundled_program(pe.Program())  # type: ignore[arg-type]
    with pytest.raises(pe.EncodeError, match=r"expected a BundledProgram object, got 'x'"):
        pe.encode_bundled_program("x")  # type: ignore[arg-type]


def test_a_property_that_raises_is_named() -> None:
    class Raising:
        version = 2
        method_test_suites: list = []

        @property
        def program(self) -> bytes:
            raise RuntimeError("boom")

    with pytest.raises(pe.EncodeError, match=r"^program: cannot be read: RuntimeError: boom$"):
        pe.encode_bundled_program(Raising())  # type: ignore[arg-type]


def test_the_program_is_read_once() -> None:
    class Counting:
        version = 2
        method_test_suites: list = []
        reads = 0

        @property
        def program(self) -> bytes:
            Counting.reads += 1
            return b"abc"

    pe.encode_bundled_program(Counting())  # type: ignore[arg-type]
    pe.write_bundled_program(Counting(), io.BytesIO())  # type: ignore[arg-type]
    assert Counting.reads == 2


def test_what_executorch_writes_as_an_empty_value_is_refused_but_none() -> None:
    """ExecuTorch's default writer makes an empty Value of anything it does not
    know, silently; here only None is an empty Value."""
    assert pe.encode_bundled_program(_program(_suite(B.Value(None)))) == \
        pe.encode_bundled_program(pe.bundled.BundledProgram(2, [pe.bundled.BundledMethodTestSuite(  # type: ignore[arg-type]
            "forward", [pe.bundled.BundledMethodTestCase([pe.bundled.Value()], [])])], b""))
    with pytest.raises(pe.EncodeError, match=r"inputs\[0\]\.val: expected one of Tensor, Int, Bool, "
                                            r"Double \(a ValueUnion\), got 3"):
        pe.encode_bundled_program(_program(_suite(B.Value(3))))  # type: ignore[arg-type]
