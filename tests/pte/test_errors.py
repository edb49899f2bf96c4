"""Bad input: one exception class, a message naming the place, no mutation."""

from __future__ import annotations

import io
import json
import mmap
import os
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Dict, List, Tuple

import pytest
from hypothesis import given, strategies as st

import pte_encoder as pe
from pte_encoder.schemas.program.codec import PROGRAM
from helpers import decode_flatbuffer
from strategies import programs


def plan_with(value: object) -> pe.Program:
    tensor = pe.Tensor(sizes=[1, 2], dim_order=[0, 1])
    values = [pe.EValue(pe.Int(i)) for i in range(12)] + [pe.EValue(tensor)]
    program = pe.Program(execution_plan=[pe.ExecutionPlan(values=values)])
    tensor.sizes = [1, value]  # type: ignore[list-item]
    return program


@pytest.mark.parametrize("value, expected", [
    (2**31, r"an integer in \[-2147483648, 2147483647\], got 2147483648"),
    ("2", "an integer, got '2'"),
    (1.5, "an integer, got 1.5"),
    (None, "an integer, got None"),
])
def test_message_names_place_value_and_expectation(value: object, expected: str) -> None:
    with pytest.raises(pe.EncodeError) as info:
        pe.encode_flatbuffer(plan_with(value))
    assert str(info.value).startswith("execution_plan[0].values[12].val.sizes[1]: expected ")
    assert re.search(expected, str(info.value))


def test_negative_uint() -> None:
    program = pe.Program(version=-1)
    with pytest.raises(pe.EncodeError, match=r"^version: expected an integer in \[0, 4294967295\], got -1$"):
        pe.encode_flatbuffer(program)


def test_missing_attribute() -> None:
    class NoVersion:
        execution_plan = None

    with pytest.raises(pe.EncodeError, match="^version: missing"):
        pe.encode_flatbuffer(NoVersion())


def test_unknown_union_member() -> None:
    class Complex:
        real = 1.0

    program = pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(Complex())])])  # type: ignore
    with pytest.raises(pe.EncodeError, match=r"^execution_plan\[0\]\.values\[0\]\.val: expected one of Null, Int"):
        pe.encode_flatbuffer(program)


def test_wrong_table_type() -> None:
    with pytest.raises(pe.EncodeError, match=r"^execution_plan\[0\]: expected a ExecutionPlan object, got 'x'"):
        pe.encode_flatbuffer(pe.Program(execution_plan=["x"]))  # type: ignore[list-item]


def test_bool_must_be_bool() -> None:
    program = pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(pe.Bool(2))])])  # type: ignore
    with pytest.raises(pe.EncodeError, match=r"values\[0\]\.val\.bool_val: expected a bool, got 2"):
        pe.encode_flatbuffer(program)


def test_string_must_be_text() -> None:
    program = pe.Program(execution_plan=[pe.ExecutionPlan(name=b"forward")])  # type: ignore
    with pytest.raises(pe.EncodeError, match=r"^execution_plan\[0\]\.name: expected a str, got b'forward'"):
        pe.encode_flatbuffer(program)
    program = pe.Program(execution_plan=[pe.ExecutionPlan(name="\ud800")])
    with pytest.raises(pe.EncodeError, match="encodable as UTF-8"):
        pe.encode_flatbuffer(program)


def test_byte_out_of_range() -> None:
    program = pe.Program(execution_plan=[pe.ExecutionPlan(values=[
        pe.EValue(pe.Tensor(dim_order=[0, 256]))])])
    with pytest.raises(pe.EncodeError, match=r"val\.dim_order\[1\]: expected an integer in \[0, 255\], got 256"):
        pe.encode_flatbuffer(program)


@pytest.mark.parametrize("alignment", [0, 3, 24, -8, 2.0, "16", True])
def test_bad_alignments(alignment: object) -> None:
    with pytest.raises(pe.EncodeError, match="^delegate_alignment: expected a power of two"):
        pe.encode_flatbuffer(pe.Program(), delegate_alignment=alignment)  # type: ignore[arg-type]


def test_over_two_gib_is_refused_without_copying() -> None:
    huge = mmap.mmap(-1, 2**31)  # untouched pages: no real memory
    try:
        program = pe.Program(constant_buffer=[pe.Buffer(huge)])  # type: ignore[arg-type]
        with pytest.raises(pe.EncodeError, match=r"^constant_buffer\[0\]\.storage: expected at most "
                                                 r"2147483647 bytes \(the FlatBuffer limit\), got 2147483648 bytes$"):
            pe.encode_flatbuffer(program)
    finally:
        huge.close()  # nothing keeps a view of it (it could not be closed)


def test_over_two_gib_in_all_is_refused_as_a_whole() -> None:
    halves = [mmap.mmap(-1, 2**30) for _ in range(2)]
    try:
        program = pe.Program(constant_buffer=[pe.Buffer(h) for h in halves])  # type: ignore[misc]
        with pytest.raises(pe.EncodeError, match="^program: the FlatBuffer would be .* over the format's limit") as info:
            pe.encode_flatbuffer(program)
        assert info.value.path == ""
        del info
    finally:
        for half in halves:
            half.close()


def _slots(obj: Any, table: str) -> List[Tuple[Any, str, str]]:
    """Every (object, attribute, kind) in a program tree."""
    found = []
    for f in PROGRAM.schema.tables[table]:
        name, kind, elem = f.name, f.kind, str(f.elem)
        found.append((obj, name, kind))
        value = getattr(obj, name)
        if value is None:
            continue
        if kind == "TABLE":
            found += _slots(value, elem)
        elif kind == "UNION":
            found += _slots(value, type(value).__name__)
        elif kind == "TABLE_VECTOR":
            for item in value:
                found += _slots(item, elem)
    return found


JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
    st.binary(max_size=5), st.lists(st.one_of(st.integers(), st.text(max_size=2), st.none()), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.builds(object), st.builds(pe.Null), st.builds(pe.Int), st.builds(pe.Program),
)


@given(programs(flatc_safe=False), st.data())
def test_junk_anywhere_gives_only_encode_error(program: pe.Program, data: st.DataObject) -> None:
    slots = _slots(program, "Program")
    obj, name, _kind = slots[data.draw(st.integers(0, len(slots) - 1))]
    setattr(obj, name, data.draw(JUNK))
    before = repr(program)
    try:
        pe.encode_flatbuffer(program)
    except pe.EncodeError as exc:
        assert re.match(r"^[\w.\[\]]+: ", str(exc)), str(exc)
    assert repr(program) == before


# --- EncodeError as data, and messages that stay one line -------------------

def test_error_carries_path_value_and_expected() -> None:
    with pytest.raises(pe.EncodeError) as info:
        pe.encode_flatbuffer(plan_with(2**31))
    assert info.value.path == "execution_plan[0].values[12].val.sizes[1]"
    assert info.value.value == 2**31 and info.value.has_value
    assert info.value.expected == "an integer in [-2147483648, 2147483647]"


@pytest.mark.parametrize("key", ["a\nb", "\x1b[31mred", "k" * 1_000_000, "\u2028"])
def test_messages_are_one_short_line(key: str) -> None:
    named = pe.NamedDataOutput([b"x"], {key: pe.DataEntry(0, 3)})
    for call in (lambda: pe.encode_program(pe.Program(), named_data=named),
                 lambda: pe.program_from_json(json.dumps({key: 1})),
                 lambda: pe.options_from_json(json.dumps({key: 1})),
                 lambda: pe.encode_flatbuffer(pe.Program(execution_plan=[pe.ExecutionPlan(name=key, values=5)]))):  # type: ignore[arg-type]
        with pytest.raises(pe.EncodeError) as info:
            call()
        message = str(info.value)
        assert message.isprintable() and len(message) <= 1000, message[:200]


# --- .pte extraction: delegates, segments, named data, mutable data ---------

def delegated(data: Any = b"blob", **template: Any) -> pe.Program:
    delegate = pe.BackendDelegate(id="x", processed=pe.BackendDelegateDataReference(pe.DataLocation.INLINE, 0))
    fields: Dict[str, Any] = {"delegates": [delegate], **template}
    return pe.Program(execution_plan=[pe.ExecutionPlan(**fields)],
                      backend_delegate_data=[pe.BackendDelegateInlineData(data)], segments=[])


def with_(program: pe.Program, change: Callable[[pe.Program], None]) -> pe.Program:
    change(program)
    return program


class NotADataEntry:
    buffer_index = 0


PTE_CASES = [
    (pe.Program(execution_plan=["x"]), {},  # type: ignore[list-item]
     "execution_plan[0]", "expected a ExecutionPlan object, got 'x'"),
    (delegated(delegates=[None]), {}, "execution_plan[0].delegates[0]", "expected a BackendDelegate object"),
    (with_(delegated(), lambda p: setattr(p.execution_plan[0].delegates[0], "processed", None)), {},
     "execution_plan[0].delegates[0].processed", "expected a BackendDelegateDataReference object, got None"),
    (with_(delegated(), lambda p: setattr(p.execution_plan[0].delegates[0].processed, "index", 0.0)), {},
     "execution_plan[0].delegates[0].processed.index", "expected an index into the 1 backend_delegate_data"),
    (with_(delegated(), lambda p: setattr(p.execution_plan[0].delegates[0].processed, "location", "x")), {},
     "execution_plan[0].delegates[0].processed.location", "expected an integer"),
    (with_(delegated(), lambda p: setattr(p, "backend_delegate_data", [None])), {},
     "backend_delegate_data[0]", "expected a BackendDelegateInlineData object, got None"),
    (delegated(data=None), {}, "backend_delegate_data[0].data", "expected a bytes-like object or a list of integers, got None"),
    (delegated(data=7), {}, "backend_delegate_data[0].data", "expected a bytes-like object or a list of integers, got 7"),
    (with_(delegated(), lambda p: setattr(p, "backend_delegate_data", {})), {},
     "backend_delegate_data", "expected a list, got {}"),
    (pe.Program(constant_buffer=[None]), {}, "constant_buffer[0]", "expected a Buffer object, got None"),
    (pe.Program(constant_buffer=[pe.Buffer(None)]), {}, "constant_buffer[0].storage",
     "expected a bytes-like object or a list of integers, got None"),
    (pe.Program(constant_buffer=[pe.Buffer(b"x")], segments=[pe.DataSegment("0", 1)]), {},  # type: ignore[arg-type]
     "segments[0].offset", "expected an integer, got '0'"),
    (pe.Program(constant_buffer=[pe.Buffer(b"x")], segments=[pe.DataSegment(1.5, 1)]), {},  # type: ignore[arg-type]
     "segments[0].offset", "expected an integer, got 1.5"),
    (pe.Program(constant_buffer=[pe.Buffer(b"x")], segments=[pe.DataSegment(0, -1)]), {},
     "segments[0].size", "expected an integer in [0, 18446744073709551615], got -1"),
    (pe.Program(constant_buffer=[pe.Buffer(b"x")], segments=[None]), {},  # type: ignore[list-item]
     "segments[0]", "expected a DataSegment object, got None"),
    (pe.Program(), {"named_data": {"buffers": [b"x"], "pte_data": {}}},
     "named_data", "expected a NamedDataOutput object"),
    (pe.Program(), {"named_data": pe.NamedDataOutput([b"x"], {"k": None})},  # type: ignore[dict-item]
     "named_data.pte_data['k']", "expected a DataEntry object, got None"),
    (pe.Program(), {"named_data": pe.NamedDataOutput([b"x"], {"k": NotADataEntry()})},  # type: ignore[dict-item]
     "named_data.pte_data['k'].alignment", "missing"),
    (pe.Program(), {"named_data": pe.NamedDataOutput([b"x"], [1])},  # type: ignore[arg-type]
     "named_data.pte_data", "expected a mapping"),
    (pe.Program(), {"named_data": pe.NamedDataOutput([b"x"], {5: pe.DataEntry(0)})},  # type: ignore[dict-item]
     "named_data.pte_data[5]", "expected a str key, got 5"),
    (pe.Program(), {"named_data": pe.NamedDataOutput([None], {"k": pe.DataEntry(0)})},
     "named_data.buffers[0]", "expected a bytes-like or file-backed object (FileData, FileBackedData), got None"),
    (pe.Program(), {"named_data": pe.NamedDataOutput([b"x"], {"k": pe.DataEntry(True)})},
     "named_data.pte_data['k'].buffer_index", "expected an index into the 1 named_data.buffers, got True"),
    (pe.Program(), {"named_data": pe.NamedDataOutput([b"x"], {"k": pe.DataEntry(0, 1), "j": pe.DataEntry(0, 0)})},
     "named_data.pte_data['j'].alignment", "expected a power of two, got 0"),
    (pe.Program(), {"mutable_data": [None]}, "mutable_data[0]", "expected a bytes-like object or a list of integers, got None"),
    (pe.Program(), {"mutable_data": [pe.Buffer(5)]}, "mutable_data[0].storage",  # type: ignore[arg-type]
     "expected a bytes-like object or a list of integers, got 5"),
    (pe.Program(), {"mutable_data": b"xy"}, "mutable_data", "expected a list, got b'xy'"),
    (pe.Program(), {"extract_delegate_segments": "no"}, "extract_delegate_segments",
     "expected True or False, got 'no'"),
    (None, {}, "", "program: expected a Program object, got None"),
    ("x", {}, "", "program: expected a Program object, got 'x'"),
]


@pytest.mark.parametrize("program, options, path, message", PTE_CASES)
def test_pte_inputs_are_checked_with_their_place(program: Any, options: Dict[str, Any], path: str,
                                                 message: str, tmp_path: Any) -> None:
    before = repr((program, options))
    with pytest.raises(pe.EncodeError) as info:
        pe.encode_program(program, **options)
    assert info.value.path == path
    assert str(info.value).startswith(f"{path}: " if path else "program: ")
    assert message in str(info.value), str(info.value)
    out = io.BytesIO()
    with pytest.raises(pe.EncodeError):
        pe.write_program(program, out, **options)
    assert out.getvalue() == b""
    with pytest.raises(pe.EncodeError):
        pe.write_program(program, tmp_path / "out.pte", **options)
    assert os.listdir(tmp_path) == []
    assert repr((program, options)) == before


# --- buffers: non-contiguous ones are copied, released ones refused ----------

def strided(data: bytes) -> memoryview:
    """A non-contiguous view whose items are ``data``."""
    doubled = bytes(b for byte in data for b in (byte, 0xEE))
    return memoryview(doubled)[::2]


def blob_places(blob: Any) -> List[Tuple[str, pe.Program, Dict[str, Any]]]:
    """(function, program, options) putting ``blob`` in each place a blob goes."""
    return [
        ("constant", pe.Program(constant_buffer=[pe.Buffer(b""), pe.Buffer(blob)], segments=[]), {}),
        ("delegate", delegated(data=blob), {}),
        ("inline delegate", delegated(data=blob), {"extract_delegate_segments": False}),
        ("mutable", pe.Program(), {"mutable_data": [blob, pe.Buffer(blob)]}),
        ("named", pe.Program(), {"named_data": pe.NamedDataOutput([blob], {"k": pe.DataEntry(0, 64)})}),
        ("dim_order", pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(pe.Tensor(dim_order=blob))])]), {}),
        ("compile spec", with_(delegated(), lambda p: setattr(
            p.execution_plan[0].delegates[0], "compile_specs", [pe.CompileSpec("k", blob)])), {}),
    ]


@pytest.mark.parametrize("index", range(7))
@pytest.mark.parametrize("make", [strided, lambda d: memoryview(bytearray(d)).cast("B", (len(d) // 2, 2))[::-1],
                                  lambda d: memoryview(d)[::-1]])
def test_non_contiguous_buffers_are_copied(index: int, make: Callable[[bytes], Any]) -> None:
    data = bytes(range(1, 13))
    view = make(data)
    expected = view.tobytes()
    name, program, options = blob_places(view)[index]
    _name, plain, plain_options = blob_places(expected)[index]
    assert pe.encode_program(program, **options) == pe.encode_program(plain, **plain_options), name
    out = io.BytesIO()
    assert pe.write_program(program, out, **options) == len(out.getvalue())
    assert out.getvalue() == pe.encode_program(plain, **plain_options)
    if not options:
        assert pe.encode_flatbuffer(program) == pe.encode_flatbuffer(plain)
        assert pe.program_to_json(program) == pe.program_to_json(plain)


def test_numpy_buffers() -> None:
    np = pytest.importorskip("numpy")
    array = np.arange(24, dtype=np.int32).reshape(4, 6)
    for view in (array[:, ::2], array.T, array[::2]):
        program = pe.Program(constant_buffer=[pe.Buffer(view)], segments=[])
        plain = pe.Program(constant_buffer=[pe.Buffer(view.tobytes())], segments=[])
        assert pe.encode_program(program) == pe.encode_program(plain)
    value = pe.Int(np.int64(5))
    program = pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(value), pe.EValue(pe.Int("x"))])])  # type: ignore
    with pytest.raises(pe.EncodeError, match=r"^execution_plan\[0\]\.values\[1\]\.val\.int_val: expected an integer"):
        pe.encode_flatbuffer(program)
    zero = pe.Program(version=np.uint32(0), execution_plan=[pe.ExecutionPlan(values=[pe.EValue(pe.Int(np.int64(0)))])])
    assert pe.encode_flatbuffer(zero) == pe.encode_flatbuffer(
        pe.Program(version=0, execution_plan=[pe.ExecutionPlan(values=[pe.EValue(pe.Int(0))])]))


@pytest.mark.parametrize("index", range(7))
def test_released_buffers_are_refused(index: int) -> None:
    view = memoryview(b"abcd")
    view.release()
    name, program, options = blob_places(view)[index]
    # Named data may also be file-backed: its message says so.
    with pytest.raises(pe.EncodeError, match="expected a bytes-like (or file-backed )?object"):
        pe.encode_program(program, **options)
    out = io.BytesIO()
    with pytest.raises(pe.EncodeError, match="expected a bytes-like (or file-backed )?object"):
        pe.write_program(program, out, **options)
    assert out.getvalue() == b""
    if not options:
        with pytest.raises(pe.EncodeError, match="expected a bytes-like object"):
            pe.encode_flatbuffer(program)


# --- alignments ---------------------------------------------------------------

class Index:
    """An integer-like (as numpy integers are): only ``__index__``."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"Index({self.value})"


BAD_ALIGNMENTS = [0, False, True, 0.0, 16.0, "", "16", [], 3, 24, -8, 2**64, 2**64 + 1, Index(3), Index(0)]


def alignment_calls(option: str, value: Any) -> List[Callable[[], Any]]:
    program = pe.Program(constant_buffer=[pe.Buffer(b"x")], segments=[])
    calls: List[Callable[[], Any]] = [
        lambda: pe.encode_program(program, **{option: value}),
        lambda: pe.write_program(program, io.BytesIO(), **{option: value}),
    ]
    if option != "segment_alignment":
        calls.append(lambda: pe.encode_flatbuffer(program, **{option: value}))
    return calls


@pytest.mark.parametrize("option", ["segment_alignment", "constant_tensor_alignment", "delegate_alignment"])
@pytest.mark.parametrize("value", BAD_ALIGNMENTS + [2**33, 2**40])
def test_alignments_are_checked_one_way_everywhere(option: str, value: Any) -> None:
    for call in alignment_calls(option, value):
        with pytest.raises(pe.EncodeError, match=f"^{option}: expected a power of two") as info:
            call()
        assert info.value.path == option
    if isinstance(value, (int, float, str, list)):
        with pytest.raises(pe.EncodeError, match=f"^{option}: expected a power of two") as info:
            pe.options_from_json(json.dumps({option: value}))


@pytest.mark.parametrize("value", BAD_ALIGNMENTS + [2**33])
def test_named_data_alignments_are_checked_the_same_way(value: Any) -> None:
    named = pe.NamedDataOutput([b"x"], {"k": pe.DataEntry(0, value)})
    with pytest.raises(pe.EncodeError, match=r"^named_data\.pte_data\['k'\]\.alignment: expected a power of two"):
        pe.encode_program(pe.Program(), named_data=named)
    if isinstance(value, (int, float, str, list)):
        text = json.dumps({"named_data": {"buffers": [""], "pte_data": {"k": {"buffer_index": 0, "alignment": value}}}})
        with pytest.raises(pe.EncodeError, match=r"^named_data\.pte_data\['k'\]\.alignment: expected a power of two"):
            pe.options_from_json(text)


def test_largest_alignments() -> None:
    program = pe.Program(constant_buffer=[pe.Buffer(b"x")], segments=[])
    pe.encode_flatbuffer(pe.Program(), constant_tensor_alignment=2**30, delegate_alignment=2**30)
    with pytest.raises(pe.EncodeError, match=r"at most 1073741824 \(2\*\*30\), got 2147483648$"):
        pe.encode_flatbuffer(pe.Program(), delegate_alignment=2**31)

    class Sink:
        """Counts bytes; touches none (padding is views of one zero block)."""
        size = 0

        def write(self, chunk: Any) -> int:
            self.size += memoryview(chunk).nbytes
            return memoryview(chunk).nbytes

    sink = Sink()
    size = pe.write_program(program, sink, segment_alignment=2**32)  # type: ignore[arg-type]
    assert size == sink.size == 2**32 + 1
    named = pe.NamedDataOutput([b"y"], {"k": pe.DataEntry(0, 2**32)})
    sink = Sink()  # the named segment after the constant one: at 2**32 from the base
    assert pe.write_program(program, sink, named_data=named) == sink.size > 2**32 + 1  # type: ignore[arg-type]


def test_none_and_integer_likes_as_alignments() -> None:
    program = pe.Program(constant_buffer=[pe.Buffer(b"x"), pe.Buffer(b"y")], segments=[])
    default = pe.encode_program(program)
    assert pe.encode_program(program, constant_tensor_alignment=None) == default
    assert pe.encode_program(program, constant_tensor_alignment=Index(16)) == default  # type: ignore[arg-type]
    assert pe.encode_program(program, segment_alignment=Index(128)) == default  # type: ignore[arg-type]
    assert pe.encode_program(program, constant_tensor_alignment=64) != default
    with pytest.raises(pe.EncodeError, match="^segment_alignment: expected a power of two, got None"):
        pe.encode_program(program, segment_alignment=None)  # type: ignore[arg-type]


# --- integers and doubles -----------------------------------------------------

def ints(*values: Any) -> pe.Program:
    return pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(pe.Int(v)) for v in values])])


@pytest.mark.parametrize("function", [pe.encode_flatbuffer, pe.encode_program, pe.program_to_json])
def test_integer_likes_are_integers(function: Callable[[Any], Any]) -> None:
    assert function(ints(Index(5), Index(-2))) == function(ints(5, -2))
    with pytest.raises(pe.EncodeError, match=r"^execution_plan\[0\]\.values\[1\]\.val\.int_val: expected an integer, got 'x'"):
        function(ints(Index(5), "x"))
    with pytest.raises(pe.EncodeError, match=r"values\[0\]\.val\.int_val: expected an integer in \[-9223372036854775808, 9223372036854775807\], got Index\(9223372036854775808\)"):
        function(ints(Index(2**63)))


@pytest.mark.parametrize("zero", [0.0, -0.0, Decimal(0), Fraction(0), 1.0, Decimal(1)])
@pytest.mark.parametrize("function", [pe.encode_flatbuffer, pe.encode_program, pe.program_to_json])
def test_zero_valued_non_integers_are_refused(zero: Any, function: Callable[[Any], Any]) -> None:
    with pytest.raises(pe.EncodeError, match=r"^execution_plan\[0\]\.values\[0\]\.val\.int_val: expected an integer, got"):
        function(ints(zero))
    with pytest.raises(pe.EncodeError, match="^version: expected an integer, got"):
        function(pe.Program(version=zero, segments=[], constant_buffer=[], backend_delegate_data=[]))
    tensor = pe.Tensor(scalar_type=zero, sizes=[1])
    with pytest.raises(pe.EncodeError, match=r"val\.scalar_type: expected an integer, got"):
        function(pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(tensor)])]))


@pytest.mark.parametrize("value", [10**400, -(10**400)])
def test_huge_integers_in_doubles_name_their_place(value: int) -> None:
    program = pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(pe.Double(value))])])
    for function in (pe.encode_flatbuffer, pe.encode_program, pe.program_to_json):
        with pytest.raises(pe.EncodeError, match=r"^execution_plan\[0\]\.values\[0\]\.val\.double_val: expected a number in the range of a 64-bit float"):
            function(program)
    lists = pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(pe.DoubleList([1.0, value]))])])
    with pytest.raises(pe.EncodeError, match=r"^execution_plan\[0\]\.values\[0\]\.val\.items\[1\]: expected a number"):
        pe.encode_flatbuffer(lists)


def test_five_gib_blob(tmp_path: Any) -> None:
    """A sparse file mapped: 5 GiB of address space, no memory, no disk."""
    path = tmp_path / "sparse"
    with open(path, "wb") as out:
        out.truncate(5 * 2**30)
    with open(path, "rb") as handle:
        huge = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        for program, options in [(pe.Program(constant_buffer=[pe.Buffer(huge)]), "flatbuffer"),  # type: ignore[arg-type]
                                 (delegated(data=huge), "inline")]:
            with pytest.raises(pe.EncodeError, match=r"(storage|data): expected at most 2147483647 bytes \(the FlatBuffer limit\), got 5368709120 bytes$"):
                if options == "flatbuffer":
                    pe.encode_flatbuffer(program)
                else:
                    pe.encode_program(program, extract_delegate_segments=False)

        class Sink:
            size = 0

            def write(self, chunk: Any) -> int:
                self.size += memoryview(chunk).nbytes
                return memoryview(chunk).nbytes

        sink = Sink()
        program = pe.Program(constant_buffer=[pe.Buffer(huge)], segments=[])  # type: ignore[arg-type]
        size = pe.write_program(program, sink)  # type: ignore[arg-type]
        assert size == sink.size > 5 * 2**30  # in a segment, 5 GiB is fine
    finally:
        huge.close()


# --- delegate sharing is linear ---------------------------------------------

def test_delegate_sharing_compares_only_equal_blobs() -> None:
    """Blobs are found by digest; bytes are compared only when digests match:
    once per shared blob, never per pair (8,000 distinct blobs used to take
    32 million comparisons)."""
    from pte_encoder.formats.pte import write as pte

    segments: List[Any] = []
    shared = pte._SharedBlobs(segments)
    blobs = [i.to_bytes(4, "little") * 4 for i in range(4000)]  # all the same size
    indices = [shared.segment_of(blob, len(blob)) for blob in blobs]
    assert shared.compared == 0 and indices == list(range(4000))
    again = [shared.segment_of(bytearray(blob), len(blob)) for blob in blobs[::2]]
    assert again == indices[::2] and shared.compared == 2000
    assert len(segments) == 4000


def test_many_delegates_share_segments() -> None:
    delegates, inline = [], []
    for i in range(3000):
        inline.append(pe.BackendDelegateInlineData((i % 1000).to_bytes(2, "little") * 8))
        delegates.append(pe.BackendDelegate(id=str(i), processed=pe.BackendDelegateDataReference(pe.DataLocation.INLINE, i)))
    program = pe.Program(execution_plan=[pe.ExecutionPlan(delegates=delegates)], backend_delegate_data=inline, segments=[])
    data = pe.encode_program(program)
    from pte_reader import read_pte
    pte = read_pte(data)
    assert pte.header is not None
    assert decode_flatbuffer(data)["segments"].__len__() == 1000


# --- program_to_json checks -----------------------------------------------

@pytest.mark.parametrize("program, message", [
    (pe.Program(version="x"), "^version: expected an integer, got 'x'$"),  # type: ignore[arg-type]
    (pe.Program(execution_plan=[None]), r"^execution_plan\[0\]: expected a ExecutionPlan object, got None$"),  # type: ignore[list-item]
    (pe.Program(execution_plan=[pe.ExecutionPlan(values=[pe.EValue(object())])]),  # type: ignore[arg-type]
     r"^execution_plan\[0\]\.values\[0\]\.val: expected one of Null"),
    (object(), "^program: expected a Program object"),
    ({"version": 0}, "^program: expected a Program object"),
])
def test_program_to_json_checks_its_input(program: Any, message: str) -> None:
    with pytest.raises(pe.EncodeError, match=message):
        pe.program_to_json(program)


def test_program_to_json_writes_what_flatc_reads() -> None:
    program = pe.Program(version=Index(3), execution_plan=[pe.ExecutionPlan(values=[
        pe.EValue(pe.Int(True)), pe.EValue(pe.Tensor(scalar_type=pe.ScalarType.FLOAT, dim_order=strided(b"\x00\x01")))])])  # type: ignore[arg-type]
    text = json.loads(pe.program_to_json(program))
    assert text["version"] == 3 and type(text["version"]) is int
    assert text["execution_plan"][0]["values"][0]["val"]["int_val"] == 1
    assert text["execution_plan"][0]["values"][1]["val"]["dim_order"] == [0, 1]
    assert pe.program_from_json(json.dumps(text)).version == 3


# --- the JSON reader ------------------------------------------------------

@pytest.mark.parametrize("text, path, message", ids=lambda v: repr(v)[:30] if isinstance(v, (str, bytes)) else None, argvalues=[
    ("[" * 100_000, "", "invalid JSON: nested too deeply"),
    ('{"execution_plan": ' + "[" * 50_000 + "]" * 50_000 + "}", "", "invalid JSON: nested too deeply"),
    ('{"execution_plan": [[]]}', "execution_plan[0]", "execution_plan[0]: expected an object (a ExecutionPlan), got a list"),
    ('{"version": 1, "version": 2}', "version", "version: field set more than once"),
    ('{"execution_plan": [{"name": "a", "inputs": [], "name": "b"}]}', "execution_plan[0].name",
     "field set more than once"),
    ('{"version": true}', "version", "version: expected an integer, got true"),
    ('{"version": 1.0}', "version", "version: expected an integer, got 1.0"),
    ('{"version": 0.0}', "version", "version: expected an integer, got 0.0"),
    ('{"execution_plan": [{"values": [{"val": {"dim_order": [0, false]}, "val_type": "Tensor"}]}]}',
     "execution_plan[0].values[0].val.dim_order[1]", "expected an integer, got false"),
    ('{"backend_delegate_data": [{"data": [true]}]}', "backend_delegate_data[0].data[0]", "expected an integer, got true"),
    ('{"execution_plan": [{"values": [{"val": {"bool_val": 1}, "val_type": "Bool"}]}]}',
     "execution_plan[0].values[0].val.bool_val", "expected a bool, got 1"),
    ('{"execution_plan": [{"values": [{"val": {"double_val": 1' + "0" * 400 + '}, "val_type": "Double"}]}]}',
     "execution_plan[0].values[0].val.double_val", "expected a number in the range of a 64-bit float"),
    ('{"execution_plan": [{"values": [{"val": {}, "val_type": ["Int"]}]}]}',
     "execution_plan[0].values[0].val_type", "expected a member of KernelTypes"),
    ('{"colour": 1}', "colour", "colour: not a field of Program"),
    ('{"a\\nb": 1}', "['a\\nb']", "['a\\nb']: not a field of Program"),
    (b"\xff\xfe\x00", "", "invalid JSON"),
])
def test_hostile_json(text: Any, path: str, message: str) -> None:
    """(Test ids are cut short: some texts are 100,000 characters.)"""
    with pytest.raises(pe.EncodeError) as info:
        pe.program_from_json(text)
    assert info.value.path == path
    assert message in str(info.value), str(info.value)


@pytest.mark.parametrize("text, message", ids=lambda v: repr(v)[:30], argvalues=[
    ("[" * 100_000, "invalid JSON: nested too deeply"),
    ('{"segment_alignment": 64, "segment_alignment": 128}', "segment_alignment: option set more than once"),
    ('{"named_data": {"buffers": [], "pte_data": {}, "buffers": []}}', "named_data.buffers: field set more than once"),
    ('{"named_data": {"buffers": [""], "pte_data": {"k": {"buffer_index": 0, "alignment": 1, "alignment": 2}}}}',
     "named_data.pte_data['k'].alignment: field set more than once"),
    ('{"named_data": {"buffers": [""], "pte_data": {"k": {"buffer_index": 0}, "k": {"buffer_index": 0}}}}',
     "named_data.pte_data.k: field set more than once"),
    ('{"named_data": {"buffers": [""], "pte_data": {"k": {"buffer_index": 0, "align": 2}}}}',
     "named_data.pte_data['k'].align: not a field of a pte_data entry"),
    ('{"named_data": {"buffers": [""], "pte_data": {"k": {"buffer_index": 0, "alignment": false}}}}',
     "named_data.pte_data['k'].alignment: expected a power of two, got false"),
    ('{"named_data": {"buffers": [""], "pte_data": {"k": {"buffer_index": 1}}}}',
     "named_data.pte_data['k'].buffer_index: expected an index into the 1 named_data.buffers, got 1"),
    ('{"named_data": {"buffers": [5], "pte_data": {}}}', "named_data.buffers[0]: expected a base64 string, got 5"),
    ('{"named_data": {"buffers": [], "pte_data": [], "extra": 1}}', "named_data.extra: not a field of named_data"),
    ('{"extract_delegate_segments": 1}', "extract_delegate_segments: expected true or false, got 1"),
    ('{"delegate_alignment": 2147483648}', "delegate_alignment: expected a power of two of at most 1073741824"),
    ("[]", "options: expected an object, got a list"),
])
def test_hostile_options_json(text: str, message: str) -> None:
    with pytest.raises(pe.EncodeError) as info:
        pe.options_from_json(text)
    assert message in str(info.value), str(info.value)


# --- hypothesis: junk at the .pte level -----------------------------------

BLOBS = st.one_of(st.binary(max_size=8), st.binary(max_size=8).map(bytearray),
                  st.binary(min_size=2, max_size=8).map(lambda b: memoryview(b)[::2]),
                  st.lists(st.integers(-1, 256), max_size=3), JUNK)
ALIGNMENTS = st.one_of(st.none(), st.sampled_from([1, 2, 16, 4096, 2**32, 2**33, 0, 3, -4, True, False, 1.0, "8"]),
                       st.builds(Index, st.sampled_from([0, 1, 8, 5])), JUNK)
ENTRIES = st.one_of(st.builds(pe.DataEntry, st.one_of(st.integers(-1, 3), JUNK), ALIGNMENTS), JUNK)
NAMED = st.one_of(st.none(), st.builds(pe.NamedDataOutput, st.one_of(st.lists(BLOBS, max_size=3), JUNK),
                                       st.one_of(st.dictionaries(st.one_of(st.text(max_size=3), st.integers()), ENTRIES, max_size=3), JUNK)),
                  JUNK)
REFERENCES = st.one_of(st.builds(pe.BackendDelegateDataReference, st.one_of(st.sampled_from(list(pe.DataLocation)), JUNK),
                                 st.one_of(st.integers(-1, 3), JUNK)), JUNK)
DELEGATES = st.one_of(st.builds(pe.BackendDelegate, st.one_of(st.none(), st.text(max_size=3)), REFERENCES), JUNK)
SEGMENTS = st.one_of(st.builds(pe.DataSegment, st.one_of(st.integers(0, 1000), JUNK), st.one_of(st.integers(0, 1000), JUNK)), JUNK)


@st.composite
def pte_inputs(draw: st.DrawFn) -> Tuple[Any, Dict[str, Any]]:
    program = pe.Program(
        execution_plan=draw(st.one_of(st.lists(st.builds(pe.ExecutionPlan, delegates=st.one_of(
            st.lists(DELEGATES, max_size=3), JUNK)), max_size=2), JUNK)),
        constant_buffer=draw(st.one_of(st.lists(st.one_of(st.builds(pe.Buffer, BLOBS), JUNK), max_size=3), JUNK)),
        backend_delegate_data=draw(st.one_of(st.lists(st.one_of(st.builds(pe.BackendDelegateInlineData, BLOBS), JUNK),
                                                      max_size=3), JUNK)),
        segments=draw(st.one_of(st.lists(SEGMENTS, max_size=2), JUNK)))
    options = draw(st.fixed_dictionaries({}, optional={
        "mutable_data": st.one_of(st.lists(st.one_of(BLOBS, st.builds(pe.Buffer, BLOBS)), max_size=3), JUNK),
        "named_data": NAMED,
        "extract_delegate_segments": st.one_of(st.booleans(), JUNK),
        "segment_alignment": ALIGNMENTS,
        "constant_tensor_alignment": ALIGNMENTS,
        "delegate_alignment": ALIGNMENTS}))
    return program, options


@given(pte_inputs())
def test_junk_at_the_pte_level_gives_bytes_or_encode_error(inputs: Tuple[Any, Dict[str, Any]]) -> None:
    program, options = inputs
    before = repr(inputs)
    try:
        data = pe.encode_program(program, **options)
    except pe.EncodeError as exc:
        assert re.match(r"^(program|[\w.\[\]' -]+): ", str(exc)), str(exc)
        assert str(exc).isprintable()
        data = None
    out = io.BytesIO()
    try:
        size = pe.write_program(program, out, **options)
    except pe.EncodeError:
        assert data is None and out.getvalue() == b""
    else:
        assert data == out.getvalue() and size == len(data)
    assert repr(inputs) == before


@pytest.mark.parametrize("file", [5, None, io.StringIO(), "a\0b"])
def test_write_program_needs_a_path_or_a_binary_file(file: Any) -> None:
    # The file argument is checked before the program: a bad program does
    # not hide a bad file (nothing is computed for a file that cannot be written).
    for program in (pe.Program(), object()):
        with pytest.raises(pe.EncodeError, match="^file: expected a path") as info:
            pe.write_program(program, file)
        assert info.value.path == "file" and info.value.value is file and info.value.has_value


def test_attributes_that_raise_are_named() -> None:
    class Hostile:
        version = 0

        @property
        def execution_plan(self) -> Any:
            raise RuntimeError("no templates today")

        def __getattr__(self, name: str) -> Any:
            return None

    with pytest.raises(pe.EncodeError, match="^execution_plan: cannot be read: RuntimeError: no templates today$"):
        pe.program_to_json(Hostile())
