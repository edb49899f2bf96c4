"""The file formats built on the schemas: one package per kind of file, its
header, its writer and its reader side by side (``pte``: programs;
``ptd``: external data; ``etdump``: the runtime's traces, read only), and ``common``, what they share (segments, named
data, blobs kept in files, writing and mapping files).

Each format's modules import the schemas they use and the engine, never
another format's private names, and nothing above them (views, cli).
"""
