"""One schema's encoder: the generated table encoders and every cache they use.

A :class:`Codec` is made once per schema from its generated modules (the
Schema records, the encoders' ``build`` function and the model classes). It
owns all that outlives one buffer: per layout policy (layout.py: flatc's or
the flatbuffers runtime's bytes) a :class:`LayoutEncoders` with the encoders
built for that policy, the templates of flat subtrees and the packers of tables;
and the vector packers, which all layouts share. Two schemas, or two layouts
of one schema, never share a template or a table packer, and every cache is
bounded. Writers made by one codec may run in several threads at once:
caches only ever gain entries that any writer may use, or are emptied whole.
Decoding goes through the codec's :class:`~.reader.FlatBufferReader`, which
builds the same model classes from a buffer in any layout.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .errors import EncodeError, bad_value
from .check import check_root
from .layout import POLICIES, TablePacker, LayoutPolicy, TablePacking
from .templates import Templates
from .schema import Schema
from .writer import VectorPacker, Writer

if TYPE_CHECKING:
    from .reader import FlatBufferReader

__all__ = ["Codec", "LayoutEncoders", "MAX_FLATBUFFER_SIZE", "Encoder", "DEFAULT_LAYOUT"]

# flatc refuses buffers of 2 GiB and more (offsets are signed 32-bit).
MAX_FLATBUFFER_SIZE = 2**31 - 1

# Table packers kept per layout and table (and table_packing results for the
# templates, all tables of a layout together), beyond which the memo starts again.
MAX_PACKERS = 4096

# The layout of a codec's buffers unless asked otherwise: flatc's.
DEFAULT_LAYOUT = "flatc"

Encoder = Callable[[Writer, Any], int]

# A failing encoder may raise anything on bad input: the usual TypeError,
# ValueError, struct.error..., and whatever a user object's __index__,
# __float__, __eq__ or property raises. The checker then names the place;
# BaseExceptions that are not Exceptions (KeyboardInterrupt) propagate.


class LayoutEncoders:
    """One codec's encoders built for one layout policy, and the caches they
    use: the packers of tables and the templates of flat subtrees.

    The generated ``build`` function takes this object: its encoders read
    :meth:`packers` directly, call :meth:`new_packer` on a miss, and read
    ``policy.signed_zero`` for float fields.
    """

    def __init__(self, schema: Schema, policy: LayoutPolicy,
                 build: Callable[[LayoutEncoders], Encoder]) -> None:
        self.schema = schema
        self.policy = policy
        self._packers: Dict[str, Dict[int, TablePacker]] = {table: {} for table in schema.tables}
        self._table_packings: Dict[Tuple[str, int], TablePacking] = {}
        self.templates = Templates(schema, self.table_packing, policy)
        self.root = build(self)

    def __repr__(self) -> str:
        return f"LayoutEncoders({self.schema.name!r}, {self.policy.name!r})"

    def packers(self, table: str) -> Dict[int, TablePacker]:
        """The memo of ``table``'s packers by key; its encoder reads it directly
        and calls :meth:`new_packer` on a miss."""
        return self._packers[table]

    def new_packer(self, table: str, key: int) -> TablePacker:
        """Compute and remember the packer of ``table`` for ``key``
        (presence bits << 3 | start % 8)."""
        cache = self._packers[table]
        if len(cache) >= MAX_PACKERS:
            cache.clear()
        packer = cache[key] = self.policy.new_packer(key, self.schema.specs[table])
        return packer

    def table_packing(self, table: str, key: int) -> TablePacking:
        """The policy's table_packing for ``table``, memoised."""
        found = self._table_packings.get((table, key))
        if found is None:
            if len(self._table_packings) >= MAX_PACKERS:
                self._table_packings.clear()
            found = self._table_packings[(table, key)] = self.policy.table_packing(
                key, self.schema.specs[table])
        return found


class Codec:
    """Encodes trees of one schema's tables, in any layout of layout.POLICIES,
    and decodes them back.

    ``build`` is the generated encoders module's function: given a
    :class:`LayoutEncoders`, it returns the root table's encoder for that
    layout. ``models`` maps each table name to its generated class,
    ``enum_types`` each enum name to its IntEnum (a reader builds objects
    from them).
    """

    def __init__(self, schema: Schema, build: Callable[[LayoutEncoders], Encoder],
                 models: Mapping[str, type], enum_types: Mapping[str, type]) -> None:
        self.schema = schema
        self.models = dict(models)
        self.enum_types = dict(enum_types)
        # (table, field, schema force_align) of each force-aligned vector:
        # the order of the aligns encode_chunks takes.
        self.force_aligned = schema.force_aligned
        self.default_aligns = tuple(align for _table, _field, align in self.force_aligned)
        self._vectors: Dict[Tuple[str, int], VectorPacker] = {}
        self._build = build
        # The default layout's encoders are built now, the others when first
        # asked for: building a layout's encoders is a good part of the
        # package's import time, and most processes use one layout.
        self._by_layout = {DEFAULT_LAYOUT: LayoutEncoders(schema, POLICIES[DEFAULT_LAYOUT], build)}
        self._reader: Optional[FlatBufferReader] = None

    def layout(self, name: str) -> LayoutEncoders:
        """The encoders and caches of the layout ``name`` ("flatc" or
        "flatbuffers"); :class:`EncodeError` for any other value."""
        found = self._by_layout.get(name) if isinstance(name, str) else None
        if found is None:
            policy = POLICIES.get(name) if isinstance(name, str) else None
            if policy is None:
                raise bad_value("layout", name, " or ".join(repr(known) for known in POLICIES))
            # Two threads may both get here: setdefault keeps the first made.
            found = self._by_layout.setdefault(name, LayoutEncoders(self.schema, policy, self._build))
        return found

    # --- encoding

    def aligns(self, overrides: Optional[Mapping[Tuple[str, str], Optional[int]]] = None
               ) -> Tuple[int, ...]:
        """The aligns :meth:`encode_chunks` takes: each force-aligned field's
        schema value, or its value in ``overrides`` (keyed by (table, field);
        None keeps the schema's). Values are not checked here."""
        if not overrides:
            return self.default_aligns
        for key in overrides:
            if key not in {(t, f) for t, f, _a in self.force_aligned}:
                raise KeyError(f"{key[0]}.{key[1]} is not a force_aligned field")
        return tuple(overrides.get((table, name)) or align
                     for table, name, align in self.force_aligned)

    def encode_chunks(self, root: Any, aligns: Optional[Sequence[int]] = None,
                      layout: str = DEFAULT_LAYOUT) -> Tuple[List[Any], int]:
        """The FlatBuffer of ``root`` as a list of bytes-like chunks in order, and
        its size. chunks[0] is the root offset and chunks[1] the file identifier
        (a container may insert a header after them). ``aligns`` as
        :meth:`aligns` returns them (default: the schema's); ``layout`` names
        a layout of layout.POLICIES (default: flatc's).

        Raises :class:`EncodeError` naming the first bad value.
        """
        writer = self._written(root, aligns, layout)
        try:
            return writer.pieces(), writer.size
        except MemoryError:
            pass
        raise self._out_of_memory(writer.size)

    def encode(self, root: Any, aligns: Optional[Sequence[int]] = None,
               layout: str = DEFAULT_LAYOUT, *, size_prefixed: bool = False) -> bytes:
        """The FlatBuffer of ``root`` as bytes (see :meth:`encode_chunks`);
        ``size_prefixed``: preceded by a uint32 holding the number of bytes
        after it (as ``flatc --size-prefixed`` writes)."""
        writer = self._written(root, aligns, layout, size_prefixed)
        try:
            return writer.join()
        except MemoryError:
            pass
        raise self._out_of_memory(writer.size)

    def _written(self, root: Any, aligns: Optional[Sequence[int]], layout: str,
                 size_prefixed: bool = False) -> Writer:
        """A finished writer holding the FlatBuffer of ``root`` (see
        :meth:`encode_chunks`), checked to be under the format's size limit;
        :class:`EncodeError` naming the first bad value."""
        # self.layout(layout), its common case inline
        laid = self._by_layout.get(layout) if layout.__class__ is str else None
        if laid is None:
            laid = self.layout(layout)
        writer = Writer(laid.templates, self._vectors, self.default_aligns if aligns is None else aligns,
                        laid.policy)
        try:
            writer.finish(laid.root(writer, root), self.schema.file_identifier, size_prefixed)
        except MemoryError:
            problem: Optional[str] = "out of memory"
        except EncodeError:
            raise
        except Exception as exc:
            problem = str(exc) if isinstance(exc, (TypeError, ValueError, struct.error)) \
                else f"{type(exc).__name__}: {exc}"
        else:
            problem = None
        if problem is not None:
            # The writer holds views of the caller's buffers: drop it (and the
            # exception's traceback, which reaches it) before checking, so that
            # no buffer stays exported by the error raised.
            del writer
            self.check(root)  # raises EncodeError naming the place
            raise EncodeError(f"{self.schema.name}: cannot be encoded: {problem}")
        size = writer.size
        if size > MAX_FLATBUFFER_SIZE:
            del writer
            self.check(root)  # names a single blob over the limit, if there is one
            expected = f"at most {MAX_FLATBUFFER_SIZE} bytes"
            raise EncodeError(f"{self.schema.name}: the FlatBuffer would be {size} bytes, "
                              f"over the format's limit of {MAX_FLATBUFFER_SIZE}",
                              path="", value=size, expected=expected, has_value=True)
        return writer

    def _out_of_memory(self, size: int) -> EncodeError:
        """The error for a FlatBuffer of ``size`` bytes, written, that cannot be joined."""
        return EncodeError(f"{self.schema.name}: the FlatBuffer would be {size} bytes: out of memory",
                           value=size, has_value=True)

    def check(self, root: Any) -> None:
        """Raise :class:`EncodeError` at the first value of ``root`` that cannot be encoded."""
        check_root(self.schema, root)

    # --- the JSON form flatc reads (engine/flatc_json.py, imported when first used)

    def to_json(self, root: Any) -> str:
        """``root`` as the JSON text flatc reads; :class:`EncodeError` naming
        the first bad value."""
        from .flatc_json import to_json

        return to_json(self.schema, root)

    def from_json(self, source: Any) -> Any:
        """The root table in JSON ``source`` (text or parsed) as model objects;
        :class:`EncodeError` naming the JSON path of a bad value."""
        from .flatc_json import tree_from_json

        return tree_from_json(self.schema, self.models, self.enum_types, source)

    # --- decoding

    def reader(self) -> FlatBufferReader:
        """The verifying reader of this schema, building the codec's model
        classes and enums (made on first use: most programs only write)."""
        if self._reader is None:
            from .reader import FlatBufferReader  # here: most processes only write

            # Two threads may both make one; either is as good.
            self._reader = FlatBufferReader(self.schema, {**self.models, **self.enum_types})
        return self._reader

    def decode(self, data: Any, *, size: Optional[int] = None, size_prefixed: bool = False) -> Any:
        """The root table of the FlatBuffer in ``data[:size]`` as model objects
        (see :meth:`FlatBufferReader.decode`); raises DecodeError."""
        return self.reader().decode(data, size=size, size_prefixed=size_prefixed)
