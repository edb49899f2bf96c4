"""The entries of named data, checked one way for both containers: a .pte's
``named_data.pte_data`` and a .ptd's ``named_data``, key -> ExecuTorch's
``DataEntry`` or ours (``buffer_index``, ``alignment``, ``tensor_layout``).

The rules (ExecuTorch 1.5.1's where it has one, see the README):

- a key is a ``str`` encodable as UTF-8;
- ``buffer_index`` is an ``int`` or integer-like (``__index__``; not a
  bool) indexing the buffers;
- ``alignment`` is a power of two up to 2**32, or None, which ExecuTorch
  takes as 1 (its ``AlignedData`` keeps ``alignment or 1``);
- ``tensor_layout`` (.ptd only; .pte files ignore it, as ExecuTorch does)
  is None or has ``scalar_type``, an integer in the range of the schema's
  ``ScalarType : byte`` (-128..127; one the enum does not name is written as
  its number, as flatc writes it), ``sizes``, a sequence of 32-bit integers,
  and ``dim_order``, a sequence of integers 0..255 or a bytes-like object.
  A bool, a float or a ``Decimal`` is refused there even when it equals an
  integer: ExecuTorch writes a .ptd through JSON and flatc, which refuses
  ``true`` and ``6.0`` for an integer.

:func:`checked_entries` is the one place these rules are applied. It takes
the common entry (plain ints, a layout with lists of sizes and dim_order)
in a few steps and leaves the items of those lists, bools apart, to the
codec, whose packing refuses a value out of range or not an integer; a
caller whose codec fails checks the entries again with ``quick=False`` to
name the place. Bools (which the packing would take as 0 and 1) it looks
for in the lists of all the entries it took at once, in one pass, before
the first entry it does not take and at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from .segments import MAX_SEGMENT_ALIGNMENT, check_alignment
from ...engine.check import check_object, check_scalar, integer, missing, unreadable
from ...engine.errors import EncodeError, bad_value, key_text

if TYPE_CHECKING:  # imported where used (see _layout)
    from ...schemas.flat_tensor import model as ft

__all__ = ["check_buffers", "count_buffers", "buffer_at", "Entries", "checked_entries", "check_entry"]

_ENTRY = ("buffer_index", "alignment", "tensor_layout")
_LAYOUT = ("scalar_type", "sizes", "dim_order")
# The storage type of ScalarType (byte).
_SCALAR_LOW, _SCALAR_HIGH = -128, 128


def check_buffers(where: str, buffers: Any) -> Sequence[Any]:
    """The buffers the entries index: a list, a tuple or any other sequence
    (not text or bytes, which are one blob)."""
    if isinstance(buffers, (str, bytes, bytearray, memoryview)) or not isinstance(buffers, Sequence):
        raise bad_value(where, buffers, "a list of buffers")
    checked: Sequence[Any] = buffers
    return checked


def count_buffers(where: str, buffers: Sequence[Any]) -> int:
    """``len(buffers)``; a sequence of the caller's whose ``__len__`` raises
    is an :class:`EncodeError` at ``where``."""
    try:
        return len(buffers)
    except Exception as exc:
        raise unreadable(where, exc) from None


def buffer_at(where: str, buffers: Sequence[Any], index: int) -> Any:
    """``buffers[index]``; a sequence of the caller's that fails to give it
    (weights loaded lazily from a file that is gone, say) is an
    :class:`EncodeError` at ``where[index]``."""
    try:
        return buffers[index]
    except Exception as exc:
        raise unreadable(f"{where}[{index}]", exc) from None


def _attribute(obj: Any, name: str, where: str, table: str, names: Tuple[str, ...]) -> Any:
    """``obj.name``, or an :class:`EncodeError` naming the place."""
    try:
        return getattr(obj, name)
    except AttributeError:
        raise missing(where, obj, name, table, names) from None
    except Exception as exc:  # a property that raises: its error, with the place
        raise unreadable(f"{where}.{name}", exc) from None


def _integer(where: str, value: Any, fmt: str) -> int:
    """An integer of ``fmt``'s range (not a bool, a float or a Decimal) as an int."""
    if isinstance(value, bool):
        raise bad_value(where, value, "an integer")
    check_scalar(where, value, fmt)
    return int(integer(value))


def _integers(where: str, value: Any, fmt: str) -> List[int]:
    """A sequence of integers (bytes too) as a list of ints in ``fmt``'s range."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise bad_value(where, value, "a list of integers")
    try:
        return [_integer(f"{where}[{i}]", item, fmt) for i, item in enumerate(value)]
    except EncodeError:
        raise
    except Exception as exc:  # the caller's sequence failed to give its items
        raise unreadable(where, exc) from None


def _layout(where: str, layout: Any) -> Optional[ft.TensorLayout]:
    if layout is None:
        return None
    check_object(where, layout, "TensorLayout")
    scalar_type, sizes, dim_order = (_attribute(layout, name, where, "TensorLayout", _LAYOUT)
                                     for name in _LAYOUT)
    number = _integer(f"{where}.scalar_type", scalar_type, "b")
    # Imported here: .pte files never get this far (they have no layouts),
    # and a process that writes only programs does not load the flat
    # tensor schema at all.
    from ...schemas.flat_tensor import model as ft
    try:
        member: Any = ft.ScalarType(number)
    except ValueError:  # a number the enum does not name: written as it is, as flatc does
        member = number
    return ft.TensorLayout(scalar_type=member,
                           sizes=_integers(f"{where}.sizes", sizes, "i"),
                           dim_order=bytes(_integers(f"{where}.dim_order", dim_order, "B")))


def check_entry(where: str, key: Any, entry: Any, count: int, buffers: str,
                layouts: bool) -> Tuple[str, int, int, Optional[ft.TensorLayout]]:
    """One entry of the mapping at ``where``, checked value by value: its key,
    buffer index, alignment and (if ``layouts``) layout as the FlatBuffer's
    table; :class:`EncodeError` naming the first bad value. ``buffers`` names
    the ``count`` buffers in messages."""
    place = f"{where}[{key_text(key)}]"
    if not isinstance(key, str):
        raise bad_value(place, key, "a str key")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_value(place, key, "a key encodable as UTF-8") from None
    check_object(place, entry, "DataEntry")
    names = _ENTRY if layouts else _ENTRY[:2]
    index = _attribute(entry, "buffer_index", place, "DataEntry", names)
    number = None if isinstance(index, bool) else integer(index, f"{place}.buffer_index")
    if number is None or not 0 <= number < count:
        raise bad_value(f"{place}.buffer_index", index, f"an index into the {count} {buffers}")
    alignment = check_alignment(f"{place}.alignment",
                                _attribute(entry, "alignment", place, "DataEntry", names),
                                MAX_SEGMENT_ALIGNMENT)
    layout = None
    if layouts:
        try:
            given = getattr(entry, "tensor_layout", None)  # an entry may have none: not a tensor
        except Exception as exc:
            raise unreadable(f"{place}.tensor_layout", exc) from None
        layout = _layout(f"{place}.tensor_layout", given)
    return key, int(number), 1 if alignment is None else alignment, layout


# The checked entries of a mapping, by columns: keys, buffer indices,
# alignments and layouts (see checked_entries).
Entries = Tuple[List[str], List[int], List[int], List[Any]]


def checked_entries(named: Any, count: int, *, where: str, buffers: str, layouts: bool,
                    quick: bool = True) -> Entries:
    """The entries of the mapping ``named`` (at ``where``), in its order, as
    columns: their keys, buffer indices (into ``count`` buffers, called
    ``buffers`` in messages), alignments and, if ``layouts``, layouts (the
    caller's own object when it is common, else the FlatBuffer's table;
    None without one); :class:`EncodeError` naming the first bad value.
    ``quick=False`` checks every entry value by value, ranges included.

    Columns, not an entry at a time: a .ptd may have many thousands of
    entries, and its caller goes through them column by column."""
    if not isinstance(named, Mapping):
        raise bad_value(where, named, "a mapping of str keys to DataEntry objects")
    keys: List[str] = []
    indices: List[int] = []
    alignments: List[int] = []
    found_layouts: List[Any] = []
    # Locals: this loop runs once per key, and there may be many thousands.
    limit = MAX_SEGMENT_ALIGNMENT
    add_key, add_index, add_alignment, add_layout = (keys.append, indices.append, alignments.append,
                                                     found_layouts.append)
    # The lists of sizes and dim_order of the common entries: their items are
    # looked at for bools all together (one pass in C), before any entry
    # that is not common and at the end.
    lists: List[Any] = []
    try:
        for key, entry in named.items():
            if quick:
                # The common entry, checked in a few steps; anything else (or
                # anything wrong) is checked value by value below, which names it.
                try:
                    index, alignment = entry.buffer_index, entry.alignment
                    common = key.__class__ is str and key.isascii() and index.__class__ is int \
                        and 0 <= index < count and alignment.__class__ is int \
                        and 0 < alignment <= limit and not alignment & (alignment - 1)
                    layout = None
                    if common and layouts:
                        layout = entry.tensor_layout
                        if layout is not None:
                            scalar_type, sizes = layout.scalar_type, layout.sizes
                            dim_order = layout.dim_order
                            # Of the items of sizes and dim_order, only bools need refusing
                            # here: the codec packs the items, which refuses every other
                            # non-integer (and any out of range) with struct's own checks.
                            common = scalar_type.__class__ is not bool and isinstance(scalar_type, int) \
                                and _SCALAR_LOW <= scalar_type < _SCALAR_HIGH \
                                and sizes.__class__ is list \
                                and (dim_order.__class__ is bytes or dim_order.__class__ is list)
                            if common:
                                lists += (sizes, dim_order)
                except Exception:  # not an entry or a layout, or a hostile one: checked below
                    common = False
                if common:
                    add_key(key)
                    add_index(index)
                    add_alignment(alignment)
                    add_layout(layout)
                    continue
                if lists:
                    if _has_bools(lists):
                        break
                    lists.clear()
            key, index, alignment, layout = check_entry(where, key, entry, count, buffers, layouts)
            add_key(key)
            add_index(index)
            add_alignment(alignment)
            add_layout(layout)
        else:
            if not lists or not _has_bools(lists):
                return keys, indices, alignments, found_layouts
    except EncodeError:
        raise
    except Exception as exc:  # the caller's mapping failed to give its items
        raise unreadable(where, exc) from None
    # An entry taken as common has a bool in its sizes or dim_order: the full
    # check names the first bad entry.
    checked_entries(named, count, where=where, buffers=buffers, layouts=layouts, quick=False)
    # (Found none: the caller's objects changed between the two passes.)
    raise EncodeError(f"{where}: a layout's sizes or dim_order holds a bool (expected integers), "
                      f"or changed while it was read", path=where)


def _has_bools(lists: List[Any]) -> bool:
    """Whether any of the lists (and bytes objects, which hold none) has a bool."""
    return bool in map(type, chain.from_iterable(lists))
