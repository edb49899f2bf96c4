""".ptd data files: the corpus ExecuTorch wrote, byte for byte; meaning through
the reference reader; hypothesis payloads against a rebuild of ExecuTorch's
serializer (JSON + flatc + header + segments); file-backed blobs (a stand-in
for ExecuTorch's FileBackedData, and FileData) in .ptd and .pte files; bad
input; memory."""

from __future__ import annotations

import base64
import gc
import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tracemalloc
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pte_encoder as pe
from pte_encoder.schemas.flat_tensor.codec import FLAT_TENSOR
from pte_encoder.formats.common.entries import checked_entries
from pte_encoder.schemas.flat_tensor.model import ScalarType
from helpers import ROOT, _TMP, decode_flatbuffer

sys.path.insert(0, str(ROOT / "benchmarks"))
from executorch_paths import FlatTensorPath  # noqa: E402

sys.path.remove(str(ROOT / "benchmarks"))

CORPUS_PTD = ROOT / "tests" / "data" / "corpus-ptd"
CASES = sorted(p.name for p in CORPUS_PTD.iterdir() if p.is_dir())
EXECUTORCH = FlatTensorPath(_TMP)


# ExecuTorch's own classes, mirrored: other class objects, same attributes.

@dataclass
class TensorLayout:
    scalar_type: ScalarType
    sizes: List[int]
    dim_order: List[int]


@dataclass
class DataEntry:
    buffer_index: int
    alignment: int
    tensor_layout: Optional[TensorLayout]


@dataclass
class DataPayload:
    buffers: Sequence[Any]
    named_data: Dict[str, DataEntry]


class FileBackedData:
    """A stand-in for ExecuTorch 1.5.1's FileBackedData (exir/_serialize/_cord.py):
    the same methods, a blob kept in a file, its size measured when made."""

    CHUNK = 8 * 1024 * 1024

    def __init__(self, path: str, cleanup: bool = False, sha256: Optional[bytes] = None) -> None:
        self._path = path
        self._size = os.path.getsize(path)
        self._sha256 = sha256

    def __len__(self) -> int:
        return self._size

    def prefix(self, size: int) -> bytes:
        with open(self._path, "rb") as f:
            return f.read(size)

    def sha256(self) -> bytes:
        with open(self._path, "rb") as f:
            return hashlib.sha256(f.read()).digest()

    def to_bytes(self) -> bytes:
        with open(self._path, "rb") as f:
            return f.read()

    def write_to_file(self, outfile: Any) -> None:
        with open(self._path, "rb") as f:
            shutil.copyfileobj(f, outfile, length=self.CHUNK)

    def close(self) -> None:
        pass


class Streamed:
    """A file-backed blob with no path to check: what it writes is all we know."""

    def __init__(self, data: bytes, claimed: int) -> None:
        self.data, self.claimed = data, claimed

    def __len__(self) -> int:
        return self.claimed

    def write_to_file(self, outfile: Any) -> None:
        for i in range(0, len(self.data), 7):
            outfile.write(self.data[i:i + 7])

    def to_bytes(self) -> bytes:
        return self.data


def corpus_payload(case: str) -> Any:
    """The case's payload.json read into the mirrored ExecuTorch classes."""
    data = json.loads((CORPUS_PTD / case / "payload.json").read_text())
    named = {}
    for key, entry in data["named_data"].items():
        layout = entry["tensor_layout"]
        named[key] = DataEntry(entry["buffer_index"], entry["alignment"], None if layout is None else
                               TensorLayout(ScalarType(layout["scalar_type"]), layout["sizes"],
                                            layout["dim_order"]))
    return DataPayload([base64.b64decode(b) for b in data["buffers"]], named), data["segment_alignment"]


def read_back(data: bytes) -> Dict[str, Any]:
    """A .ptd through the reference reader: header, named data, segments' bytes."""
    magic, length, fb_offset, fb_size, base, data_size = struct.unpack_from("<4sIQQQQ", data, 8)
    assert (magic, length, fb_offset) == (b"FH01", 40, 48)
    assert data[4:8] == b"FT01"
    assert fb_offset + fb_size <= base and base + data_size == len(data)
    root = decode_flatbuffer(data, FLAT_TENSOR.schema)
    assert root["version"] == 0
    segments = [data[base + s["offset"]:base + s["offset"] + s["size"]] for s in root["segments"]]
    return {"base": base, "segments": root["segments"], "blobs": segments, "named": root["named_data"]}


def meaning_matches(data: bytes, payload: Any, segment_alignment: int) -> None:
    got = read_back(data)
    assert got["base"] % segment_alignment == 0
    keys = list(payload.named_data)
    assert [n["key"] for n in got["named"]] == keys
    first_alignment: Dict[int, int] = {}
    for named in got["named"]:
        entry = payload.named_data[named["key"]]
        blob = payload.buffers[entry.buffer_index]
        blob = blob.to_bytes() if hasattr(blob, "to_bytes") else bytes(blob)
        assert got["blobs"][named["segment_index"]] == blob
        first_alignment.setdefault(named["segment_index"], entry.alignment or 1)
        layout = entry.tensor_layout
        if layout is None:
            assert named["tensor_layout"] is None
        else:
            assert named["tensor_layout"] == {"scalar_type": int(layout.scalar_type),
                                              "sizes": list(layout.sizes),
                                              "dim_order": list(layout.dim_order)}
    # One segment per distinct buffer, in first-use order, each aligned from
    # the segment base (which is aligned to segment_alignment only, as in
    # ExecuTorch: an entry's alignment above it holds relative to the base).
    assert sorted(first_alignment) == list(range(len(got["segments"])))
    for index, segment in enumerate(got["segments"]):
        assert segment["offset"] % max(first_alignment[index], segment_alignment) == 0


# The corpus.

@pytest.mark.parametrize("case", CASES)
def test_corpus_cases_are_identical(case: str, tmp_path: Path) -> None:
    expected = (CORPUS_PTD / case / "expected.ptd").read_bytes()
    payload, alignment = corpus_payload(case)
    assert pe.encode_data_file(payload, segment_alignment=alignment) == expected
    from_json, options = pe.payload_from_json((CORPUS_PTD / case / "payload.json").read_text())
    assert options == {"segment_alignment": alignment}
    assert pe.encode_data_file(from_json, **options) == expected
    assert pe.write_data_file(from_json, tmp_path / "out.ptd", **options) == len(expected)
    assert (tmp_path / "out.ptd").read_bytes() == expected
    stream = io.BytesIO()
    assert pe.write_data_file(payload, stream, segment_alignment=alignment) == len(expected)
    assert stream.getvalue() == expected
    assert EXECUTORCH.serialize(payload, alignment) == expected
    meaning_matches(expected, payload, alignment)
    assert os.listdir(tmp_path) == ["out.ptd"]


def test_corpus_weights_are_the_ones_the_program_loads() -> None:
    """two_linear's program.pte names its external constants by the keys of
    the .ptd (its named data is empty; the keys are in its tensors' extra info)."""
    program = (CORPUS_PTD / "two_linear" / "program.pte").read_bytes()
    payload, _ = corpus_payload("two_linear")
    for key in payload.named_data:
        assert key.encode() in program


def test_the_corpus_from_file_backed_blobs(tmp_path: Path) -> None:
    for case in CASES:
        payload, alignment = corpus_payload(case)
        files = []
        for index, blob in enumerate(payload.buffers):
            path = tmp_path / f"{case}-{index}.bin"
            path.write_bytes(blob)
            files.append(FileBackedData(str(path)) if index % 2 else pe.FileData(path))
        on_disk = DataPayload(files, payload.named_data)
        expected = (CORPUS_PTD / case / "expected.ptd").read_bytes()
        assert pe.encode_data_file(on_disk, segment_alignment=alignment) == expected
        out = tmp_path / f"{case}.ptd"
        assert pe.write_data_file(on_disk, out, segment_alignment=alignment) == len(expected)
        assert out.read_bytes() == expected
        stream = io.BytesIO()
        pe.write_data_file(on_disk, stream, segment_alignment=alignment)
        assert stream.getvalue() == expected


def test_cli_encode_data(tmp_path: Path) -> None:
    for case in CASES:
        out = tmp_path / f"{case}.ptd"
        result = subprocess.run([sys.executable, "-m", "pte_encoder", "encode-data",
                                 str(CORPUS_PTD / case / "payload.json"), "-o", str(out)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert out.read_bytes() == (CORPUS_PTD / case / "expected.ptd").read_bytes()
        assert result.stdout.startswith(f"wrote {out} (")


def test_cli_encode_data_errors_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"buffers": ["AAAA"], "named_data": {"w": {"buffer_index": 1}}}))
    out = tmp_path / "out.ptd"
    result = subprocess.run([sys.executable, "-m", "pte_encoder", "encode-data", str(bad), "-o",
                             str(out)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == ("pte-encoder: error: named_data['w'].buffer_index: expected an index "
                             "into the 1 buffers, got 1\n")
    assert not out.exists()


# Generated payloads against ExecuTorch's serializer, rebuilt.

ALIGNMENTS = st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096, 8192, 2**16])
KEYS = st.one_of(st.text(max_size=12), st.sampled_from(["layers.3.w", "ß∂ƒ", "权重", "", "🙂", "a\0b"]))


@st.composite
def payloads(draw: Any) -> Any:
    buffers = draw(st.lists(st.binary(max_size=300), max_size=6))
    entries = {}
    if buffers:
        for key in draw(st.lists(KEYS, max_size=8, unique=True)):
            layout = draw(st.one_of(st.none(), st.builds(
                TensorLayout, scalar_type=st.sampled_from(list(ScalarType)),
                sizes=st.lists(st.integers(-2**31, 2**31 - 1), max_size=5),
                dim_order=st.lists(st.integers(0, 255), max_size=5))))
            entries[key] = DataEntry(draw(st.integers(0, len(buffers) - 1)), draw(ALIGNMENTS), layout)
    return DataPayload(buffers, entries)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads(), ALIGNMENTS)
def test_generated_payloads_match_executorch(payload: Any, segment_alignment: int) -> None:
    ours = pe.encode_data_file(payload, segment_alignment=segment_alignment)
    assert ours == EXECUTORCH.serialize(payload, segment_alignment)
    stream = io.BytesIO()
    assert pe.write_data_file(payload, stream, segment_alignment=segment_alignment) == len(ours)
    assert stream.getvalue() == ours
    meaning_matches(ours, payload, segment_alignment)


@pytest.mark.parametrize("payload", [
    DataPayload([], {}),
    DataPayload([b"unused"], {}),
    DataPayload([b"", b"x"], {"empty": DataEntry(0, 1, None), "x": DataEntry(1, 1, None)}),
    DataPayload([b"shared" * 10, b"b"], {"a": DataEntry(0, 64, None), "b": DataEntry(1, 1, None),
                                         "a2": DataEntry(0, 4096, None)}),
    DataPayload([b"w" * 33], {"big": DataEntry(0, 2**20, TensorLayout(ScalarType.FLOAT, [], []))}),
    DataPayload([b"w" * 8], {"权重/ß": DataEntry(0, None, TensorLayout(ScalarType.BOOL, [2, 4], [1, 0]))}),  # type: ignore[arg-type]
], ids=["empty", "unused-buffer", "empty-buffer", "shared", "huge-alignment", "non-ascii"])
@pytest.mark.parametrize("segment_alignment", [1, 16, 128, 2**14])
def test_edge_payloads_match_executorch(payload: Any, segment_alignment: int) -> None:
    ours = pe.encode_data_file(payload, segment_alignment=segment_alignment)
    assert ours == EXECUTORCH.serialize(payload, segment_alignment)
    meaning_matches(ours, payload, segment_alignment)


def test_typed_payload_and_our_layouts() -> None:
    payload = pe.DataPayload([bytearray(b"abcd"), memoryview(b"xyzw1234")[::2]],
                             {"a": pe.DataEntry(0, 4, pe.TensorLayout(pe.ScalarType.INT, [1], [0])),
                              "b": pe.DataEntry(1)})
    copy = DataPayload([b"abcd", b"xz13"], {"a": DataEntry(0, 4, TensorLayout(ScalarType.INT, [1], [0])),
                                            "b": DataEntry(1, 1, None)})
    assert pe.encode_data_file(payload) == EXECUTORCH.serialize(copy)


def test_integer_likes_and_tuples_are_taken_as_their_numbers() -> None:
    class Index(int):
        pass

    plain = DataPayload([b"abc", b"de"], {"a": DataEntry(1, 8, TensorLayout(ScalarType.FLOAT, [2, 3], [1, 0])),
                                          "b": DataEntry(0, 1, TensorLayout(ScalarType.BOOL, [], []))})
    likes = DataPayload((b"abc", bytearray(b"de")),
                        {"a": DataEntry(Index(1), Index(8), TensorLayout(6, (Index(2), 3), b"\1\0")),  # type: ignore[arg-type]
                         "b": DataEntry(0, 1, TensorLayout(Index(11), (), ()))})  # type: ignore[arg-type]
    assert pe.encode_data_file(likes) == pe.encode_data_file(plain) == EXECUTORCH.serialize(plain)


def test_payload_is_not_modified() -> None:
    payload, alignment = corpus_payload("two_linear")
    before = repr(payload)
    pe.encode_data_file(payload, segment_alignment=alignment)
    assert repr(payload) == before


# File-backed blobs.

def _pte_program() -> Any:
    return pe.Program(version=0, execution_plan=[], constant_buffer=[], backend_delegate_data=[],
                      segments=[])


def test_file_backed_named_data_in_pte(tmp_path: Path) -> None:
    blobs = [bytes(range(256)) * 3, b"second blob"]
    paths = []
    for index, blob in enumerate(blobs):
        paths.append(tmp_path / f"{index}.bin")
        paths[-1].write_bytes(blob)
    entries = {"w": pe.DataEntry(0, 64), "v": pe.DataEntry(1, 16, pe.TensorLayout(6, [2], [0])),
               "w2": pe.DataEntry(0, 1)}
    expected = pe.encode_program(_pte_program(), named_data=pe.NamedDataOutput(blobs, entries))
    for files in ([FileBackedData(str(p)) for p in paths], [pe.FileData(p) for p in paths]):
        named = pe.NamedDataOutput(files, entries)
        assert pe.encode_program(_pte_program(), named_data=named) == expected
        out = tmp_path / "out.pte"
        assert pe.write_program(_pte_program(), out, named_data=named) == len(expected)
        assert out.read_bytes() == expected
        stream = io.BytesIO()
        pe.write_program(_pte_program(), stream, named_data=named)
        assert stream.getvalue() == expected


@dataclass
class NamedDataStoreOutput:
    """ExecuTorch's NamedDataStoreOutput, mirrored."""

    buffers: List[Any]
    pte_data: Dict[str, DataEntry]
    external_data: Dict[str, Dict[str, DataEntry]]


def test_executorch_named_data_store_output_with_file_backed_data(tmp_path: Path) -> None:
    path = tmp_path / "w.bin"
    path.write_bytes(b"\x07" * 1000)
    entries = {"w": DataEntry(0, 32, TensorLayout(ScalarType.BYTE, [1000], [0])),
               "b": DataEntry(1, 1, None)}
    store = NamedDataStoreOutput([FileBackedData(str(path)), b"bias"], entries, {"other.ptd": {}})
    plain = pe.NamedDataOutput([b"\x07" * 1000, b"bias"], entries)
    expected = pe.encode_program(_pte_program(), named_data=plain)
    assert pe.encode_program(_pte_program(), named_data=store) == expected
    stream = io.BytesIO()
    assert pe.write_program(_pte_program(), stream, named_data=store) == len(expected)
    assert stream.getvalue() == expected


def test_file_data_writes_itself(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = os.urandom(3 * (1 << 20) + 5)
    path.write_bytes(data)
    out = io.BytesIO()
    pe.FileData(path, offset=7).write_to_file(out)
    assert out.getvalue() == data[7:]


def test_file_data_slices(tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(bytes(range(200)))
    part = pe.FileData(path, offset=50, size=100)
    rest = pe.FileData(str(path), offset=150)
    assert (len(part), len(rest)) == (100, 50)
    assert part.to_bytes() == bytes(range(50, 150)) and rest.prefix(3) == bytes([150, 151, 152])
    assert part.sha256() == hashlib.sha256(bytes(range(50, 150))).digest()
    payload = pe.DataPayload([part, rest], {"p": pe.DataEntry(0, 32), "r": pe.DataEntry(1, 8)})
    expected = pe.encode_data_file(pe.DataPayload([bytes(range(50, 150)), bytes(range(150, 200))],
                                                  payload.named_data))
    assert pe.encode_data_file(payload) == expected
    out = tmp_path / "out.ptd"
    pe.write_data_file(payload, out)
    assert out.read_bytes() == expected
    assert repr(part) == f"FileData({str(path)!r}, offset=50, size=100)"
    with pytest.raises(pe.EncodeError, match=r"^offset: expected a non-negative integer, got -1$"):
        pe.FileData(path, offset=-1)
    with pytest.raises(pe.EncodeError, match=r"^size: expected"):
        pe.FileData(path, size=True)  # type: ignore[arg-type]
    with pytest.raises(pe.EncodeError, match=r"^path: expected a readable file"):
        pe.FileData(tmp_path / "missing.bin")


def _old_file(tmp_path: Path) -> Path:
    out = tmp_path / "out.ptd"
    out.write_bytes(b"old")
    return out


def _assert_untouched(tmp_path: Path, out: Path, others: Sequence[str]) -> None:
    assert out.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == sorted(["out.ptd", *others])


@pytest.mark.parametrize("kind", ["FileData", "FileBackedData"])
@pytest.mark.parametrize("change", ["gone", "shorter", "longer"])
def test_files_that_changed_are_refused_and_nothing_is_written(tmp_path: Path, kind: str,
                                                               change: str) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"x" * 1000)
    source = pe.FileData(blob) if kind == "FileData" else FileBackedData(str(blob))
    if change == "gone":
        blob.unlink()
    else:
        blob.write_bytes(b"x" * (500 if change == "shorter" else 1500))
    payload = pe.DataPayload([b"ok", source], {"a": pe.DataEntry(0), "b": pe.DataEntry(1)})
    named = pe.NamedDataOutput([b"ok", source], {"a": pe.DataEntry(0), "b": pe.DataEntry(1)})
    others = [] if change == "gone" else ["blob.bin"]
    if change == "longer" and kind == "FileData":
        # A FileData is a slice: a longer file still holds it.
        assert pe.encode_data_file(payload) == pe.encode_data_file(
            pe.DataPayload([b"ok", b"x" * 1000], payload.named_data))
        return
    out = _old_file(tmp_path)
    if change == "gone":
        reason = "cannot read .*: No such file or directory"
    else:
        reason = "(FileData.*: )?the file .*holds (500|1500) bytes"
    for place, call in [
        ("buffers[1]", lambda: pe.write_data_file(payload, out)),
        ("buffers[1]", lambda: pe.write_data_file(payload, io.BytesIO())),
        ("buffers[1]", lambda: pe.encode_data_file(payload)),
        ("named_data.buffers[1]", lambda: pe.write_program(_pte_program(), out, named_data=named)),
        ("named_data.buffers[1]", lambda: pe.encode_program(_pte_program(), named_data=named)),
    ]:
        with pytest.raises(pe.EncodeError, match=rf"^{re.escape(place)}: {reason}"):
            call()
        _assert_untouched(tmp_path, out, others)


@pytest.mark.parametrize("claimed", [5, 100])
def test_blobs_without_a_path_are_counted_as_they_stream(tmp_path: Path, claimed: int) -> None:
    """A file-backed blob with no path to check: a regular file target is left
    untouched; a file object keeps the bytes written before the error, but
    never more than the blob claimed."""
    source = Streamed(b"y" * 50, claimed)
    payload = pe.DataPayload([source], {"s": pe.DataEntry(0)})
    out = _old_file(tmp_path)
    message = "gives more than the 5 bytes" if claimed == 5 else "gave 50 bytes, expected 100"
    with pytest.raises(pe.EncodeError, match=rf"^buffers\[0\]: the file-backed blob {message}"):
        pe.write_data_file(payload, out)
    _assert_untouched(tmp_path, out, [])
    stream = io.BytesIO()
    with pytest.raises(pe.EncodeError, match=rf"^buffers\[0\]: the file-backed blob {message}"):
        pe.write_data_file(payload, stream)
    good = pe.encode_data_file(pe.DataPayload([b"y" * claimed], payload.named_data))
    written = stream.getvalue()
    assert written == good[:len(written)] and len(written) <= len(good) - max(0, claimed - 50)
    with pytest.raises(pe.EncodeError, match=rf"^buffers\[0\]: the file-backed blob {message}"):
        pe.encode_data_file(payload)


def test_a_failing_output_is_reported_as_such(tmp_path: Path) -> None:
    """An error writing the output is not blamed on the blob being read."""
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"z" * 100)

    class Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            raise OSError(28, "No space left on device")

    payload = pe.DataPayload([FileBackedData(str(blob))], {"s": pe.DataEntry(0)})
    with pytest.raises(OSError, match="No space left") as info:
        pe.write_data_file(payload, Full())
    assert not isinstance(info.value, pe.EncodeError)


# Bad input.

GOOD = TensorLayout(ScalarType.FLOAT, [2, 3], [0, 1])


@pytest.mark.parametrize("payload, segment_alignment, message", [
    (DataPayload([b"a"], {"w": DataEntry(1, 1, None)}), 128,
     r"named_data['w'].buffer_index: expected an index into the 1 buffers, got 1"),
    (DataPayload([b"a"], {"w": DataEntry(-1, 1, None)}), 128,
     r"named_data['w'].buffer_index: expected an index into the 1 buffers, got -1"),
    (DataPayload([b"a"], {"w": DataEntry(True, 1, None)}), 128,  # type: ignore[arg-type]
     r"named_data['w'].buffer_index: expected an index into the 1 buffers, got True"),
    (DataPayload([b"a"], {"w": DataEntry(0, 3, None)}), 128,
     r"named_data['w'].alignment: expected a power of two, got 3"),
    (DataPayload([b"a"], {"w": DataEntry(0, 0, None)}), 128,
     r"named_data['w'].alignment: expected a power of two, got 0"),
    (DataPayload([b"a"], {"w": DataEntry(0, 1, None), "v": DataEntry(0, 6, None)}), 128,
     r"named_data['v'].alignment: expected a power of two, got 6"),
    (DataPayload([b"a"], {"w": DataEntry(0, 1, None)}), 96,
     r"segment_alignment: expected a power of two, got 96"),
    (DataPayload([b"a"], {"w": DataEntry(0, 1, None)}), None,
     r"segment_alignment: expected a power of two, got None"),
    (DataPayload([b"a"], {7: DataEntry(0, 1, None)}), 128,  # type: ignore[dict-item]
     r"named_data[7]: expected a str key, got 7"),
    (DataPayload([b"a"], {"\udc80": DataEntry(0, 1, None)}), 128,
     r"named_data['\udc80']: expected a key encodable as UTF-8, got '\udc80'"),
    (DataPayload([b"a"], {"w": "entry"}), 128,  # type: ignore[dict-item]
     r"named_data['w']: expected a DataEntry object, got 'entry'"),
    (DataPayload(["text"], {"w": DataEntry(0, 1, None)}), 128,
     r"buffers[0]: expected a bytes-like or file-backed object (FileData, FileBackedData), got 'text'"),
    (DataPayload([None], {"w": DataEntry(0, 1, None)}), 128,
     r"buffers[0]: expected a bytes-like or file-backed object (FileData, FileBackedData), got None"),
    (DataPayload(b"ab", {}), 128, r"buffers: expected a list of buffers, got b'ab'"),
    (DataPayload([], [("w", 1)]), 128,  # type: ignore[arg-type]
     r"named_data: expected a mapping of str keys to DataEntry objects, got [('w', 1)]"),
    (DataPayload([b"a"], {"layers.3.w": DataEntry(0, 1, TensorLayout(ScalarType.FLOAT, [2, 2**31], [0, 1]))}), 128,
     r"named_data['layers.3.w'].tensor_layout.sizes[1]: expected an integer in [-2147483648, 2147483647], got 2147483648"),
    (DataPayload([b"a"], {"w": DataEntry(0, 1, TensorLayout(ScalarType.FLOAT, [2, True], [0, 1]))}), 128,
     r"named_data['w'].tensor_layout.sizes[1]: expected an integer, got True"),
    (DataPayload([b"a"], {"w": DataEntry(0, 1, TensorLayout(ScalarType.FLOAT, [2, 2.0], [0, 1]))}), 128,
     r"named_data['w'].tensor_layout.sizes[1]: expected an integer, got 2.0"),
    # The quick check leaves the items of sizes and dim_order, bools apart, to
    # the codec's packing: each of these is refused there, then named here.
    (DataPayload([b"a"], {"w": DataEntry(0, 1, TensorLayout(ScalarType.FLOAT, [Decimal(2)], [0]))}), 128,  # type: ignore[list-item]
     r"named_data['w'].tensor_layout.sizes[0]: expected an integer, got Decimal('2')"),
    (DataPayload([b"a"], {"w": DataEntry(0, 1, TensorLayout(ScalarType.FLOAT, ["2"], [0]))}), 128,  # type: ignore[list-item]
     r"named_data['w'].tensor_layout.sizes[0]: expected an integer, got '2'"),
    (DataPayload([b"a"], {"w": DataEntry(0, 1, TensorLayout(ScalarType.FLOAT, [2, 1], [0, 1.0]))}), 128,  # type: ignore[list-item]
     r"named_data['w'].tensor_layout.dim_order[1]: expected an integer, got 1.0"),
    (DataPayload([b"a"], {"w": DataEntry(0, 1, TensorLayout(ScalarType.FLOAT, [2, 1], [0, True]))}), 128,
     r"named_data['w'].tensor_layout.dim_order[1]: expected an integer, got True"),
    (DataPayload([b"a"], {"w": DataEntry(0, 1, TensorLayout(ScalarType.FLOAT, [2], [-1]))}), 128,
     r"named_data['w'].tensor_layout.dim_order[0]: expected an integer in [0, 255], got -1"),
    (DataPayload([b"a"], {"w": DataEntry(0, 1, TensorLayout(ScalarType.FLOAT, 5, [0]))}), 128,  # type: ignore[arg-type]
     r"named_data['w'].tensor_layout.sizes: expected a list of integers, got 5"),
    (DataPayload([b"a"], {"w": DataEntry(0, 1, TensorLayout(ScalarType.FLOAT, [2], [256]))}), 128,
     r"named_data['w'].tensor_layout.dim_order[0]: expected an integer in [0, 255], got 256"),
    (DataPayload([b"a"], {"w": DataEntry(0, 1, TensorLayout(128, [2], [0]))}), 128,  # type: ignore[arg-type]
     r"named_data['w'].tensor_layout.scalar_type: expected an integer in [-128, 127], got 128"),
    (DataPayload([b"a"], {"w": DataEntry(0, 1, TensorLayout("FLOAT", [2], [0]))}), 128,  # type: ignore[arg-type]
     r"named_data['w'].tensor_layout.scalar_type: expected an integer, got 'FLOAT'"),
    (DataPayload([b"a"], {"w": DataEntry(0, 1, [6, [2], [0]])}), 128,  # type: ignore[arg-type]
     r"named_data['w'].tensor_layout: expected a TensorLayout object, got [6, [2], [0]]"),
    ("payload", 128, r"payload: expected a DataPayload (buffers, named_data), got 'payload': it has no 'buffers'"),
], ids=lambda v: None)
def test_bad_input_is_named_and_nothing_is_written(payload: Any, segment_alignment: Any, message: str,
                                                   tmp_path: Path) -> None:
    out = _old_file(tmp_path)
    for call in (lambda: pe.encode_data_file(payload, segment_alignment=segment_alignment),
                 lambda: pe.write_data_file(payload, out, segment_alignment=segment_alignment)):
        with pytest.raises(pe.EncodeError) as info:
            call()
        assert str(info.value) == message
    stream = io.BytesIO()
    with pytest.raises(pe.EncodeError):
        pe.write_data_file(payload, stream, segment_alignment=segment_alignment)
    assert stream.getvalue() == b""
    _assert_untouched(tmp_path, out, [])


def test_bad_targets() -> None:
    with pytest.raises(pe.EncodeError, match="^file: expected a path or a binary file object"):
        pe.write_data_file(pe.DataPayload(), io.StringIO())


# The JSON form.

@pytest.mark.parametrize("text, message", [
    ('{"buffers": [], "named_data": {}, "buffers": []}', "buffers: field set more than once"),
    ('{"buffers": [], "named_data": {"a": {"buffer_index": 0}, "a": {"buffer_index": 0}}}',
     "named_data['a']: key set more than once"),
    ('{"buffers": [], "named_data": {}, "extra": 1}', "extra: not a field of a payload"),
    ('{"buffers": ["AAAA"], "named_data": {"a": {"buffer_index": true}}}',
     "named_data['a'].buffer_index: expected an integer, got true"),
    ('{"buffers": ["AAAA"], "named_data": {"a": {"buffer_index": 0, "alignment": false}}}',
     "named_data['a'].alignment: expected an integer, got false"),
    ('{"buffers": ["AAAA"], "named_data": {"a": {"buffer_index": 0, "alignment": 12}}}',
     "named_data['a'].alignment: expected a power of two, got 12"),
    ('{"buffers": ["AAAA"], "named_data": {"a": {"alignment": 1}}}', "named_data['a'].buffer_index: missing"),
    ('{"buffers": ["AAAA"], "named_data": {"a": {"buffer_index": 0, "tensor_layout": '
     '{"scalar_type": 6, "sizes": [1, true], "dim_order": [0]}}}}',
     "named_data['a'].tensor_layout.sizes[1]: expected an integer, got true"),
    ('{"buffers": ["AAAA"], "named_data": {"a": {"buffer_index": 0, "tensor_layout": '
     '{"scalar_type": 6, "sizes": [1]}}}}', "named_data['a'].tensor_layout.dim_order: missing"),
    ('{"buffers": ["AAAA"], "named_data": {"a": {"buffer_index": 0, "tensor_layout": '
     '{"scalar_type": 6, "sizes": [1], "dim_order": [0], "x": 1}}}}',
     "named_data['a'].tensor_layout.x: not a field of a TensorLayout"),
    ('{"buffers": ["A"], "named_data": {}}', 'buffers[0]: expected a base64 string, got "A"'),
    ('{"buffers": "AAAA", "named_data": {}}', 'buffers: expected a list of base64 strings, got "AAAA"'),
    ('{"buffers": [], "named_data": []}', "named_data: expected an object"),
    ('{"segment_alignment": 3, "buffers": [], "named_data": {}}',
     "segment_alignment: expected a power of two, got 3"),
    ('{"segment_alignment": true, "buffers": [], "named_data": {}}',
     "segment_alignment: expected an integer, got true"),
    ("[" * 100000 + "]" * 100000, "invalid JSON: nested too deeply"),
    ("{", "invalid JSON: "),
    ("[]", "payload: expected an object (a payload), got a list"),
])
def test_hostile_json_is_refused(text: str, message: str) -> None:
    with pytest.raises(pe.EncodeError) as info:
        pe.payload_from_json(text)
    assert str(info.value).startswith(message)


def test_json_defaults() -> None:
    payload, options = pe.payload_from_json(
        '{"segment_alignment": null, "buffers": ["AAAA"], "named_data": {"a": {"buffer_index": 0}}}')
    assert options == {}
    assert payload == pe.DataPayload([b"\0\0\0"], {"a": pe.DataEntry(0, 1, None)})


# Memory.

def _peak(fn: Any) -> int:
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


def test_write_data_file_streams_256_mib_of_file_backed_weights(tmp_path: Path) -> None:
    """256 MiB of weights in files (sparse, so making them costs nothing), half
    FileData and half ExecuTorch-style FileBackedData: writing the .ptd peaks
    under 32 MiB traced."""
    mib = 1 << 20
    buffers: List[Any] = []
    for index in range(8):
        path = _sparse(tmp_path / f"w{index}.bin", 32 * mib - 3 * index)
        buffers.append(pe.FileData(path) if index % 2 else FileBackedData(str(path)))
    payload = pe.DataPayload(buffers, {f"layers.{i}.w": pe.DataEntry(i, 64, pe.TensorLayout(6, [8 * mib - i], [0]))
                                       for i in range(8)})
    out = tmp_path / "out.ptd"
    sizes = []
    peak = _peak(lambda: sizes.append(pe.write_data_file(payload, out)))
    assert sizes[0] == out.stat().st_size > 256 * mib - 100
    assert peak < 32 * mib, peak
    with open(out, "rb") as f:
        head = f.read(4096)
    assert head[4:8] == b"FT01" and head[8:12] == b"FH01"
    out.unlink()


def test_encode_data_file_peaks_near_the_output_size(tmp_path: Path) -> None:
    mib = 1 << 20
    blobs = [os.urandom(mib) for _ in range(24)] + [os.urandom(100) for _ in range(2000)]
    payload = pe.DataPayload(blobs, {f"t{i}": pe.DataEntry(i, 16, pe.TensorLayout(6, [i], [0]))
                                     for i in range(len(blobs))})
    sizes = []
    peak = _peak(lambda: sizes.append(len(pe.encode_data_file(payload))))
    assert peak <= 1.1 * sizes[0], (peak, sizes[0])
    files = [pe.FileData(_sparse(tmp_path / f"f{i}.bin", 8 * mib)) for i in range(4)]
    on_disk = pe.DataPayload(files, {f"f{i}": pe.DataEntry(i, 16) for i in range(4)})
    sizes = []
    peak = _peak(lambda: sizes.append(len(pe.encode_data_file(on_disk))))
    assert peak <= 1.1 * sizes[0], (peak, sizes[0])



def test_huge_alignments_cost_no_memory_when_written() -> None:
    """Padding to a 256 MiB alignment goes out as views of one zero block."""
    payload = pe.DataPayload([b"a", b"b"], {"a": pe.DataEntry(0, 1), "b": pe.DataEntry(1, 2**28)})
    sink = io.BufferedWriter(io.FileIO(os.devnull, "w"))
    sizes = []
    peak = _peak(lambda: sizes.append(pe.write_data_file(payload, sink, segment_alignment=2**27)))
    assert sizes == [2**27 + 2**28 + 1]  # base, then "b" at offset 2**28
    assert peak < 1 << 20, peak


class Flushing(Streamed):
    """A file-backed blob that flushes the file object it was given, as a
    write_to_file written against io.BufferedIOBase may."""

    def write_to_file(self, outfile: Any) -> None:
        super().write_to_file(outfile)
        outfile.flush()


def test_a_blob_may_flush_the_file_it_writes_to(tmp_path: Path) -> None:
    data = bytes(range(50))
    payload = pe.DataPayload([Flushing(data, len(data))], {"w": pe.DataEntry(0, 16)})
    expected = pe.encode_data_file(pe.DataPayload([data], {"w": pe.DataEntry(0, 16)}))
    assert pe.encode_data_file(payload) == expected
    assert pe.write_data_file(payload, tmp_path / "out.ptd") == len(expected)
    assert (tmp_path / "out.ptd").read_bytes() == expected
    stream = io.BytesIO()
    pe.write_data_file(payload, stream)
    assert stream.getvalue() == expected
    named = pe.NamedDataOutput([Flushing(data, len(data))], {"w": pe.DataEntry(0, 16)})
    program = pe.Program(version=0, execution_plan=[], constant_buffer=[], backend_delegate_data=[], segments=[])
    assert pe.encode_program(program, named_data=named) == \
        pe.encode_program(program, named_data=pe.NamedDataOutput([data], {"w": pe.DataEntry(0, 16)}))


def test_the_first_bad_entry_is_named_whichever_check_finds_it() -> None:
    """The quick check leaves an out-of-range size to the codec, and finds a
    bad buffer_index itself: the error still names the first bad entry."""
    payload = pe.DataPayload([b"a"], {
        "A": pe.DataEntry(0, 1, pe.TensorLayout(pe.ScalarType.FLOAT, [2**31], [0])),
        "B": pe.DataEntry(5, 1, None)})
    with pytest.raises(pe.EncodeError) as info:
        pe.encode_data_file(payload)
    assert info.value.path == "named_data['A'].tensor_layout.sizes[0]"


@pytest.mark.parametrize("sizes, dim_order, place", [
    ([2, True], [0, 1], "sizes[1]"), ([2], [False], "dim_order[0]")])
def test_a_bool_found_late_still_names_the_first_bad_entry(sizes: List[Any], dim_order: List[Any],
                                                            place: str) -> None:
    """The quick check looks for bools in the sizes and dim_order of the
    entries it took, all together, before the first entry it did not take
    (here a bad buffer_index) and at the end: either way the first bad entry
    is named."""
    bad = pe.DataEntry(0, 1, pe.TensorLayout(pe.ScalarType.FLOAT, sizes, dim_order))
    good = pe.DataEntry(0, 1, pe.TensorLayout(pe.ScalarType.FLOAT, [2], [0]))
    for named in ({"A": good, "B": bad, "C": pe.DataEntry(5, 1, None)}, {"A": good, "B": bad, "C": good}):
        with pytest.raises(pe.EncodeError) as info:
            pe.encode_data_file(pe.DataPayload([b"a"], named))
        assert info.value.path == f"named_data['B'].tensor_layout.{place}"
        # The check itself, without the .ptd's second look after a failure:
        with pytest.raises(pe.EncodeError) as info:
            checked_entries(named, 1, where="named_data", buffers="buffers", layouts=True)
        assert info.value.path == f"named_data['B'].tensor_layout.{place}"
