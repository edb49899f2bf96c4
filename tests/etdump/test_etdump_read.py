"""Reading ETDumps: the same, field by field, as ExecuTorch's reader on every
file the runtime (or flatcc driven the runtime's way) wrote; both forms; bad
input is one DecodeError; debug tensors are views of the debug buffer."""

from __future__ import annotations

import json
import mmap
import struct
import sys
from array import array
from pathlib import Path
from typing import Any, List

import pytest

import pte_encoder as pe
import pte_encoder.etdump as etd
from helpers import ROOT
from pte_encoder.schemas.etdump.codec import ETDUMP

sys.path.insert(0, str(ROOT / "benchmarks"))
import executorch_etdump  # noqa: E402

DATA = ROOT / "tests" / "data" / "corpus-etdump"
RUNS = sorted(DATA.glob("*mlp/*.etdp"))          # the runtime's, with ExecuTorch's decoded form
FILES = RUNS + sorted((DATA / "flatcc").glob("*.etdp"))  # and flatcc's, driven the runtime's way


def ids(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", RUNS, ids=ids)
def test_decoding_gives_what_executorch_gave(path: Path) -> None:
    """The corpus's JSON is ExecuTorch's deserialize_from_etdump_flatcc output."""
    assert etd.etdump_json_form(pe.read_etdump(path)) == json.loads(path.with_suffix(".json").read_text())


@pytest.mark.parametrize("path", FILES, ids=ids)
def test_the_json_text_is_written_in_pieces_as_json_dumps_writes_it(path: Path) -> None:
    dump = pe.read_etdump(path)
    assert etd.etdump_to_json(dump) == json.dumps(etd.etdump_json_form(dump), indent=1, ensure_ascii=False)


@pytest.mark.parametrize("path", FILES, ids=ids)
def test_decoding_agrees_with_executorchs_reader(path: Path) -> None:
    """ExecuTorch's reader rebuilt (flatc --json --size-prefixed, JSON, its dataclasses)."""
    data = path.read_bytes()
    theirs = executorch_etdump.deserialize_from_etdump_flatcc(data)
    assert etd.etdump_json_form(pe.decode_etdump(data)) == executorch_etdump.json_form(theirs)


@pytest.mark.parametrize("path", FILES, ids=ids)
def test_the_runtime_writes_size_prefixed_files(path: Path) -> None:
    data = path.read_bytes()
    assert struct.unpack_from("<I", data)[0] == len(data) - 4 and data[8:12] == b"ED00"
    assert etd.is_size_prefixed(data)


@pytest.mark.parametrize("path", FILES, ids=ids)
@pytest.mark.parametrize("layout", ["flatc", "flatbuffers"])
def test_the_plain_form_reads_the_same(path: Path, layout: str) -> None:
    """ExecuTorch's own writer (serialize_to_etdump_flatcc) leaves the prefix out."""
    dump = pe.read_etdump(path)
    plain = ETDUMP.encode(dump, layout=layout)
    assert plain[4:8] == b"ED00" and not etd.is_size_prefixed(plain)
    assert etd.etdump_json_form(pe.decode_etdump(plain)) == etd.etdump_json_form(dump)
    prefixed = ETDUMP.encode(dump, layout=layout, size_prefixed=True)
    assert etd.is_size_prefixed(prefixed)
    assert etd.etdump_json_form(pe.decode_etdump(prefixed)) == etd.etdump_json_form(dump)


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "mmap", "path"])
def test_every_kind_of_input(kind: str, tmp_path: Path) -> None:
    path = DATA / "mlp" / "debug.etdp"
    data = path.read_bytes()
    expected = etd.etdump_json_form(pe.decode_etdump(data))
    if kind == "path":
        dump = pe.read_etdump(path)
    elif kind == "mmap":
        with open(path, "rb") as f:
            dump = pe.decode_etdump(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
    else:
        dump = pe.decode_etdump({"bytes": bytes, "bytearray": bytearray, "memoryview": memoryview}[kind](data))
    assert etd.etdump_json_form(dump) == expected


def program_file() -> bytes:
    return (DATA / "mlp" / "program.pte").read_bytes()


def error_of(data: Any) -> pe.DecodeError:
    with pytest.raises(pe.DecodeError) as info:
        pe.decode_etdump(data)
    message = str(info.value)
    assert message and "\n" not in message
    return info.value


def test_a_program_is_not_an_etdump() -> None:
    assert "expected the file identifier 'ED00' at byte 8" in str(error_of(program_file()))


@pytest.mark.parametrize("path", FILES, ids=ids)
def test_truncated_files_are_refused(path: Path) -> None:
    data = path.read_bytes()
    for cut in (0, 3, 7, 11, 12, len(data) // 2, len(data) - 8, len(data) - 1):
        error_of(data[:cut])


@pytest.mark.parametrize("path", FILES, ids=ids)
def test_a_wrong_size_prefix_is_refused(path: Path) -> None:
    data = path.read_bytes()
    for declared in (len(data) - 5, len(data) - 3, len(data), 0, 2**32 - 1):
        error = error_of(struct.pack("<I", declared) + data[4:])
        assert f"the size prefix gives {declared} bytes after it, but {len(data) - 4} follow" in str(error)
    assert "the size prefix gives" in str(error_of(data + bytes(8)))  # trailing bytes


@pytest.mark.parametrize("path", FILES, ids=ids)
def test_a_prefixed_file_without_its_prefix(path: Path) -> None:
    """The runtime aligns from the prefix: without it, 8-byte fields are out of
    line, and refused; a file without any reads as the same ETDump."""
    data = path.read_bytes()
    try:
        stripped = pe.decode_etdump(data[4:])
    except pe.DecodeError as exc:
        assert "8-byte aligned" in str(exc)
        return
    assert path.name in ("allocators_only.etdp", "empty_block.etdp")
    assert etd.etdump_json_form(stripped) == etd.etdump_json_form(pe.decode_etdump(data))


@pytest.mark.parametrize("path", RUNS, ids=ids)
def test_a_run_without_its_prefix_is_refused(path: Path) -> None:
    assert "8-byte aligned" in str(error_of(path.read_bytes()[4:]))


def test_empty_and_non_bytes_input(tmp_path: Path) -> None:
    error_of(b"")
    assert "expected a bytes-like object, got int" in str(error_of(12))
    empty = tmp_path / "empty.etdp"
    empty.write_bytes(b"")
    for read in (pe.read_etdump, pe.read_debug_buffer):
        with pytest.raises(pe.DecodeError, match="the file is empty"):
            read(empty)


# -- the debug buffer ------------------------------------------------------------

def tensors_of(dump: etd.ETDump, buffer: Any) -> List[etd.DebugTensor]:
    return [t for run in dump.run_data or [] for e in run.events or [] if e.debug_event is not None
            for t in etd.debug_tensors(e.debug_event, buffer)]


def test_debug_tensors_are_views_of_the_debug_buffer() -> None:
    dump = pe.read_etdump(DATA / "mlp" / "debug.etdp")
    buffer = pe.read_debug_buffer(DATA / "mlp" / "debug.bin")
    found = tensors_of(dump, buffer)
    assert [(t.scalar_type, t.sizes) for t in found] == [
        (etd.ScalarType.FLOAT, [16, 32]), (etd.ScalarType.FLOAT, [4, 32]),
        (etd.ScalarType.FLOAT, [4, 32]), (etd.ScalarType.FLOAT, [32, 8]),
        (etd.ScalarType.FLOAT, [4, 8]), (etd.ScalarType.FLOAT, [4, 8]), (etd.ScalarType.FLOAT, [4, 8])]
    assert all(t.data.obj is buffer.obj for t in found)  # the mapping itself, not a copy
    assert [t.nbytes for t in found] == [2048, 512, 512, 1024, 128, 128, 128]
    # the first is permute_copy's output: the program's [32, 16] weight, transposed
    program = pe.read_program(DATA / "mlp" / "program.pte").program
    weight = next(b for b in program.constant_buffer or [] if len(b.storage or b"") == 32 * 16 * 4)
    w = array("f", bytes(weight.storage))
    out = array("f", bytes(found[0].data))
    assert out.tolist() == [w[c * 16 + r] for r in range(16) for c in range(32)]
    # the method's output is gelu's output
    assert bytes(found[-1].data) == bytes(found[-2].data)


def test_debug_tensors_of_every_kind_of_value() -> None:
    dump = pe.read_etdump(DATA / "flatcc" / "all_kinds.etdp")
    buffer = (DATA / "flatcc" / "all_kinds.bin").read_bytes()
    found = tensors_of(dump, buffer)
    empty = [t for t in found if t.sizes == [0]]
    assert empty and all(t.nbytes == 0 for t in empty)  # written with offset -1
    lists = [e.debug_event for run in dump.run_data or [] for e in run.events or []
             if e.debug_event is not None and e.debug_event.debug_entry is not None
             and e.debug_event.debug_entry.val == etd.ValueType.TensorList]
    assert lists and len(etd.debug_tensors(lists[0], buffer)) == 3
    first = array("f", bytes(found[0].data))
    assert first.tolist() == [i * 0.5 - 3.0 for i in range(6)]  # the harness's data


def test_a_tensor_outside_the_buffer_is_refused() -> None:
    buffer = bytes(100)
    tensor = etd.Tensor(scalar_type=etd.ScalarType.FLOAT, sizes=[5, 5], strides=[5, 1], offset=0)
    assert etd.debug_tensor(tensor, buffer).nbytes == 100
    for offset in (1, 100, -1, 2**40):
        tensor.offset = offset
        with pytest.raises(pe.DecodeError, match=f"tensor.offset: 100 bytes at {offset} are not all "
                                                 "in the 100-byte debug buffer"):
            etd.debug_tensor(tensor, buffer)


@pytest.mark.parametrize("tensor, message", [
    (etd.Tensor(scalar_type=99, sizes=[1], offset=0), "tensor.scalar_type: 99 has no known element size"),
    (etd.Tensor(scalar_type=etd.ScalarType.FLOAT, sizes=None, offset=0), "tensor.sizes: missing"),
    (etd.Tensor(scalar_type=etd.ScalarType.FLOAT, sizes=[2, -1], offset=0),
     r"tensor.sizes\[1\]: expected a size of at least 0, got -1"),
])
def test_tensors_that_cannot_be_read(tensor: etd.Tensor, message: str) -> None:
    with pytest.raises(pe.DecodeError, match=message):
        etd.debug_tensor(tensor, bytes(64))


def test_values_without_tensors() -> None:
    assert etd.debug_tensors(etd.Value(val=etd.ValueType.Int, int_value=etd.Int(3)), b"") == []
    assert etd.debug_tensors(etd.DebugEvent(), b"") == []
    with pytest.raises(pe.DecodeError, match="value.tensor: missing, though val is Tensor"):
        etd.debug_tensors(etd.Value(val=etd.ValueType.Tensor), b"")
    with pytest.raises(pe.DecodeError, match="expected an ETDump DebugEvent or Value, got str"):
        etd.debug_tensors("x", b"")  # type: ignore[arg-type]
    with pytest.raises(pe.DecodeError, match="expected an ETDump Tensor, got Tensor"):
        etd.debug_tensor(pe.Tensor(), b"")  # type: ignore[arg-type]


def test_the_json_form_is_executorchs(tmp_path: Path) -> None:
    path = DATA / "xnn_mlp" / "debug.etdp"
    text = etd.etdump_to_json(pe.read_etdump(path))
    assert json.loads(text) == json.loads(path.with_suffix(".json").read_text())
