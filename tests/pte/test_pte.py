"""encode_program / write_program: whole .pte files."""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from hypothesis import given, strategies as st

import executorch_mirror as et
import pte_encoder as pe
from helpers import CORPUS, CORPUS_CASES, decode, normalize
from pte_reader import read_pte
from strategies import table


def corpus_options(case: str) -> Dict[str, Any]:
    return pe.options_from_json((CORPUS / case / "options.json").read_text())


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_corpus_pte_is_byte_identical(case: str) -> None:
    program = pe.program_from_json((CORPUS / case / "program.json").read_text())
    before = repr(program)
    out = pe.encode_program(program, **corpus_options(case))
    assert out == (CORPUS / case / "expected.pte").read_bytes()
    assert repr(program) == before


class NamedDataStoreOutput:
    """Shaped like ExecuTorch's: buffers, and pte_data of DataEntry-like objects."""

    class DataEntry:
        def __init__(self, buffer_index: int, alignment: int) -> None:
            self.buffer_index = buffer_index
            self.alignment = alignment
            self.tensor_layout = None

    def __init__(self, named: pe.NamedDataOutput) -> None:
        self.buffers = list(named.buffers)
        self.pte_data = {k: self.DataEntry(v.buffer_index, v.alignment) for k, v in named.pte_data.items()}
        self.external_data: Dict[str, Any] = {}


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_corpus_pte_from_executorch_objects(case: str) -> None:
    program = et.program_from_json((CORPUS / case / "program.json").read_text())
    options = corpus_options(case)
    if options.get("mutable_data") is not None:
        options["mutable_data"] = [et.Buffer(storage=b) for b in options["mutable_data"]]
    if options.get("named_data") is not None:
        options["named_data"] = NamedDataStoreOutput(options["named_data"])
    before = repr(program)
    out = pe.encode_program(program, **options)
    assert out == (CORPUS / case / "expected.pte").read_bytes()
    assert repr(program) == before


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_write_program_writes_the_same_bytes(case: str, tmp_path: Path) -> None:
    program = pe.program_from_json((CORPUS / case / "program.json").read_text())
    expected = (CORPUS / case / "expected.pte").read_bytes()
    assert pe.write_program(program, tmp_path / "out.pte", **corpus_options(case)) == len(expected)
    assert (tmp_path / "out.pte").read_bytes() == expected
    stream = io.BytesIO()
    assert pe.write_program(program, stream, **corpus_options(case)) == len(expected)
    assert stream.getvalue() == expected
    assert os.listdir(tmp_path) == ["out.pte"]


BLOBS = st.binary(max_size=70)
POW2 = st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128, 256, 4096])


@st.composite
def pte_inputs(draw: st.DrawFn) -> Tuple[pe.Program, Dict[str, Any]]:
    program = draw(table("Program", flatc_safe=False))
    program.named_data = None
    program.segments = draw(st.sampled_from([None, []]))
    program.constant_buffer = [pe.Buffer(b) for b in draw(st.lists(BLOBS, max_size=5))]
    # Delegate blobs: some empty, some equal; every one used by some delegate.
    pool = draw(st.lists(BLOBS, min_size=1, max_size=3))
    blobs = draw(st.lists(st.sampled_from(pool + [b""]), max_size=5))
    program.backend_delegate_data = [pe.BackendDelegateInlineData(b) for b in blobs]
    templates = program.execution_plan or []
    refs = list(range(len(blobs))) + draw(st.lists(st.integers(0, max(len(blobs) - 1, 0)), max_size=3))
    if not templates and refs and blobs:
        templates = program.execution_plan = [pe.ExecutionPlan()]
    for template in templates:
        template.delegates = []
    if blobs:
        for i in refs:
            template = templates[draw(st.integers(0, len(templates) - 1))]
            template.delegates.append(pe.BackendDelegate(
                id="d", processed=pe.BackendDelegateDataReference(pe.DataLocation.INLINE, i)))
    options: Dict[str, Any] = {
        "segment_alignment": draw(st.sampled_from([1, 8, 128, 4096])),
        "constant_tensor_alignment": draw(st.one_of(st.none(), POW2)),
        "delegate_alignment": draw(st.one_of(st.none(), POW2)),
        "extract_delegate_segments": draw(st.booleans()),
    }
    mutable = draw(st.one_of(st.none(), st.lists(BLOBS, max_size=4)))
    if mutable is not None:
        options["mutable_data"] = [pe.Buffer(b) for b in mutable] if draw(st.booleans()) else mutable
    buffers = draw(st.lists(BLOBS, min_size=1, max_size=4))
    if draw(st.booleans()):
        keys = draw(st.lists(st.text(max_size=6), unique=True, max_size=6))
        entries = {k: pe.DataEntry(draw(st.integers(0, len(buffers) - 1)), draw(POW2)) for k in keys}
        options["named_data"] = pe.NamedDataOutput(buffers, entries)
    return program, options


def _storage(item: Any) -> bytes:
    return bytes(getattr(item, "storage", item))


@given(pte_inputs())
def test_generated_pte_files_keep_their_content(inputs: Tuple[pe.Program, Dict[str, Any]]) -> None:
    program, options = inputs
    before = repr(program)
    data = pe.encode_program(program, **options)
    assert repr(program) == before
    pte = read_pte(data)
    root = pte.program
    seg_align = options["segment_alignment"]
    tensor_align = options["constant_tensor_alignment"] or 16
    starts: List[Tuple[int, int]] = []  # (segment index, required alignment)

    constants = [b.storage for b in program.constant_buffer or []]
    if constants:
        assert root.ConstantBufferLength() == 0
        cs = root.ConstantSegment()
        offsets = [cs.Offsets(i) for i in range(cs.OffsetsLength())]
        assert all(o % tensor_align == 0 for o in offsets)
        segment = pte.segment(cs.SegmentIndex())
        assert [segment[o:o + len(c)] for o, c in zip(offsets, constants)] == constants
        starts.append((cs.SegmentIndex(), seg_align))

    mutable = [_storage(m) for m in options.get("mutable_data") or []]
    if sum(map(len, mutable)):
        ms = root.MutableDataSegments(0)
        segment = pte.segment(ms.SegmentIndex())
        offsets = [ms.Offsets(i) for i in range(ms.OffsetsLength())]
        assert [segment[o:o + len(m)] for o, m in zip(offsets, mutable)] == mutable
        assert len(segment) == sum(map(len, mutable))

    for p in range(root.ExecutionPlanLength()):
        template, given_plan = root.ExecutionPlan(p), program.execution_plan[p]
        for d in range(template.DelegatesLength()):
            ref = template.Delegates(d).Processed()
            blob = bytes(program.backend_delegate_data[given_plan.delegates[d].processed.index].data)
            if ref.Location() == pe.DataLocation.SEGMENT:
                assert options["extract_delegate_segments"] and blob
                assert pte.segment(ref.Index()) == blob
                starts.append((ref.Index(), seg_align))
            else:
                inline = root.BackendDelegateData(ref.Index())
                assert bytes(inline.Data(j) for j in range(inline.DataLength())) == blob
                assert not options["extract_delegate_segments"] or not blob
        # Everything but the delegate references is as given.
        ours, theirs = decode("ExecutionPlan", template), normalize("ExecutionPlan", given_plan)
        for side in (ours, theirs):
            for delegate in side["delegates"] or []:
                delegate["processed"] = None
        assert ours == theirs

    named = options.get("named_data")
    if named is not None:
        assert root.NamedDataLength() == len(named.pte_data)
        first_alignment: Dict[int, int] = {}
        for key, entry in named.pte_data.items():
            first_alignment.setdefault(entry.buffer_index, entry.alignment)
        for i, (key, entry) in enumerate(named.pte_data.items()):
            nd = root.NamedData(i)
            assert nd.Key().decode() == key
            assert pte.segment(nd.SegmentIndex()) == named.buffers[entry.buffer_index]
            starts.append((nd.SegmentIndex(), math.lcm(seg_align, first_alignment[entry.buffer_index])))
    for index, alignment in starts:
        assert pte.segment_offset(index) % alignment == 0
    if pte.header:
        assert pte.header.segment_base_offset % seg_align == 0


def delegated(location: pe.DataLocation = pe.DataLocation.INLINE, index: int = 0) -> pe.Program:
    return pe.Program(
        execution_plan=[pe.ExecutionPlan(delegates=[pe.BackendDelegate(
            id="x", processed=pe.BackendDelegateDataReference(location, index))])],
        backend_delegate_data=[pe.BackendDelegateInlineData(b"blob")], segments=[])


@pytest.mark.parametrize("program, options, message", [
    (pe.Program(), {"segment_alignment": 96}, "^segment_alignment: expected a power of two, got 96$"),
    (pe.Program(), {"constant_tensor_alignment": 3}, "^constant_tensor_alignment: expected a power of two"),
    (delegated(pe.DataLocation.SEGMENT), {},
     r"^execution_plan\[0\]\.delegates\[0\]\.processed\.location: .*already in a segment"),
    (delegated(index=1), {},
     r"^execution_plan\[0\]\.delegates\[0\]\.processed\.index: expected an index into the 1 "
     r"backend_delegate_data entries, got 1$"),
    (pe.Program(named_data=[pe.NamedData("k", 0)]), {"named_data": pe.NamedDataOutput([b"x"], {})},
     "^named_data: the program already has named data"),
    (pe.Program(), {"named_data": pe.NamedDataOutput([b"x"], {"w": pe.DataEntry(1, 16)})},
     r"^named_data\.pte_data\['w'\]\.buffer_index: expected an index into the 1 named_data.buffers, got 1$"),
    (pe.Program(), {"named_data": pe.NamedDataOutput([b"x"], {"w": pe.DataEntry(0, 24)})},
     r"^named_data\.pte_data\['w'\]\.alignment: expected a power of two, got 24$"),
    (pe.Program(constant_buffer=[pe.Buffer(b"a"), pe.Buffer(7)]), {},  # type: ignore[arg-type]
     r"^constant_buffer\[1\]\.storage: expected a bytes-like object or a list of integers, got 7$"),
    (pe.Program(version=-1, constant_buffer=[pe.Buffer(b"a")]), {},
     r"^version: expected an integer in \[0, 4294967295\], got -1$"),
])
def test_bad_input_writes_nothing(program: pe.Program, options: Dict[str, Any], message: str,
                                  tmp_path: Path) -> None:
    with pytest.raises(pe.EncodeError, match=message):
        pe.encode_program(program, **options)
    target = tmp_path / "out.pte"
    with pytest.raises(pe.EncodeError, match=message):
        pe.write_program(program, target, **options)
    assert os.listdir(tmp_path) == []


def test_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    program = pe.program_from_json((CORPUS / "mlp" / "program.json").read_text())
    target = tmp_path / "model.pte"
    target.write_bytes(b"previous contents")
    real_fdopen = os.fdopen
    written: List[int] = []

    class Failing(io.RawIOBase):
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def write(self, chunk: Any) -> int:
            if len(written) == 3:
                raise OSError("disk full")
            written.append(len(chunk))
            return int(self.inner.write(chunk))

        def close(self) -> None:
            self.inner.close()
            super().close()

    monkeypatch.setattr(os, "fdopen", lambda fd, mode: Failing(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="disk full"):
        pe.write_program(program, target)
    assert len(written) == 3
    assert os.listdir(tmp_path) == ["model.pte"]
    assert target.read_bytes() == b"previous contents"


def test_no_segments_means_no_header() -> None:
    program = pe.Program(execution_plan=[pe.ExecutionPlan(name="forward")], segments=[],
                         backend_delegate_data=[])
    assert pe.encode_program(program) == pe.encode_flatbuffer(program, constant_tensor_alignment=16)
