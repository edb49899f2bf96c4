"""Named data entries (a .pte's ``named_data.pte_data``, a .ptd's
``named_data``): one checker for both files, ExecuTorch's rules where it has
them (integer-likes, ``alignment=None`` as 1, a scalar type as a number of
the enum's storage range, as flatc writes it); the quick check of the common
entry never changes an outcome; FileData's arguments; the .ptd JSON reader's
input; file-backed blobs whose len() lies; what the containers import."""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pte_encoder as pe
from pte_encoder.engine.errors import key_text
import pte_encoder.formats.ptd.write
from pte_encoder.formats.common.entries import checked_entries
from helpers import ROOT, _TMP

sys.path.insert(0, str(ROOT / "benchmarks"))
from executorch_paths import FlatTensorPath  # noqa: E402

sys.path.remove(str(ROOT / "benchmarks"))

EXECUTORCH = FlatTensorPath(_TMP)


class Index:
    """An integer-like that is not an int (as numpy's integers are)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"Index({self.value})"


class Items(SequenceABC):  # type: ignore[type-arg]
    """A sequence that is neither a list nor a tuple."""

    def __init__(self, *items: Any) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: Any) -> Any:
        return self.items[index]


# ExecuTorch's classes, mirrored (other classes, same attributes).

@dataclass
class Layout:
    scalar_type: Any
    sizes: Any
    dim_order: Any


@dataclass
class Entry:
    buffer_index: Any
    alignment: Any
    tensor_layout: Optional[Layout] = None


@dataclass
class Payload:
    buffers: Any
    named_data: Dict[Any, Any]


def _ptd(st_: Any, sizes: Any, dim_order: Any = (0,)) -> pe.DataPayload:
    return pe.DataPayload([b"abcd"], {"w": pe.DataEntry(0, 4, pe.TensorLayout(st_, sizes, dim_order))})


def _program() -> pe.Program:
    return pe.Program(version=0, execution_plan=[], constant_buffer=[], backend_delegate_data=[],
                      segments=[])


def _pte(entries: Dict[Any, Any], buffers: Any = (b"abcd", b"efgh")) -> bytes:
    return pe.encode_program(_program(), named_data=pe.NamedDataOutput(buffers, entries))


def _error(call: Any) -> pe.EncodeError:
    with pytest.raises(pe.EncodeError) as info:
        call()
    return info.value


# 1. A scalar type is checked alike by every path, and named in the payload's terms.

@pytest.mark.parametrize("scalar_type", [6.0, Decimal(6), True, "6", None])
@pytest.mark.parametrize("sizes", [[1], (1,), Items(1)], ids=["list", "tuple", "sequence"])
def test_a_scalar_type_that_is_no_integer_is_refused_in_the_payloads_terms(scalar_type: Any, sizes: Any,
                                                                           tmp_path: Path) -> None:
    for call in (lambda: pe.encode_data_file(_ptd(scalar_type, sizes)),
                 lambda: pe.write_data_file(_ptd(scalar_type, sizes), tmp_path / "out.ptd")):
        error = _error(call)
        assert error.path == "named_data['w'].tensor_layout.scalar_type"
        assert error.value is scalar_type and error.has_value and error.expected == "an integer"
    assert not (tmp_path / "out.ptd").exists()


@pytest.mark.parametrize("scalar_type", [6, 99, 30, -5, -128, 127])
def test_a_scalar_type_is_a_number_of_the_enums_storage_range_as_flatc_writes_it(scalar_type: int) -> None:
    ours = pe.encode_data_file(_ptd(scalar_type, [1], [0]))
    assert ours == EXECUTORCH.serialize(Payload([b"abcd"], {"w": Entry(0, 4, Layout(scalar_type, [1], [0]))}))
    # A .pte tensor takes the same numbers (the program's ScalarType is a byte too).
    tensor = pe.Tensor(scalar_type=scalar_type, sizes=[1], dim_order=[0])  # type: ignore[arg-type]
    template = pe.ExecutionPlan(name="f", values=[pe.EValue(val=tensor)])
    pe.encode_flatbuffer(pe.Program(version=0, execution_plan=[template]))


@pytest.mark.parametrize("scalar_type", [128, -129, 2**40])
def test_a_scalar_type_out_of_the_storage_range_is_refused_by_both_files(scalar_type: int) -> None:
    error = _error(lambda: pe.encode_data_file(_ptd(scalar_type, [1])))
    assert (error.path, error.expected) == ("named_data['w'].tensor_layout.scalar_type",
                                            "an integer in [-128, 127]")
    tensor = pe.Tensor(scalar_type=scalar_type, sizes=[1], dim_order=[0])  # type: ignore[arg-type]
    template = pe.ExecutionPlan(name="f", values=[pe.EValue(val=tensor)])
    error = _error(lambda: pe.encode_flatbuffer(pe.Program(version=0, execution_plan=[template])))
    assert error.expected == "an integer in [-128, 127]"


# 2. Integer-likes, sequences and a missing alignment, in both files.

def test_integer_likes_and_sequences_are_taken_as_their_numbers_in_both_files() -> None:
    plain = pe.DataPayload([b"abcd", b"ef"], {
        "w": pe.DataEntry(1, 16, pe.TensorLayout(pe.ScalarType.FLOAT, [2, 3], [1, 0])),
        "b": pe.DataEntry(0, 1, pe.TensorLayout(pe.ScalarType.INT, [4], b"\0"))})
    likes = pe.DataPayload([b"abcd", b"ef"], {
        "w": pe.DataEntry(Index(1), Index(16),  # type: ignore[arg-type]
                          pe.TensorLayout(Index(6), Items(Index(2), 3), Items(Index(1), 0))),  # type: ignore[arg-type]
        "b": pe.DataEntry(Index(0), 1, pe.TensorLayout(3, range(4, 5), bytearray(1)))})  # type: ignore[arg-type]
    assert pe.encode_data_file(likes) == pe.encode_data_file(plain)
    assert _pte({"w": pe.DataEntry(Index(1), Index(16))}) == _pte({"w": pe.DataEntry(1, 16)})  # type: ignore[arg-type]


def test_a_missing_alignment_is_one_in_both_files_as_executorch_takes_it() -> None:
    executorch = EXECUTORCH.serialize(Payload([b"abcd"], {"w": Entry(0, None), "v": Entry(0, 1)}))
    for entry in (Entry(0, None), pe.DataEntry(0, None)):  # type: ignore[arg-type]
        assert pe.encode_data_file(pe.DataPayload([b"abcd"], {"w": entry, "v": pe.DataEntry(0)})) == executorch
        assert _pte({"w": entry}) == _pte({"w": pe.DataEntry(0, 1)})


# 3. One checker: both files refuse a bad entry at the same place, saying the same.

class NoAlignment:
    buffer_index = 0


class Hostile:
    buffer_index = 0

    @property
    def alignment(self) -> int:
        raise RuntimeError("no")


BAD_ENTRIES: List[Tuple[Any, Any, str, str]] = [
    ("w", Entry(True, 1), ".buffer_index", "an index into the 2 "),
    ("w", Entry(-1, 1), ".buffer_index", "an index into the 2 "),
    ("w", Entry(2, 1), ".buffer_index", "an index into the 2 "),
    ("w", Entry(1.0, 1), ".buffer_index", "an index into the 2 "),
    ("w", Entry(Decimal(0), 1), ".buffer_index", "an index into the 2 "),
    ("w", Entry(0, 3), ".alignment", "a power of two"),
    ("w", Entry(0, 0), ".alignment", "a power of two"),
    ("w", Entry(0, True), ".alignment", "a power of two"),
    ("w", Entry(0, 16.0), ".alignment", "a power of two"),
    ("w", Entry(0, 2**33), ".alignment", "a power of two of at most 4294967296 (2**32)"),
    (5, Entry(0, 1), "", "a str key"),
    ("\udc80", Entry(0, 1), "", "a key encodable as UTF-8"),
    ("w", None, "", "a DataEntry object"),
    ("w", "entry", "", "a DataEntry object"),
    ("w", NoAlignment(), ".alignment", "the attribute 'alignment'"),
    ("w", Hostile(), ".alignment", ""),
]


@pytest.mark.parametrize("key, entry, place, expected", BAD_ENTRIES)
def test_both_files_refuse_a_bad_entry_alike(key: Any, entry: Any, place: str, expected: str) -> None:
    buffers = [b"abcd", b"efgh"]
    ptd = _error(lambda: pe.encode_data_file(pe.DataPayload(buffers, {key: entry})))
    pte = _error(lambda: _pte({key: entry}, buffers))
    where = f"[{key_text(key)}]{place}"
    assert (ptd.path, pte.path) == (f"named_data{where}", f"named_data.pte_data{where}")
    assert (ptd.expected or "").startswith(expected) and (pte.expected or "").startswith(expected)
    assert str(ptd).replace("named_data", "X") == \
        str(pte).replace("named_data.pte_data", "X").replace("named_data.buffers", "buffers")


def test_both_files_check_every_entry_before_any_buffer() -> None:
    """With a bad buffer named by one entry and a bad index in a later one,
    both files name the index: the entries are all checked first, then
    their buffers are read."""
    named = {"a": pe.DataEntry(0, 1), "b": pe.DataEntry(5, 1)}
    buffers = [None, b"efgh"]
    ptd = _error(lambda: pe.encode_data_file(pe.DataPayload(buffers, named)))
    pte = _error(lambda: _pte(named, buffers))
    assert (ptd.path, pte.path) == ("named_data['b'].buffer_index", "named_data.pte_data['b'].buffer_index")


# The quick check of the common entry never changes an outcome.

_ODD: List[Any] = [0, 1, 2, -1, 4, 16, 3, 2**31, 2**32, 2**33, True, False, None, 1.0, Decimal(1),
                   Index(1), Index(-1), "1", 127, 128, -128, -129, 255, 256, 99, pe.ScalarType.FLOAT]
_odd = st.sampled_from(_ODD)
_lists = st.one_of(st.lists(_odd, max_size=3), st.lists(_odd, max_size=3).map(tuple),
                   st.sampled_from([b"\0\1", bytearray(b"\2"), "ab", 5, None, range(3)]))
_layouts = st.one_of(st.none(), st.builds(Layout, _odd, _lists, _lists), st.sampled_from([5, "x"]))
_entries = st.builds(Entry, _odd, _odd, _layouts)
_keys = st.sampled_from(["w", "v", "é", "\udc80", 5, None])


def _outcome(call: Any) -> Union[bytes, Tuple[str, str]]:
    try:
        return bytes(call())
    except pe.EncodeError as error:
        return error.path, str(error)


def _full(*args: Any, **kwargs: Any) -> Any:
    return checked_entries(*args, **{**kwargs, "quick": False})


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys, _entries, max_size=3))
def test_the_quick_check_never_changes_an_outcome(named: Dict[Any, Any]) -> None:
    payload = Payload([b"abcd", b"ef"], named)
    quick = _outcome(lambda: pe.encode_data_file(payload))
    with mock.patch.object(pte_encoder.formats.ptd.write, "checked_entries", _full):
        full = _outcome(lambda: pe.encode_data_file(payload))
    assert quick == full
    if isinstance(quick, tuple):
        assert quick[0].startswith(("named_data", "buffers")), quick  # in the payload's terms
    # .pte named data: the same entries, layouts ignored.
    store = pe.NamedDataOutput([b"abcd", b"ef"], named)
    quick = _outcome(lambda: pe.encode_program(_program(), named_data=store))
    with mock.patch.object(pte_encoder.formats.pte.write, "checked_entries", _full):
        full = _outcome(lambda: pe.encode_program(_program(), named_data=store))
    assert quick == full


# 4. FileData's arguments.

@pytest.mark.parametrize("args, kwargs, path, expected", [
    (("missing.bin",), {}, "path", "a readable file (size=None measures it)"),
    ((None,), {}, "path", "a path (str or os.PathLike)"),
    ((3,), {}, "path", "a path (str or os.PathLike)"),
    ((".",), {}, "path", "a file, not a folder"),
    (("w.bin",), {"offset": -1}, "offset", "a non-negative integer"),
    (("w.bin",), {"offset": 1.0}, "offset", "a non-negative integer"),
    (("w.bin",), {"offset": True}, "offset", "a non-negative integer"),
    (("w.bin",), {"size": -1}, "size", "a non-negative integer"),
    (("w.bin",), {"size": "4"}, "size", "a non-negative integer"),
])
def test_file_data_arguments_are_checked_as_every_input(args: Any, kwargs: Any, path: str, expected: str,
                                                        tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "w.bin").write_bytes(b"abcdef")
    error = _error(lambda: pe.FileData(*args, **kwargs))
    assert (error.path, error.expected, error.has_value) == (path, expected, True)
    given_value = kwargs.get(path, args[0] if path == "path" else None)
    assert error.value == given_value or error.value is given_value


def test_file_data_takes_integer_likes() -> None:
    data = pe.FileData(ROOT / "README.md", offset=Index(2), size=Index(3))  # type: ignore[arg-type]
    assert (data.offset, data.size) == (2, 3) and type(data.offset) is int
    assert data.to_bytes() == (ROOT / "README.md").read_bytes()[2:5]


# 5. The .ptd JSON reader's input.

@pytest.mark.parametrize("source, text", [(None, "null"), (5, "5"), ([], "a list")])
def test_payload_from_json_refuses_what_is_no_json_object(source: Any, text: str) -> None:
    error = _error(lambda: pe.payload_from_json(source))
    assert str(error) == f"payload: expected an object (a payload), got {text}"
    assert error.path == "" and error.has_value and error.value == source


def test_payload_from_json_takes_a_parsed_object() -> None:
    text = '{"buffers": ["YWJjZA=="], "named_data": {"w": {"buffer_index": 0, "alignment": null}}}'
    assert pe.payload_from_json(json.loads(text)) == pe.payload_from_json(text)


@pytest.mark.parametrize("call, message", [
    (lambda: pe.payload_from_json('{"named_data": {}}'), "buffers: missing (expected a list of base64 strings)"),
    (lambda: pe.payload_from_json('{"buffers": []}'), "named_data: missing (expected an object: key -> "
                                                      "{buffer_index, alignment, tensor_layout})"),
    (lambda: pe.payload_from_json('{"buffers": [], "named_data": {"w": {}}}'),
     "named_data['w'].buffer_index: missing (expected an integer)"),
    (lambda: pe.options_from_json('{"named_data": {"pte_data": {}}}'),
     "named_data.buffers: missing (expected a list of base64 strings)"),
    (lambda: pe.options_from_json('{"named_data": {"buffers": [], "pte_data": {"w": {}}}}'),
     "named_data.pte_data['w'].buffer_index: missing (expected an integer)"),
])
def test_a_missing_key_is_said_to_be_missing(call: Any, message: str) -> None:
    assert str(_error(call)) == message


def test_payload_from_json_checks_without_encoding() -> None:
    text = ('{"buffers": ["YWJjZA=="], "named_data": {"w": {"buffer_index": 0, "alignment": 3}}}')
    assert _error(lambda: pe.payload_from_json(text)).path == "named_data['w'].alignment"
    with mock.patch.object(pte_encoder.formats.ptd.write, "_extract", side_effect=AssertionError("encoded")):
        pe.payload_from_json(text.replace('"alignment": 3', '"alignment": 16'))


# 6. A file-backed blob whose len() is more than it gives.

class Claims:
    """A file-backed blob with no file to check, claiming ``claimed`` bytes."""

    def __init__(self, data: bytes, claimed: int) -> None:
        self.data, self.claimed = data, claimed

    def __len__(self) -> int:
        return self.claimed

    def write_to_file(self, file: Any) -> None:
        file.write(self.data)


@pytest.mark.parametrize("claimed", [2**62, 2**40, 4])
def test_a_blob_is_not_trusted_with_the_memory_its_len_claims(claimed: int) -> None:
    for call, place in ((lambda: pe.encode_data_file(pe.DataPayload([Claims(b"abc", claimed)],
                                                                    {"w": pe.DataEntry(0)})), "buffers[0]"),
                        (lambda: _pte({"w": pe.DataEntry(0)}, [Claims(b"abc", claimed)]), "named_data.buffers[0]")):
        error = _error(call)
        assert error.path == place and f"gave 3 bytes, expected {claimed}" in str(error)


def test_a_blob_that_tells_the_truth_without_a_file_is_read_once() -> None:
    assert pe.encode_data_file(pe.DataPayload([Claims(b"abc", 3)], {"w": pe.DataEntry(0)})) == \
        pe.encode_data_file(pe.DataPayload([b"abc"], {"w": pe.DataEntry(0)}))


# 7. Layering: tests/project/test_layers.py checks that the two formats share
# formats/common/ and import nothing of each other.


@pytest.mark.parametrize("buffers", [None, b"ab", "ab", memoryview(b"ab"), 5, {0: b"ab"}])
def test_both_files_refuse_buffers_that_are_no_list_alike(buffers: Any) -> None:
    ptd = _error(lambda: pe.encode_data_file(pe.DataPayload(buffers, {})))
    pte = _error(lambda: _pte({}, buffers))
    assert (ptd.path, pte.path) == ("buffers", "named_data.buffers")
    assert ptd.expected == pte.expected == "a list of buffers" and ptd.value is pte.value is buffers


def test_both_files_take_any_sequence_of_buffers() -> None:
    entries = {"w": pe.DataEntry(1, 16)}
    assert pe.encode_data_file(pe.DataPayload(Items(b"ab", b"cd"), entries)) == \
        pe.encode_data_file(pe.DataPayload([b"ab", b"cd"], entries))
    assert _pte(entries, Items(b"ab", b"cd")) == _pte(entries, [b"ab", b"cd"])


class Failing(SequenceABC):  # type: ignore[type-arg]
    """The caller's own containers, failing: weights loaded lazily from files
    that are gone (``item``), or a sequence whose ``len()`` fails."""

    def __init__(self, length: int = 1, item: bool = True) -> None:
        self.length, self.item = length, item

    def __len__(self) -> int:
        if self.length < 0:
            raise RuntimeError("no length")
        return self.length

    def __getitem__(self, index: Any) -> Any:
        if self.item:
            raise FileNotFoundError(2, "No such file or directory", "/gone/w.bin")
        return 1


class FailingMapping(dict):  # type: ignore[type-arg]
    """A mapping whose items fail partway."""

    def items(self) -> Any:
        yield "w", pe.DataEntry(0, 16)
        raise RuntimeError("the store is closed")


@pytest.mark.parametrize("buffers, named, place", [
    (Failing(), {"w": pe.DataEntry(0, 16)}, "[0]"),
    (Failing(-1), {"w": pe.DataEntry(0, 16)}, ""),
    ([b"abcd"], FailingMapping(), None),
])
def test_what_the_callers_containers_raise_is_named_at_their_place(buffers: Any, named: Any,
                                                                     place: Optional[str]) -> None:
    """Every failure of the caller's containers is an EncodeError at its place,
    in both files, never the container's own exception."""
    ptd = _error(lambda: pe.encode_data_file(pe.DataPayload(buffers, named)))
    pte = _error(lambda: _pte(named, buffers))
    if place is None:  # the mapping
        assert (ptd.path, pte.path) == ("named_data", "named_data.pte_data")
        assert str(ptd) == "named_data: cannot be read: RuntimeError: the store is closed"
    else:
        assert (ptd.path, pte.path) == ("buffers" + place, "named_data.buffers" + place)
        assert "cannot be read" in str(ptd) and "cannot be read" in str(pte)


@pytest.mark.parametrize("name", ["buffers", "named_data"])
def test_a_payload_property_that_raises_is_named(name: str) -> None:
    class Lazy:
        buffers: Any = [b"abcd"]
        named_data: Any = {"w": pe.DataEntry(0, 16)}

    def boom(self: Any) -> Any:
        raise RuntimeError("not loaded")
    setattr(Lazy, name, property(boom))
    error = _error(lambda: pe.encode_data_file(Lazy()))  # type: ignore[arg-type]
    assert str(error) == f"{name}: cannot be read: RuntimeError: not loaded" and error.path == name


def test_a_layout_sequence_that_fails_is_named() -> None:
    error = _error(lambda: pe.encode_data_file(pe.DataPayload([b"abcd"], {"w": pe.DataEntry(
        0, 16, pe.TensorLayout(pe.ScalarType.FLOAT, Failing(2), [0]))})))
    assert error.path == "named_data['w'].tensor_layout.sizes"
    assert str(error).startswith("named_data['w'].tensor_layout.sizes: cannot be read: FileNotFoundError")


class Hostile:
    """An integer-like whose __index__ raises."""

    def __index__(self) -> int:
        raise RuntimeError("boom")


@pytest.mark.parametrize("call, path", [
    (lambda: pe.FileData("x", offset=Hostile()), "offset"),  # type: ignore[arg-type]
    (lambda: pe.encode_data_file(pe.DataPayload([b"a"], {"w": pe.DataEntry(0, Hostile())})),  # type: ignore[arg-type]
     "named_data['w'].alignment"),
    (lambda: pe.encode_data_file(pe.DataPayload([b"a"], {"w": pe.DataEntry(Hostile(), 1)})),  # type: ignore[arg-type]
     "named_data['w'].buffer_index"),
    (lambda: pe.encode_data_file(pe.DataPayload([b"a"], {}), segment_alignment=Hostile()),  # type: ignore[arg-type]
     "segment_alignment"),
    (lambda: _pte({"w": pe.DataEntry(Hostile(), 1)}), "named_data.pte_data['w'].buffer_index"),  # type: ignore[arg-type]
    (lambda: pe.encode_program(_program(), constant_tensor_alignment=Hostile()),  # type: ignore[arg-type]
     "constant_tensor_alignment"),
])
def test_an_index_that_raises_is_unreadable_at_its_place(call: Any, path: str) -> None:
    error = _error(call)
    assert str(error) == f"{path}: cannot be read: RuntimeError: boom" and error.path == path
