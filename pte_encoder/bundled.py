"""Bundled programs (.bpte): a program with test cases for its methods, as
ExecuTorch's ``devtools.bundled_program`` writes them (file identifier ``BP08``).

    import pte_encoder as pe

    bundled = pe.bundled.BundledProgram(version=2, method_test_suites=[...], program=pte_bytes)
    data = pe.bundled.encode_bundled_program(bundled)        # or pe.encode_bundled_program
    again = pe.bundled.decode_bundled_program(data)

The schema's tables ``Tensor``, ``Int``, ``Bool``, ``Double`` and ``Value``
share their names with the program's, so the bundled program's model lives
here, not at the top level: ``pe.bundled.Tensor`` is a test tensor,
``pe.Tensor`` a program's. The functions are also at the top level.
``ScalarType`` here is the bundled schema's own enum (the same values as
``pe.ScalarType``, another class). ``BundledProgramInput`` is what the
functions take, for type checkers (ExecuTorch's ``bp_schema`` objects, this
model, or a program that is file-backed).
"""

from .formats.bundled.read import decode_bundled_program, read_bundled_program
from .formats.bundled.types import BundledProgramInput, TensorInput
from .formats.bundled.write import encode_bundled_program, write_bundled_program
from .schemas.bundled_program.model import *  # noqa: F401,F403  (the model classes and enums)
from .schemas.bundled_program.model import __all__ as _model_all

__all__ = ["encode_bundled_program", "write_bundled_program", "decode_bundled_program",
           "read_bundled_program", "BundledProgramInput", "TensorInput", *_model_all]
