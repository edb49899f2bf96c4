"""The types of a bundled program as :func:`pte_encoder.encode_bundled_program`
takes it, for type checkers.

The generated protocols (``schemas/bundled_program/types.py``) describe the
schema's tables; two fields take more here. ``program`` may be file-backed
(:class:`pte_encoder.FileData`, ExecuTorch's ``FileBackedData``), and a
tensor's ``dim_order`` may be typed ``Sequence[bytes]``: ExecuTorch's
``bp_schema.Tensor`` annotates it ``List[bytes]`` though it holds ints (the
encoder takes bytes-like objects and lists of ints 0..255, and refuses
anything else when it runs). So ExecuTorch's ``bp_schema.BundledProgram``
fits :class:`BundledProgramInput` as it is.

The package's modules import this module only while type checking.
"""

from __future__ import annotations

from typing import Optional, Protocol, Sequence, SupportsIndex, Union

from ...schemas.bundled_program.model import ByteVector
from ...schemas.bundled_program.types import BoolLike, DoubleLike, IntLike
from ..common.types import Blob

__all__ = ["TensorInput", "ValueInput", "ValueUnionInput", "BundledMethodTestCaseInput",
           "BundledMethodTestSuiteInput", "BundledProgramInput"]


class TensorInput(Protocol):
    """A tensor given to a method or expected back (``pe.bundled.Tensor``,
    ExecuTorch's ``bp_schema.Tensor``)."""

    @property
    def scalar_type(self) -> SupportsIndex: ...
    @property
    def sizes(self) -> Optional[Sequence[SupportsIndex]]: ...
    @property
    def data(self) -> Optional[ByteVector]: ...
    @property
    def dim_order(self) -> Optional[Union[ByteVector, Sequence[bytes]]]: ...


#: What a test value holds (the encoder tells the members apart by class name).
ValueUnionInput = Union[TensorInput, IntLike, BoolLike, DoubleLike]


class ValueInput(Protocol):
    @property
    def val(self) -> Optional[ValueUnionInput]: ...


class BundledMethodTestCaseInput(Protocol):
    @property
    def inputs(self) -> Optional[Sequence[ValueInput]]: ...
    @property
    def expected_outputs(self) -> Optional[Sequence[ValueInput]]: ...


class BundledMethodTestSuiteInput(Protocol):
    @property
    def method_name(self) -> Optional[str]: ...
    @property
    def test_cases(self) -> Optional[Sequence[BundledMethodTestCaseInput]]: ...


class BundledProgramInput(Protocol):
    """What :func:`pte_encoder.encode_bundled_program` writes: the program
    (bytes-like or file-backed) and the test suites of its methods."""

    @property
    def version(self) -> SupportsIndex: ...
    @property
    def method_test_suites(self) -> Optional[Sequence[BundledMethodTestSuiteInput]]: ...
    @property
    def program(self) -> Optional[Blob]: ...
