"""The FlatBuffer engine: writes any schema's buffers byte for byte as flatc
does, or as the flatbuffers Python runtime's object API does (two layouts).

It knows nothing of the files built on it. A schema is described by records
(schema.py), generated from its .fbs by tools/gen_schema.py together with
its table encoders and model classes; a :class:`~.codec.Codec` joins them
and owns every cache, one set per layout (a :class:`~.codec.LayoutEncoders`);
the encoders write through a :class:`~.writer.Writer` (writer.py; values.py
converts field values), whole subtrees of small tables with one struct each
(templates.py). layout.py holds what differs between the two layouts, a
:class:`~.layout.LayoutPolicy`. check.py names the first bad value when
encoding fails; flatc_json.py writes any table as the JSON flatc reads, and reads it back; reader.py
reads any FlatBuffer of a schema back, checking every byte it uses;
errors.py holds the two errors, :class:`~.errors.EncodeError` and
:class:`~.errors.DecodeError`, and how their messages are built.

Nothing is imported here: import the module you need (``engine.codec``,
``engine.reader``, ...), so that a process loads only what it uses.
"""
