"""One schema's encoder: the generated table encoders and every cache they use.

A :class:`Codec` is made once per schema from its generated modules (the
Schema records, the encoders' ``build`` function and the model classes). It
owns all that outlives one buffer: the plans of flat subtrees, the layouts
of tables, the vector packers. Two schemas in one process never share any of
it, and every cache is bounded. Writers made by one codec may run in several
threads at once: caches only ever gain entries that any writer may use, or
are emptied whole.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import EncodeError
from .check import check_root
from .layout import Layout, TableLayout, new_layout, table_layout
from .plans import Plans
from .schema import Schema
from .writer import VectorPacker, Writer

__all__ = ["Codec", "MAX_FLATBUFFER_SIZE", "Encoder"]

# flatc refuses buffers of 2 GiB and more (offsets are signed 32-bit).
MAX_FLATBUFFER_SIZE = 2**31 - 1

# Table layouts kept per table (and table_layout results for the plans, all
# tables together), beyond which the memo starts again.
MAX_LAYOUTS = 4096

Encoder = Callable[[Writer, Any], int]

# What a failing encoder may raise on bad input; the checker then names the place.
_ENCODE_ERRORS = (AttributeError, KeyError, TypeError, ValueError, OverflowError, IndexError,
                  struct.error, BufferError)


class Codec:
    """Encodes trees of one schema's tables.

    ``build`` is the generated encoders module's function: given the codec, it
    returns the root table's encoder. ``models`` maps each table name to its
    generated class, ``enum_types`` each enum name to its IntEnum (a reader
    builds objects from them).
    """

    def __init__(self, schema: Schema, build: Callable[[Codec], Encoder],
                 models: Mapping[str, type], enum_types: Mapping[str, type]) -> None:
        self.schema = schema
        self.models = dict(models)
        self.enum_types = dict(enum_types)
        # (table, field, schema force_align) of each force-aligned vector:
        # the order of the aligns encode_chunks takes.
        self.force_aligned = schema.force_aligned
        self.default_aligns = tuple(align for _table, _field, align in self.force_aligned)
        self._layouts: Dict[str, Dict[int, Layout]] = {table: {} for table in schema.tables}
        self._table_layouts: Dict[Tuple[str, int], TableLayout] = {}
        self._vectors: Dict[Tuple[str, int], VectorPacker] = {}
        self.plans = Plans(schema, self.table_layout)
        self._root = build(self)

    # --- caches the generated encoders and the plans use

    def layouts(self, table: str) -> Dict[int, Layout]:
        """The memo of ``table``'s layouts by key; its encoder reads it directly
        and calls :meth:`new_layout` on a miss."""
        return self._layouts[table]

    def new_layout(self, table: str, key: int) -> Layout:
        """Compute and remember the layout of ``table`` for ``key``
        (presence bits << 3 | start % 8)."""
        cache = self._layouts[table]
        if len(cache) >= MAX_LAYOUTS:
            cache.clear()
        layout = cache[key] = new_layout(key, self.schema.specs[table])
        return layout

    def table_layout(self, table: str, key: int) -> TableLayout:
        """layout.table_layout for ``table``, memoised."""
        found = self._table_layouts.get((table, key))
        if found is None:
            if len(self._table_layouts) >= MAX_LAYOUTS:
                self._table_layouts.clear()
            found = self._table_layouts[(table, key)] = table_layout(key, self.schema.specs[table])
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

    def writer(self, aligns: Sequence[int]) -> Writer:
        return Writer(self.plans, self._vectors, aligns)

    def encode_chunks(self, root: Any, aligns: Optional[Sequence[int]] = None
                      ) -> Tuple[List[Any], int]:
        """The FlatBuffer of ``root`` as a list of bytes-like chunks in order, and
        its size. chunks[0] is the root offset and chunks[1] the file identifier
        (a container may insert a header after them). ``aligns`` as
        :meth:`aligns` returns them (default: the schema's).

        Raises :class:`EncodeError` naming the first bad value.
        """
        writer = self.writer(self.default_aligns if aligns is None else aligns)
        try:
            position = self._root(writer, root)
        except _ENCODE_ERRORS as exc:
            problem: Optional[str] = str(exc)
        except MemoryError:
            problem = "out of memory"
        else:
            problem = None
        if problem is not None:
            # The writer holds views of the caller's buffers: drop it (and the
            # exception's traceback, which reaches it) before checking, so that
            # no buffer stays exported by the error raised.
            del writer
            self.check(root)  # raises EncodeError naming the place
            raise EncodeError(f"{self.schema.name}: cannot be encoded: {problem}")
        chunks = writer.finish(position, self.schema.file_identifier)
        size = writer.size
        if size > MAX_FLATBUFFER_SIZE:
            del writer, chunks
            self.check(root)  # names a single blob over the limit, if there is one
            expected = f"at most {MAX_FLATBUFFER_SIZE} bytes"
            raise EncodeError(f"{self.schema.name}: the FlatBuffer would be {size} bytes, "
                              f"over the format's limit of {MAX_FLATBUFFER_SIZE}",
                              path="", value=size, expected=expected, has_value=True)
        return chunks, size

    def encode(self, root: Any, aligns: Optional[Sequence[int]] = None) -> bytes:
        """The FlatBuffer of ``root`` as bytes (see :meth:`encode_chunks`)."""
        chunks, _size = self.encode_chunks(root, aligns)
        return b"".join(chunks)

    def check(self, root: Any) -> None:
        """Raise :class:`EncodeError` at the first value of ``root`` that cannot be encoded."""
        check_root(self.schema, root)
