"""Test oracles: flatc itself, and the reader flatc generates (reference/)."""

from __future__ import annotations

import importlib
import json
import re
import struct
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional

from pte_encoder.schemas.flat_tensor.codec import FLAT_TENSOR
from pte_encoder.schemas.program.codec import PROGRAM
from pte_encoder.engine.schema import Schema

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"
CORPUS_CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
sys.path.insert(0, str(ROOT / "reference"))
sys.path.insert(0, str(ROOT / "tools"))

from find_flatc import flatc  # noqa: E402

FLATC = flatc()

_TMP = Path(tempfile.mkdtemp(prefix="pte-encoder-tests-"))


@lru_cache(maxsize=None)
def patched_schema(tensor_alignment: int, delegate_alignment: int) -> Path:
    """schema/ copied with the two force_align values replaced, as ExecuTorch does."""
    folder = _TMP / f"schema-{tensor_alignment}-{delegate_alignment}"
    folder.mkdir()
    text = (ROOT / "schema" / "program.fbs").read_text()
    text, n1 = re.subn(r"(storage: \[ubyte\] \(force_align: )16", rf"\g<1>{tensor_alignment}", text)
    text, n2 = re.subn(r"(data: \[ubyte\] \(force_align: )16", rf"\g<1>{delegate_alignment}", text)
    assert n1 == n2 == 1
    (folder / "program.fbs").write_text(text)
    (folder / "scalar_type.fbs").write_text((ROOT / "schema" / "scalar_type.fbs").read_text())
    return folder / "program.fbs"


def flatc_binary(program_json: str, tensor_alignment: Optional[int] = None,
                 delegate_alignment: Optional[int] = None) -> bytes:
    """What ``flatc --binary`` writes for a Program in ExecuTorch's JSON form."""
    schema = patched_schema(tensor_alignment or 16, delegate_alignment or 16)
    with tempfile.TemporaryDirectory(dir=_TMP) as tmp:
        source = Path(tmp) / "program.json"
        source.write_text(program_json, encoding="utf-8")
        subprocess.run([FLATC, "--binary", "-o", tmp, str(schema), str(source)],
                       check=True, capture_output=True)
        return (Path(tmp) / "program.pte").read_bytes()


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _reader_class(table: str, schema: Schema = PROGRAM.schema) -> Any:
    """The reference reader's class of ``table`` (its package is the schema's namespace)."""
    return getattr(importlib.import_module(f"{schema.namespace}.{table}"), table)


def _norm_scalar(value: Any, fmt: str) -> Any:
    """Scalars made comparable: floats by bit pattern, enums and bools as ints."""
    if fmt in "df":
        if isinstance(value, str):
            value = float(value)
        return ("float", struct.pack("<d", value).hex())
    return int(value)


def decode(table: str, obj: Any, schema: Schema = PROGRAM.schema) -> Dict[str, Any]:
    """A reference-reader table as a dict comparable with :func:`normalize`."""
    out: Dict[str, Any] = {}
    for f in schema.tables[table]:
        name, kind, elem = f.name, f.kind, str(f.elem)
        method = _camel(name)
        if kind == "SCALAR":
            out[name] = _norm_scalar(getattr(obj, method)(), elem)
        elif kind == "STRING":
            value = getattr(obj, method)()
            out[name] = None if value is None else value.decode("utf-8")
        elif kind == "TABLE":
            value = getattr(obj, method)()
            out[name] = None if value is None else decode(elem, value, schema)
        elif kind == "UNION":
            type_id = getattr(obj, method + "Type")()
            if type_id == 0:
                out[name] = None
                continue
            member = schema.unions[elem][type_id - 1]
            table_obj = getattr(obj, method)()
            inner = _reader_class(member, schema)()
            inner.Init(table_obj.Bytes, table_obj.Pos)
            out[name] = (member, decode(member, inner, schema))
        elif getattr(obj, method + "IsNone")():
            out[name] = None
        else:
            count = getattr(obj, method + "Length")()
            items = [getattr(obj, method)(i) for i in range(count)]
            if kind == "TABLE_VECTOR":
                out[name] = [decode(elem, item, schema) for item in items]
            else:
                out[name] = [_norm_scalar(item, elem) for item in items]
    return out


def decode_flatbuffer(data: bytes, schema: Schema = PROGRAM.schema) -> Dict[str, Any]:
    """A whole buffer of ``schema`` (default: a program) decoded by the reference reader."""
    root = _reader_class(schema.root_table, schema).GetRootAs(bytearray(data), 0)
    return decode(schema.root_table, root, schema)


def normalize(table: str, obj: Any, schema: Schema = PROGRAM.schema) -> Dict[str, Any]:
    """A model (or look-alike) object as a dict in :func:`decode`'s shape."""
    out: Dict[str, Any] = {}
    for f in schema.tables[table]:
        name, kind, elem = f.name, f.kind, str(f.elem)
        value = getattr(obj, name)
        if kind == "SCALAR":
            out[name] = _norm_scalar(value, elem)
        elif value is None:
            out[name] = None
        elif kind == "STRING":
            out[name] = value
        elif kind == "TABLE":
            out[name] = normalize(elem, value, schema)
        elif kind == "UNION":
            member = type(value).__name__
            out[name] = (member, normalize(member, value, schema))
        elif kind == "TABLE_VECTOR":
            out[name] = [normalize(elem, item, schema) for item in value]
        elif elem == "B" and not isinstance(value, (list, tuple)):
            out[name] = list(memoryview(value).cast("B"))
        else:
            out[name] = [_norm_scalar(item, elem) for item in value]
    return out


def load_options(case: str) -> Dict[str, Any]:
    options: Dict[str, Any] = json.loads((CORPUS / case / "options.json").read_text())
    return options
