"""The FlatBuffer engine: writes any schema's buffers byte for byte as flatc
does, or as the flatbuffers Python runtime's object API does (two layouts).

It knows nothing of the files built on it. A schema is described by records
(schema.py), generated from its .fbs by tools/gen_schema.py together with
its table encoders and model classes; a :class:`~.codec.Codec` joins them
and owns every cache, one set per layout (a :class:`~.codec.CodecLayout`);
the encoders write through a :class:`~.writer.Writer` (writer.py; values.py
converts field values), whole subtrees of small tables with one struct each
(plans.py). layout.py holds what differs between the two layouts, a
:class:`~.layout.LayoutPolicy`. check.py names the first bad value when
encoding fails; json.py writes any table as the JSON flatc reads.
"""

from .codec import MAX_FLATBUFFER_SIZE, Codec, CodecLayout
from .layout import FLATBUFFERS, FLATC, POLICIES, LayoutPolicy
from .schema import Enum, Field, Schema
from .writer import Writer

__all__ = ["Codec", "CodecLayout", "Enum", "FLATBUFFERS", "FLATC", "Field", "LayoutPolicy",
           "MAX_FLATBUFFER_SIZE", "POLICIES", "Schema", "Writer"]
