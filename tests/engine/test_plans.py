"""The reader's plans: interpreted at first, generated code once hot. Both
give the same objects and, on damaged input, the same DecodeError (message,
path and offset): the generated code defers to the interpreter whenever one
of its checks fails."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

import pytest
from hypothesis import given, settings, strategies as st

from pte_encoder import DecodeError
from pte_encoder.engine import reader as reader_module
from pte_encoder.engine.codec import Codec
from pte_encoder.engine.reader import FlatBufferReader
from pte_encoder.engine.schema import Field, Schema
from pte_encoder.schemas.program.codec import PROGRAM
from helpers import CORPUS, CORPUS_CASES

FLATBUFFERS = [(CORPUS / c / name).read_bytes() for c in CORPUS_CASES
               for name in ("flatbuffer.bin", "flatbuffer-flatbuffers.bin")]


def readers(codec: Codec) -> Tuple[FlatBufferReader, FlatBufferReader]:
    classes = {**codec.models, **codec.enum_types}
    return (FlatBufferReader(codec.schema, classes, hot_after=None),
            FlatBufferReader(codec.schema, classes, hot_after=0))


INTERPRETED, GENERATED = readers(PROGRAM)


def same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to NaN and byte views compared by content."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, memoryview) or isinstance(b, memoryview):
        return type(a) is type(b) and bytes(a) == bytes(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if hasattr(a, "__slots__") and type(a) is type(b):
        return all(same(getattr(a, f), getattr(b, f)) for f in a.__slots__)
    return bool(type(a) is type(b) and a == b)


def outcome(decode: Callable[[bytes], Any], data: bytes) -> Any:
    try:
        return ("ok", decode(data))
    except DecodeError as exc:
        return ("error", str(exc), exc.path, exc.offset)


def agree(data: bytes, pair: Tuple[FlatBufferReader, FlatBufferReader] = (INTERPRETED, GENERATED),
          **kwargs: Any) -> Any:
    slow = outcome(lambda d: pair[0].decode(d, **kwargs), data)
    fast = outcome(lambda d: pair[1].decode(d, **kwargs), data)
    assert slow[0] == fast[0], (slow, fast)
    if slow[0] == "ok":
        assert same(slow[1], fast[1])
    else:
        assert slow == fast
    return slow


@pytest.mark.parametrize("index", range(len(FLATBUFFERS)))
def test_generated_code_reads_what_the_interpreter_reads(index: int) -> None:
    assert agree(FLATBUFFERS[index])[0] == "ok"


@settings(max_examples=300)
@given(st.sampled_from(range(len(FLATBUFFERS))),
       st.lists(st.tuples(st.integers(0, 2**20), st.integers(1, 255)), min_size=1, max_size=6))
def test_same_outcome_on_flipped_bytes(index: int, flips: List[Any]) -> None:
    data = bytearray(FLATBUFFERS[index])
    for at, mask in flips:
        data[at % len(data)] ^= mask
    agree(bytes(data))


@settings(max_examples=300)
@given(st.sampled_from(range(len(FLATBUFFERS))), st.integers(0, 2**20),
       st.one_of(st.sampled_from([0, 1, 2, 3, 4, 0x7FFFFFFF, 0xFFFFFFFF]), st.integers(0, 2**32 - 1),
                 st.integers(0, 4096)))
def test_same_outcome_on_any_word_overwritten(index: int, word: int, value: int) -> None:
    """Offsets, string lengths and vtable offsets set to anything: every
    inline check of the generated code fails somewhere here."""
    data = bytearray(FLATBUFFERS[index])
    struct.pack_into("<I", data, (word * 4) % (len(data) - 3), value)
    agree(bytes(data))


def test_same_error_when_the_work_budget_runs_out_inline() -> None:
    data = FLATBUFFERS[0]
    classes = {**PROGRAM.models, **PROGRAM.enum_types}
    for factor in (0, 1):
        pair = (FlatBufferReader(PROGRAM.schema, classes, hot_after=None, work_factor=factor),
                FlatBufferReader(PROGRAM.schema, classes, hot_after=0, work_factor=factor))
        for size in range(0, len(data), max(1, len(data) // 50)):
            agree(data[:size] if factor else data, pair)


def test_same_error_at_the_depth_limit() -> None:
    classes = {**PROGRAM.models, **PROGRAM.enum_types}
    for depth in range(1, 8):
        pair = (FlatBufferReader(PROGRAM.schema, classes, hot_after=None, max_depth=depth),
                FlatBufferReader(PROGRAM.schema, classes, hot_after=0, max_depth=depth))
        agree(FLATBUFFERS[0], pair)


def test_a_plan_gets_generated_code_once_hot() -> None:
    reader = FlatBufferReader(PROGRAM.schema, {**PROGRAM.models, **PROGRAM.enum_types}, hot_after=3)
    before = reader.decode(FLATBUFFERS[0])
    kinds = {plan[2].__name__ for plan in reader.plans.values()}
    for _ in range(3):
        assert same(reader.decode(FLATBUFFERS[0]), before)
    after = {plan[2].__name__ for plan in reader.plans.values()}
    assert "count_and_read" in kinds and after == {"read"}


def test_plans_are_shared_between_buffers_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    reader = FlatBufferReader(PROGRAM.schema, {**PROGRAM.models, **PROGRAM.enum_types})
    reader.decode(FLATBUFFERS[0])
    known = dict(reader.plans)
    reader.decode(FLATBUFFERS[0])
    assert reader.plans == known  # met again: nothing new
    monkeypatch.setattr(reader_module, "MAX_PLANS", 3)
    small = FlatBufferReader(PROGRAM.schema, {**PROGRAM.models, **PROGRAM.enum_types})
    for data in FLATBUFFERS:
        assert same(small.decode(data), reader.decode(data))
        assert 0 < len(small.plans) <= 3


def test_generated_code_holds_no_input_value() -> None:
    """The generated source is made of the plan's numbers and fixed text;
    field names, strings and defaults are bound by name, never pasted in."""
    sources: List[str] = []
    original = reader_module._generate

    def spy(reader: FlatBufferReader, ttype: Any, actions: Any) -> Any:
        read = original(reader, ttype, actions)
        sources.append(read.__code__.co_filename)
        assert all(not isinstance(c, str) or c in ("offset 0 points at itself", ".", "utf-8")
                   for c in read.__code__.co_consts if c is not None)
        return read

    reader_module._generate = spy  # type: ignore[assignment]
    try:
        _, fresh = readers(PROGRAM)
        fresh.decode(FLATBUFFERS[0])
    finally:
        reader_module._generate = original  # type: ignore[assignment]
    assert sources and all(s.startswith("<reader of ") for s in sources)


# -- made-up buffers for the inline checks a corpus file never trips -----------

@dataclass
class Item:
    a: int = 0
    b: int = 0


@dataclass
class Holder:
    first: Optional[Item] = None
    second: Optional[Item] = None
    items: Optional[List[Item]] = None


@dataclass
class Link:
    next: Optional["Link"] = None
    value: int = 0
    links: Optional[List["Link"]] = None


SMALL = Schema(
    name="small", namespace="test", file_identifier=b"SMAL", file_extension="small",
    root_table="Holder",
    tables={
        "Item": (Field("a", "SCALAR", 0, "i", 0, 0, None), Field("b", "SCALAR", 1, "i", 0, 0, None)),
        "Holder": (Field("first", "TABLE", 0, "Item", None, 0, None),
                   Field("second", "TABLE", 1, "Item", None, 0, None),
                   Field("items", "TABLE_VECTOR", 2, "Item", None, 0, None)),
        "Link": (Field("next", "TABLE", 0, "Link", None, 0, None),
                 Field("value", "SCALAR", 1, "i", 0, 0, None),
                 Field("links", "TABLE_VECTOR", 2, "Link", None, 0, None)),
    },
    unions={}, enums={})
SMALL_CLASSES = {"Item": Item, "Holder": Holder, "Link": Link}


def small_readers(**kwargs: Any) -> Tuple[FlatBufferReader, FlatBufferReader]:
    return (FlatBufferReader(SMALL, SMALL_CLASSES, hot_after=None, **kwargs),
            FlatBufferReader(SMALL, SMALL_CLASSES, hot_after=0, **kwargs))


def two_items_last_at_the_end(as_vector: bool) -> bytes:
    """A Holder whose two Items share one vtable (written before them), the
    second Item last in the buffer, 16 bytes after the first (the same
    position % 8): cut the buffer inside it and only its size is wrong."""
    out = bytearray(b"\0" * 64)
    holder = 28 if as_vector else 24
    struct.pack_into("<I", out, 0, holder)          # root offset
    out[4:8] = b"SMAL"
    struct.pack_into("<HHHH", out, 8, 8, 12, 4, 8)  # Item vtable at 8: 12-byte tables, a@4, b@8
    if as_vector:  # Holder vtable at 16: items@4; Holder at 28; the vector at 36
        struct.pack_into("<HHHHH", out, 16, 10, 8, 0, 0, 4)
        struct.pack_into("<iI", out, 28, 28 - 16, 36 - 32)
        struct.pack_into("<III", out, 36, 2, 48 - 40, 64 - 44)  # two items: at 48 and 64
    else:  # Holder vtable at 16: first@4, second@8; Holder at 24
        struct.pack_into("<HHHH", out, 16, 8, 12, 4, 8)
        struct.pack_into("<iII", out, 24, 24 - 16, 48 - 28, 64 - 32)  # first at 48, second at 64
    out += bytes(16)
    for at, a in ((48, 7), (64, 9)):
        struct.pack_into("<iii", out, at, at - 8, a, a + 1)
    return bytes(out[:76])


@pytest.mark.parametrize("as_vector", [False, True])
def test_same_error_for_a_table_whose_known_vtable_makes_it_run_past_the_end(as_vector: bool) -> None:
    data = two_items_last_at_the_end(as_vector)
    pair = small_readers()
    whole = agree(data, pair)
    assert whole[0] == "ok"
    items = whole[1].items if as_vector else [whole[1].first, whole[1].second]
    assert items == [Item(7, 8), Item(9, 10)]
    for size in (68, 72):
        error = agree(data, pair, size=size)
        assert error[0] == "error" and "of 12 bytes at 64 runs past the end" in error[1]


def chain(links: int) -> bytes:
    """Link tables, each pointing at the next; the last has a vtable without `next`."""
    out = bytearray(struct.pack("<I4sHHHHHHHH", 24, b"LINK", 8, 12, 4, 8, 8, 12, 0, 8))
    for i in range(links):
        at = len(out)
        last = i + 1 == links
        out += struct.pack("<iIi", at - (16 if last else 8), 0 if last else 8, i)
    return bytes(out)


@pytest.mark.parametrize("links", [1, 2, 3, 5])
def test_same_error_at_the_depth_limit_inline(links: int) -> None:
    schema = Schema(name="link", namespace="test", file_identifier=b"LINK", file_extension="link",
                    root_table="Link", tables=SMALL.tables, unions={}, enums={})
    for depth in range(1, links + 2):
        pair = (FlatBufferReader(schema, SMALL_CLASSES, hot_after=None, max_depth=depth),
                FlatBufferReader(schema, SMALL_CLASSES, hot_after=0, max_depth=depth))
        result = agree(chain(links), pair)
        assert (result[0] == "ok") == (links <= depth), result


def test_same_error_at_the_depth_limit_in_a_vector_of_known_vtables() -> None:
    """The root Link and the one item of its `links` share a vtable: the item's
    plan is known when the vector is read, one level too deep."""
    data = struct.pack("<I4sHHHHH2x", 20, b"LINK", 10, 12, 0, 4, 8)  # vtable at 8, root at 20
    data += struct.pack("<iiI", 20 - 8, 1, 32 - 28)   # root: value 1, links -> 32
    data += struct.pack("<II4x", 1, 44 - 36)          # the vector: one item, at 44
    data += struct.pack("<iiIi", 44 - 8, 2, 56 - 52, 0)  # item: value 2, links -> [] at 56
    schema = Schema(name="link", namespace="test", file_identifier=b"LINK", file_extension="link",
                    root_table="Link", tables=SMALL.tables, unions={}, enums={})
    for depth, ok in ((1, False), (2, True)):
        pair = (FlatBufferReader(schema, SMALL_CLASSES, hot_after=None, max_depth=depth),
                FlatBufferReader(schema, SMALL_CLASSES, hot_after=0, max_depth=depth))
        result = agree(data, pair)
        assert (result[0] == "ok") == ok, result
    assert result[1] == Link(None, 1, [Link(None, 2, [])])


@pytest.mark.parametrize("index", [i for i, d in enumerate(FLATBUFFERS) if b"aten::" in d])
def test_same_error_for_a_string_that_is_not_utf8(index: int) -> None:
    data = bytearray(FLATBUFFERS[index])
    at = data.find(b"aten::")
    data[at + 1] = 0xFF
    result = agree(bytes(data))
    assert result[0] == "error" and "is not valid UTF-8" in result[1]


# -- the work charged -------------------------------------------------------------

from pte_encoder.schemas.etdump.codec import ETDUMP  # noqa: E402
from helpers import ROOT  # noqa: E402

MANY = (ROOT / "tests" / "data" / "corpus-etdump" / "flatcc" / "many_events.etdp").read_bytes()


def with_budget(reader: FlatBufferReader, data: bytes, budget: int) -> Any:
    session = reader_module._Session(reader, memoryview(data), len(data), 4, data)
    session.budget = budget
    try:
        session.root()
    except reader_module._Fail as exc:
        return ("error", exc.message, exc.offset)
    return ("ok", session.budget)


def test_generated_code_charges_the_budget_as_the_interpreter() -> None:
    """The work a decode charges is the same both ways, to the byte: every
    budget below it fails, at the same place, and the budget left is the same
    (an ETDump: 300 events, each a table, a table and a string)."""
    slow, fast = readers(ETDUMP)
    needed = 10**9 - with_budget(slow, MANY, 10**9)[1]
    assert with_budget(fast, MANY, 10**9) == ("ok", 10**9 - needed)
    for budget in list(range(needed - 600, needed + 1)) + list(range(0, needed, 97)):
        outcome_slow, outcome_fast = with_budget(slow, MANY, budget), with_budget(fast, MANY, budget)
        assert outcome_slow == outcome_fast, budget
        assert (outcome_slow[0] == "ok") == (budget >= needed)
