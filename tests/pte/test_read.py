"""decode_flatbuffer and decode_program: round trips on the corpus and on
generated programs, both writers' layouts, zero-copy blobs, and precise errors."""

from __future__ import annotations

import mmap
import struct
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest
from hypothesis import given, strategies as st

import pte_encoder as pe
from helpers import CORPUS, CORPUS_CASES, flatc_binary, load_options, normalize
from strategies import ALIGNMENTS, programs


def corpus_options(case: str) -> Dict[str, Any]:
    """encode_program's options of a case, without its blobs."""
    options = pe.options_from_json((CORPUS / case / "options.json").read_text())
    options.pop("mutable_data", None)
    options.pop("named_data", None)
    return options


def blob_meaning(pte: pe.PteFile) -> Tuple[Any, Any]:
    mutable = None if pte.mutable_data is None else [bytes(b) for b in pte.mutable_data]
    named = None if pte.named_data is None else (
        [bytes(b) for b in pte.named_data.buffers],
        {k: (e.buffer_index, e.alignment) for k, e in pte.named_data.pte_data.items()})
    return mutable, named


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_corpus_flatbuffer_round_trips_to_the_same_bytes(case: str) -> None:
    options = load_options(case)
    data = (CORPUS / case / "flatbuffer.bin").read_bytes()
    program = pe.decode_flatbuffer(data)
    assert pe.encode_flatbuffer(program,
                                constant_tensor_alignment=options["constant_tensor_alignment"],
                                delegate_alignment=options["delegate_alignment"]) == data
    expected = pe.program_from_json((CORPUS / case / "flatbuffer.json").read_text())
    assert normalize("Program", program) == normalize("Program", expected)


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_flatbuffers_runtime_layout_has_the_same_meaning(case: str) -> None:
    """ExecuTorch 1.5.1's default writer lays the bytes out differently."""
    theirs = (CORPUS / case / "flatbuffer-flatbuffers.bin").read_bytes()
    flatc = (CORPUS / case / "flatbuffer.bin").read_bytes()
    assert theirs != flatc
    assert normalize("Program", pe.decode_flatbuffer(theirs)) == \
        normalize("Program", pe.decode_flatbuffer(flatc))
    # and the engine writes that layout too: decoding then encoding in it is exact
    assert pe.encode_flatbuffer(pe.decode_flatbuffer(theirs), layout="flatbuffers") == theirs


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_corpus_pte_round_trips_to_the_same_bytes(case: str) -> None:
    data = (CORPUS / case / "expected.pte").read_bytes()
    pte = pe.decode_program(data)
    out = pe.encode_program(pte.program, mutable_data=pte.mutable_data,
                            named_data=pte.named_data, **corpus_options(case))
    assert out == data


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_corpus_pte_gives_back_what_the_writer_was_given(case: str) -> None:
    """Constants without their padding, delegate blobs inline, blobs beside."""
    pte = pe.decode_program((CORPUS / case / "expected.pte").read_bytes())
    given_program = pe.program_from_json((CORPUS / case / "program.json").read_text())
    assert normalize("Program", pte.program) == normalize("Program", given_program)
    options = pe.options_from_json((CORPUS / case / "options.json").read_text())
    mutable, named = blob_meaning(pte)
    assert mutable == options.get("mutable_data")
    if "named_data" in options:
        want = options["named_data"]
        buffers, entries = named
        for key, entry in want.pte_data.items():
            assert buffers[entries[key][0]] == want.buffers[entry.buffer_index]
        assert set(entries) == set(want.pte_data)
    else:
        assert named is None


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_flatbuffers_runtime_pte_has_the_same_meaning(case: str) -> None:
    ours = pe.decode_program((CORPUS / case / "expected.pte").read_bytes())
    theirs = pe.decode_program((CORPUS / case / "expected-flatbuffers.pte").read_bytes())
    assert normalize("Program", theirs.program) == normalize("Program", ours.program)
    assert blob_meaning(theirs) == blob_meaning(ours)
    again = pe.encode_program(theirs.program, mutable_data=theirs.mutable_data,
                              named_data=theirs.named_data, layout="flatbuffers",
                              **corpus_options(case))
    assert again == (CORPUS / case / "expected-flatbuffers.pte").read_bytes()


@given(programs(flatc_safe=False), ALIGNMENTS, ALIGNMENTS)
def test_generated_programs_decode_to_their_input(program: pe.Program, tensor: int,
                                                   delegate: int) -> None:
    data = pe.encode_flatbuffer(program, constant_tensor_alignment=tensor,
                                delegate_alignment=delegate)
    decoded = pe.decode_flatbuffer(data)
    assert normalize("Program", decoded) == normalize("Program", program)
    assert pe.encode_flatbuffer(decoded, constant_tensor_alignment=tensor,
                                delegate_alignment=delegate) == data


@given(programs(flatc_safe=False), ALIGNMENTS)
def test_generated_pte_files_round_trip(program: pe.Program, tensor: int) -> None:
    # as the writer is given programs: no segments, named data or mutable data yet
    program.segments, program.named_data, program.mutable_data_segments = [], None, None
    program.constant_segment = None
    try:
        data = pe.encode_program(program, constant_tensor_alignment=tensor)
    except pe.EncodeError:
        return  # programs the .pte writer refuses (delegate references out of range, ...)
    pte = pe.decode_program(data)
    again = pe.encode_program(pte.program, mutable_data=pte.mutable_data,
                              named_data=pte.named_data, constant_tensor_alignment=tensor)
    assert again == data


def test_blobs_are_views_of_the_input() -> None:
    data = bytearray((CORPUS / "xnn_mlp" / "expected.pte").read_bytes())
    pte = pe.decode_program(data)
    blob = pte.program.backend_delegate_data[0].data
    assert isinstance(blob, memoryview) and blob.obj is data
    assert pte.named_data is not None
    assert all(isinstance(b, memoryview) and b.obj is data for b in pte.named_data.buffers)
    start = data.find(bytes(blob[:64]))
    data[start] ^= 0xFF  # the view sees the input change: no copy was made
    assert blob[0] == data[start]


def test_constants_are_views_without_padding() -> None:
    data = (CORPUS / "conv" / "expected.pte").read_bytes()
    pte = pe.decode_program(data)
    sizes = [len(b.storage) for b in pte.program.constant_buffer]
    assert 32 in sizes and any(s % 16 for s in sizes)  # 1152/4 ... and unpadded ones
    assert all(isinstance(b.storage, memoryview) for b in pte.program.constant_buffer)


def test_read_program_maps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "model.pte"
    path.write_bytes((CORPUS / "mlp" / "expected.pte").read_bytes())
    pte = pe.read_program(path)
    blob = pte.program.constant_buffer[1].storage
    assert isinstance(blob, memoryview) and isinstance(blob.obj, mmap.mmap)
    assert normalize("Program", pte.program) == \
        normalize("Program", pe.decode_program(path.read_bytes()).program)


def test_accepts_mmap_and_memoryview(tmp_path: Path) -> None:
    path = tmp_path / "flat.bin"
    data = (CORPUS / "cond" / "flatbuffer.bin").read_bytes()
    path.write_bytes(data)
    with open(path, "rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    want = normalize("Program", pe.decode_flatbuffer(data))
    assert normalize("Program", pe.decode_flatbuffer(mapped)) == want
    assert normalize("Program", pe.decode_flatbuffer(memoryview(data))) == want
    assert normalize("Program", pe.decode_flatbuffer(bytearray(data))) == want


def test_other_inputs() -> None:
    data = (CORPUS / "cond" / "flatbuffer.bin").read_bytes()
    want = normalize("Program", pe.decode_flatbuffer(data))
    # a view of 32-bit words is read as its bytes
    assert normalize("Program", pe.decode_flatbuffer(memoryview(data).cast("I"))) == want
    with pytest.raises(pe.DecodeError, match="contiguous"):
        pe.decode_flatbuffer(memoryview(data + data)[::2])
    with pytest.raises(pe.DecodeError, match="expected a bytes-like object, got str"):
        pe.decode_flatbuffer("ET12")
    with pytest.raises(pe.DecodeError, match="expected a bytes-like object, got str"):
        pe.decode_program("ET12")


def test_the_input_is_not_modified() -> None:
    data = bytearray((CORPUS / "xnn_mlp" / "expected.pte").read_bytes())
    before = bytes(data)
    pe.decode_program(data)
    assert data == before


def test_errors_share_a_base_class() -> None:
    assert issubclass(pe.DecodeError, pe.PteEncoderError)
    assert issubclass(pe.EncodeError, pe.PteEncoderError)
    assert issubclass(pe.PteEncoderError, ValueError)


def _with(data: bytes, at: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, at, value)
    return bytes(out)


def test_errors_name_the_path_and_the_byte() -> None:
    data = (CORPUS / "mlp" / "flatbuffer.bin").read_bytes()
    with pytest.raises(pe.DecodeError, match=r"^Program: expected the file identifier 'ET12', "
                                             r"got b'XX12' \(at byte 4\)$"):
        pe.decode_flatbuffer(data[:4] + b"XX" + data[6:])
    with pytest.raises(pe.DecodeError, match=r"root offset is 0 \(at byte 0\)"):
        pe.decode_flatbuffer(_with(data, 0, "<I", 0))
    with pytest.raises(pe.DecodeError, match=r"at least 8 bytes"):
        pe.decode_flatbuffer(data[:7])
    # the first operator's name: point its length past the end
    program = pe.decode_flatbuffer(data)
    name = program.execution_plan[0].operators[0].name.encode()
    at = data.find(struct.pack("<I", len(name)) + name)
    with pytest.raises(pe.DecodeError) as info:
        pe.decode_flatbuffer(_with(data, at, "<I", 10**6))
    assert info.value.path == "execution_plan[0].operators[0].name"
    assert info.value.offset == at
    assert str(info.value) == (f"execution_plan[0].operators[0].name: a string of 1000000 "
                               f"bytes at {at} runs past the end of the {len(data)}-byte "
                               f"buffer (at byte {at}), past the end of the data: truncated?")
    bad_utf8 = bytearray(data)
    bad_utf8[at + 4] = 0xFF
    with pytest.raises(pe.DecodeError, match=r"operators\[0\]\.name: the string at \d+ is not "
                                             r"valid UTF-8"):
        pe.decode_flatbuffer(bytes(bad_utf8))


def test_union_type_out_of_range() -> None:
    program = pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(pe.Int(7))])])
    data = bytearray(pe.encode_flatbuffer(program))
    # the EValue's type byte is the only 5 (Int is member 2... find by decoding vtables is
    # overkill: patch each byte equal to 2 until the union breaks)
    for at in range(8, len(data)):
        if data[at] == 2:
            data[at] = 200
            try:
                pe.decode_flatbuffer(bytes(data))
            except pe.DecodeError as exc:
                if "union type 200" in str(exc):
                    assert exc.path == "execution_plan[0].values[0].val"
                    return
            data[at] = 2
    raise AssertionError("no union type byte found")


def test_unknown_enum_values_are_kept_as_ints() -> None:
    tensor = pe.Tensor(scalar_type=99, sizes=[1])  # type: ignore[arg-type]
    program = pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(tensor)])])
    data = pe.encode_flatbuffer(program)
    decoded = pe.decode_flatbuffer(data).execution_plan[0].values[0].val
    assert decoded.scalar_type == 99 and type(decoded.scalar_type) is int
    assert pe.encode_flatbuffer(pe.decode_flatbuffer(data)) == data
    known = pe.decode_flatbuffer(pe.encode_flatbuffer(pe.Program(execution_plan=[
        pe.ExecutionPlan(values=[pe.EValue(pe.Tensor(scalar_type=pe.ScalarType.FLOAT))])])))
    assert known.execution_plan[0].values[0].val.scalar_type is pe.ScalarType.FLOAT


def shared_values_buffer(count: int, items: int) -> bytes:
    """A program whose one template lists the same EValue (an IntList of ``items``
    ints) ``count`` times: small bytes, a huge tree if followed naively."""
    import flatbuffers
    from executorch_flatbuffer import EValue, ExecutionPlan, IntList, Program
    b = flatbuffers.Builder(0)
    IntList.StartItemsVector(b, items)
    for i in reversed(range(items)):
        b.PrependInt64(i)
    vector = b.EndVector()
    IntList.Start(b)
    IntList.AddItems(b, vector)
    int_list = IntList.End(b)
    EValue.Start(b)
    EValue.AddValType(b, 7)  # IntList
    EValue.AddVal(b, int_list)
    evalue = EValue.End(b)
    ExecutionPlan.StartValuesVector(b, count)
    for _ in range(count):
        b.PrependUOffsetTRelative(evalue)
    values = b.EndVector()
    ExecutionPlan.Start(b)
    ExecutionPlan.AddValues(b, values)
    template = ExecutionPlan.End(b)
    Program.StartExecutionPlanVector(b, 1)
    b.PrependUOffsetTRelative(template)
    templates = b.EndVector()
    Program.Start(b)
    Program.AddExecutionPlan(b, templates)
    b.Finish(Program.End(b), file_identifier=b"ET12")
    return bytes(b.Output())


def test_shared_objects_are_read_within_bounds() -> None:
    """Sharing is valid FlatBuffers, and a little of it decodes ..."""
    program = pe.decode_flatbuffer(shared_values_buffer(3, 4))
    assert [v.val.items for v in program.execution_plan[0].values] == [[0, 1, 2, 3]] * 3


def test_shared_objects_cannot_blow_up() -> None:
    """... but a vector pointing 20000 times at one 16 kB table is refused, fast."""
    data = shared_values_buffer(20000, 2000)
    assert len(data) < 100_000
    with pytest.raises(pe.DecodeError, match="too much work"):
        pe.decode_flatbuffer(data)


# -- any writer's layout -------------------------------------------------------

def _flags(fmt: str) -> Any:
    from flatbuffers import number_types as N
    return {"b": N.Int8Flags, "B": N.Uint8Flags, "?": N.BoolFlags, "h": N.Int16Flags,
            "H": N.Uint16Flags, "i": N.Int32Flags, "I": N.Uint32Flags, "q": N.Int64Flags,
            "Q": N.Uint64Flags, "f": N.Float32Flags, "d": N.Float64Flags}[fmt]


def _number(fmt: str, value: Any) -> Any:
    return float(value) if fmt in "df" else int(value)


def build_any_order(b: Any, table: str, obj: Any, rng: Any) -> int:
    """``obj`` written with the flatbuffers runtime, children and fields in a
    random order: another valid layout of the same meaning."""
    from pte_encoder.schemas.program.codec import PROGRAM
    PROGRAM_SCHEMA = PROGRAM.schema
    fields = list(PROGRAM_SCHEMA.tables[table])
    rng.shuffle(fields)
    children: Dict[str, int] = {}
    for name, kind, _slot, elem, _default, _align, _enum in fields:
        value = getattr(obj, name)
        if value is None or kind == "SCALAR":
            continue
        if kind == "STRING":
            children[name] = b.CreateString(value)
        elif kind == "TABLE":
            children[name] = build_any_order(b, elem, value, rng)
        elif kind == "UNION":
            children[name] = build_any_order(b, type(value).__name__, value, rng)
        elif kind == "TABLE_VECTOR":
            items = [build_any_order(b, elem, item, rng) for item in value]
            b.StartVector(4, len(items), 4)
            for item in reversed(items):
                b.PrependUOffsetTRelative(item)
            children[name] = b.EndVector()
        elif elem == "B" and not isinstance(value, list):
            children[name] = b.CreateByteVector(bytes(value))
        else:
            size = struct.calcsize(elem)
            b.StartVector(size, len(value), size)
            for item in reversed(value):
                b.Prepend(_flags(elem), _number(elem, item))
            children[name] = b.EndVector()
    b.StartObject(max((f[2] for f in fields), default=-1) + 1)
    for name, kind, slot, elem, default, _align, _enum in fields:
        value = getattr(obj, name)
        if kind == "SCALAR":
            b.PrependSlot(_flags(elem), slot, _number(elem, value), default)
        elif name in children:
            if kind == "UNION":
                member = type(value).__name__
                b.PrependUint8Slot(slot - 1, PROGRAM_SCHEMA.unions[elem].index(member) + 1, 0)
            b.PrependUOffsetTRelativeSlot(slot, children[name], 0)
    return int(b.EndObject())


@given(programs(), st.randoms(use_true_random=False), st.booleans())
def test_any_valid_layout_decodes_to_the_same_meaning(program: pe.Program, rng: Any,
                                                      force_defaults: bool) -> None:
    import flatbuffers
    b = flatbuffers.Builder(0)
    b.ForceDefaults(force_defaults)
    b.Finish(build_any_order(b, "Program", program, rng), file_identifier=b"ET12")
    data = bytes(b.Output())
    assert normalize("Program", pe.decode_flatbuffer(data)) == normalize("Program", program)


@pytest.mark.parametrize("layout", ["flatc", "flatbuffers"])
def test_empty_byte_vectors_under_force_align_1_stay_readable(layout: str) -> None:
    """An empty vector's length is 4-aligned whatever its items' alignment
    (found by the reader: the writer once put it at an odd offset)."""
    program = pe.Program(version=0, constant_buffer=[pe.Buffer(storage=b""),
                                                     pe.Buffer(storage=b"")])
    data = pe.encode_flatbuffer(program, constant_tensor_alignment=1, layout=layout)
    assert [bytes(b.storage) for b in pe.decode_flatbuffer(data).constant_buffer or []] == [b"", b""]
    if layout == "flatc":
        assert data == flatc_binary(pe.program_to_json(program), 1)
