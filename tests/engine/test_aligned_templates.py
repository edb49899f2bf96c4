"""Flat subtrees holding force-aligned byte vectors (Schema.aligned_tables): a
bundled program's test values (Value, Tensor with its 16-aligned data) and
the test cases holding them. Their templates depend on where the subtree
starts modulo the alignments; big blobs and wide alignments go through the
writer. Each case at every start modulo 64, in both layouts, against flatc
and the flatbuffers runtime; a program's constants and inline delegate data
(tables holding only a blob: written through the writer) likewise."""

from __future__ import annotations

from typing import Any, List, Optional

import pytest

import pte_encoder as pe
from helpers import flatc_binary
from pte_encoder.engine import writer as _writer
from pte_encoder.engine.templates import BIG_BLOB, MAX_TEMPLATE_ALIGN
from pte_encoder.schemas.bundled_program.codec import BUNDLED_PROGRAM
from pte_encoder.schemas.program.codec import PROGRAM
from bundled_helpers import legacy_writer, object_api_tree
from pte_encoder.formats.bundled.json import bundled_to_json
from test_layouts import packed

B = pe.bundled
# data sizes around every residue modulo 16, empty, and from BIG_BLOB on (never packed)
SIZES = [0, 1, 3, 4, 5, 8, 12, 15, 16, 17, 31, 33, 100, BIG_BLOB - 1, BIG_BLOB, BIG_BLOB + 5]


def _bundled(name: str, sizes: List[int]) -> Any:
    values = [B.Value(B.Tensor(B.ScalarType.BYTE, [n], bytes([n % 251]) * n, b"\0")) for n in sizes]
    values.insert(1, B.Value(B.Int(7)))
    return B.BundledProgram(2, [B.BundledMethodTestSuite(name, [
        B.BundledMethodTestCase(values, values[::-1]), B.BundledMethodTestCase([], values[:3])])], b"p" * 5)


@pytest.mark.parametrize("shift", range(0, 64, 4))
def test_bundled_values_at_every_start(shift: int) -> None:
    # the method's name moves where everything before it starts
    bundled = _bundled("m" * shift, SIZES)
    flatc = legacy_writer().binary(bundled_to_json(bundled))
    builder = object_api_tree(bundled)
    for _ in range(3):  # first through the writer, then from templates learnt
        assert pe.encode_bundled_program(bundled) == flatc
        assert pe.encode_bundled_program(bundled, layout="flatbuffers") == builder


def test_the_templates_are_used_and_big_blobs_are_not_packed() -> None:
    big = bytes(range(256)) * (BIG_BLOB // 256 + 1)
    bundled = _bundled("forward", [4, 20])
    bundled.method_test_suites[0].test_cases[1].inputs = [B.Value(B.Tensor(6, [len(big) // 4], big, b"\0"))]  # type: ignore[index]
    for layout in ("flatc", "flatbuffers"):
        for _ in range(2):
            chunks, _size = BUNDLED_PROGRAM.encode_chunks(bundled, None, layout)
        assert any(chunk is big for chunk in chunks)  # the big blob as it is, not copied
        learnt = [key for key in BUNDLED_PROGRAM.layout(layout).templates.shapes if key[0] == "Value"]
        assert learnt and all(isinstance(key[1], tuple) and key[1][1] == (16, 32) for key in learnt)
        assert {key[2] for key in learnt} <= set(range(16))  # start modulo 16, Tensor.data's alignment


def _through_the_writer(monkeypatch: pytest.MonkeyPatch, encode: Any) -> bytes:
    """What ``encode()`` gives with no template for force-aligned subtrees."""
    with monkeypatch.context() as patch:
        patch.setattr(_writer, "MAX_TEMPLATE_ALIGN", 0)
        return encode()  # type: ignore[no-any-return]


@pytest.mark.parametrize("alignment", [None, 4, 8, 32, MAX_TEMPLATE_ALIGN, 2 * MAX_TEMPLATE_ALIGN, 4096])
@pytest.mark.parametrize("shift", [0, 4, 12, 28])
def test_program_constants_and_delegate_data_at_every_alignment(alignment: Optional[int], shift: int,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    program = pe.Program(
        version=0, execution_plan=[pe.ExecutionPlan(name="f" * shift, values=[], inputs=[], outputs=[])],
        constant_buffer=[pe.Buffer(storage=bytes([n % 7]) * n) for n in SIZES],
        backend_delegate_data=[pe.BackendDelegateInlineData(data=bytes(n)) for n in SIZES[:9]])

    def encode(layout: str) -> bytes:
        return pe.encode_flatbuffer(program, constant_tensor_alignment=alignment, delegate_alignment=alignment,
                                    layout=layout)  # type: ignore[arg-type]

    # flatc takes force_align up to 32; beyond, the writer's own bytes are the reference
    flatc = flatc_binary(pe.program_to_json(program), alignment, alignment) if (alignment or 16) <= 32 \
        else _through_the_writer(monkeypatch, lambda: encode("flatc"))
    builder = packed(program, alignment, alignment)
    for _ in range(3):
        assert encode("flatc") == flatc
        assert encode("flatbuffers") == builder


def test_wide_alignments_write_through_the_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    bundled = _bundled("forward", [1, 2, 3, 40])
    wide = BUNDLED_PROGRAM.aligns({("Tensor", "data"): 2 * MAX_TEMPLATE_ALIGN})
    for aligns in (wide, BUNDLED_PROGRAM.aligns({("Tensor", "data"): MAX_TEMPLATE_ALIGN})):
        expected = _through_the_writer(monkeypatch, lambda: BUNDLED_PROGRAM.encode(bundled, aligns))
        for _ in range(3):
            assert BUNDLED_PROGRAM.encode(bundled, aligns) == expected
    learnt = {key[1][1] for key in BUNDLED_PROGRAM.layout("flatc").templates.shapes if key[0] == "Value"}
    assert tuple(BUNDLED_PROGRAM.aligns({("Tensor", "data"): MAX_TEMPLATE_ALIGN})) in learnt
    assert tuple(wide) not in learnt


def test_which_tables_hold_force_aligned_vectors() -> None:
    assert BUNDLED_PROGRAM.schema.aligned_tables() == {
        "Tensor": (0,), "Value": (0,), "BundledMethodTestCase": (0,), "BundledMethodTestSuite": (0,)}
    # a table holding only a blob gains nothing from a template (it would copy the blob)
    assert PROGRAM.schema.aligned_tables() == {}
    assert "Buffer" not in PROGRAM.schema.flat_tables()
    assert "BackendDelegateInlineData" not in PROGRAM.schema.flat_tables()
