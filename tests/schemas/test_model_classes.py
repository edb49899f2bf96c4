"""The generated model classes behave as the @dataclass of the same fields would.

model.py and flat_tensor_model.py are written out as plain classes with
__slots__ (cheaper to import than @dataclass). Here each is compared with a
dataclass built from the schema's own field list (names, order, defaults as
the generator renders them): the __init__ signature, construction by
position and by keyword, __eq__, __repr__, __match_args__ and hashing.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from enum import IntEnum
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List, Tuple

import pytest

from helpers import ROOT
import gen_schema

from pte_encoder.schemas.flat_tensor import model as flat_tensor_model
from pte_encoder.schemas.program import model

MODELS = [(model, "program.fbs"), (flat_tensor_model, "flat_tensor.fbs")]


def _dataclasses(module: ModuleType, fbs: str) -> Dict[str, type]:
    """A @dataclass per table of ``fbs``: the fields and defaults of its schema."""
    declared = gen_schema.parse(ROOT / "schema" / fbs)
    namespace: Dict[str, Any] = {name: value for name, value in vars(module).items()
                                 if isinstance(value, type) and issubclass(value, IntEnum)}
    made = {}
    for table, fields in declared.tables.items():
        spec = [(f.name, Any, dataclasses.field(default=eval(gen_schema.python_default(declared, f),
                                                                  namespace)))
                for f in fields]
        made[table] = dataclasses.make_dataclass(table, spec)
    return made


def _cases() -> List[Tuple[ModuleType, str, type]]:
    return [(module, table, dc) for module, fbs in MODELS
            for table, dc in _dataclasses(module, fbs).items()]


CASES = _cases()


def _values(dc: type, salt: int) -> Dict[str, Any]:
    """Non-default values for every field, different for each salt."""
    return {f.name: [salt, f.name] for f in dataclasses.fields(dc)}


@pytest.mark.parametrize("module, table, dc", CASES, ids=[f"{m.__name__}.{t}" for m, t, _ in CASES])
def test_model_class_behaves_as_its_dataclass(module: ModuleType, table: str, dc: type) -> None:
    cls = getattr(module, table)
    assert not dataclasses.is_dataclass(cls)  # the point: no @dataclass processing at import
    ours, theirs = inspect.signature(cls), inspect.signature(dc)
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.parameters.values()]
    assert cls.__match_args__ == dc.__match_args__  # type: ignore[attr-defined]
    assert cls.__hash__ is None and dc.__hash__ is None
    with pytest.raises(TypeError):
        hash(cls())

    # defaults, keywords, positions: the same attributes, equal reprs
    for args, kwargs in [((), {}), ((), _values(dc, 1)), (tuple(_values(dc, 2).values()), {})]:
        a, b = cls(*args, **kwargs), dc(*args, **kwargs)
        assert repr(a) == repr(b)
        assert {n: getattr(a, n) for n in cls.__match_args__} == \
            {n: getattr(b, n) for n in dc.__match_args__}  # type: ignore[attr-defined]
        assert a == cls(*args, **kwargs) and not a != cls(*args, **kwargs)
    with pytest.raises(TypeError):
        cls(*range(len(cls.__match_args__) + 1))
    with pytest.raises(TypeError):
        cls(no_such_field=1)

    # __eq__: field by field, same class only (NotImplemented otherwise)
    base = _values(dc, 3)
    for name in base:
        changed = dict(base, **{name: "other"})
        assert (cls(**base) == cls(**changed)) == (dc(**base) == dc(**changed)) is False
    assert cls().__eq__(dc()) is NotImplemented and dc().__eq__(cls()) is NotImplemented
    assert cls() != object() and (cls() == cls()) is True

    # subclasses: repr names the subclass, and equality needs the same class (as dataclasses)
    sub = type("Sub", (cls,), {"__slots__": ()})
    assert repr(sub()).startswith("Sub(") and sub() != cls() and sub() == sub()

    # copy and pickle keep the fields
    a = cls(**base)
    assert copy.deepcopy(a) == a and pickle.loads(pickle.dumps(a)) == a


def test_recursive_repr_is_guarded() -> None:
    chain = model.Chain()
    chain.inputs = [chain]  # type: ignore[list-item]
    assert repr(chain).startswith("Chain(inputs=[...]")
    dc = _dataclasses(model, "program.fbs")["Chain"]()
    dc.inputs = [dc]
    assert repr(chain) == repr(dc)


def test_importing_the_package_does_not_import_dataclasses(tmp_path: Path) -> None:
    import subprocess
    import sys
    code = ("import sys, pte_encoder; "
            "print(sorted(m for m in ('dataclasses', 'inspect', 'json', 'base64', 'tempfile', 'hashlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=str(tmp_path)).stdout
    assert out.strip() == "[]"


def test_option_classes_behave_as_their_dataclasses() -> None:
    import pte_encoder as pe
    made = {
        "TensorLayout": [("scalar_type", Any), ("sizes", Any), ("dim_order", Any)],
        "DataEntry": [("buffer_index", int), ("alignment", int, dataclasses.field(default=1)),
                      ("tensor_layout", Any, dataclasses.field(default=None))],
        "NamedDataOutput": [("buffers", Any, dataclasses.field(default_factory=list)),
                            ("pte_data", Any, dataclasses.field(default_factory=dict))],
        "DataPayload": [("buffers", Any, dataclasses.field(default_factory=list)),
                        ("named_data", Any, dataclasses.field(default_factory=dict))],
    }
    arguments = {"TensorLayout": (pe.ScalarType.FLOAT, [2, 3], [0, 1]), "DataEntry": (3, 16, None),
                 "NamedDataOutput": ([b"x"], {}), "DataPayload": ([b"y"], {"k": pe.DataEntry(0)})}
    for name, fields in made.items():
        ours, theirs = getattr(pe, name), dataclasses.make_dataclass(name, fields)  # type: ignore[arg-type]
        assert not dataclasses.is_dataclass(ours)
        assert [(p.name, p.kind, repr(p.default)) for p in inspect.signature(ours).parameters.values()] \
            == [(p.name, p.kind, repr(p.default)) for p in inspect.signature(theirs).parameters.values()]
        args = arguments[name]
        assert repr(ours(*args)) == repr(theirs(*args)) and ours(*args) == ours(*args)
        assert ours(*args).__eq__(theirs(*args)) is NotImplemented
        assert ours.__hash__ is None and ours.__match_args__ == theirs.__match_args__  # type: ignore
        for i in range(len(args)):  # each field takes part in equality
            changed = list(args)
            changed[i] = "other"
            assert ours(*args) != ours(*changed)
        with pytest.raises(TypeError):
            hash(ours(*args))
        with pytest.raises(AttributeError):
            ours(*args).no_such_field = 1
    assert repr(pe.NamedDataOutput()) == "NamedDataOutput(buffers=[], pte_data={})"
    first, second = pe.NamedDataOutput(), pe.NamedDataOutput()
    assert first.buffers is not second.buffers and first.pte_data is not second.pte_data
    assert pe.DataPayload().buffers is not pe.DataPayload().buffers
    assert pe.DataEntry(1) != pe.DataEntry(1, 2) and pe.DataEntry(1) == pe.DataEntry(1, 1)
    entry = pe.DataEntry(0)
    entry.tensor_layout = entry  # type: ignore[assignment]
    assert repr(entry) == "DataEntry(buffer_index=0, alignment=1, tensor_layout=...)"


def test_schema_is_immutable_and_compared_by_its_arguments() -> None:
    from pte_encoder.engine.schema import Schema
    from pte_encoder.schemas.program.records import SCHEMA
    copy_ = Schema(SCHEMA.name, SCHEMA.namespace, SCHEMA.file_identifier, SCHEMA.file_extension,
                   SCHEMA.root_table, SCHEMA.tables, SCHEMA.unions, SCHEMA.enums)
    assert copy_ == SCHEMA and copy_.specs == SCHEMA.specs and copy_.force_aligned == SCHEMA.force_aligned
    assert repr(copy_).startswith("Schema(name='program', namespace='executorch_flatbuffer', ")
    with pytest.raises(AttributeError):
        copy_.name = "other"
    with pytest.raises(AttributeError):
        del copy_.root_table
    assert copy_ != Schema(SCHEMA.name, SCHEMA.namespace, b"XXXX", SCHEMA.file_extension,
                           SCHEMA.root_table, SCHEMA.tables, SCHEMA.unions, SCHEMA.enums)
