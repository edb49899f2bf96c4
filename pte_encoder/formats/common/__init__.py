"""What the file formats share: placing segments after a FlatBuffer
(``segments``), the named data they carry (``payload``, checked by
``entries``), blobs kept in files (``blobs``), writing a file as
``open(path, "wb")`` would but atomically (``output``), and mapping a file
to read it (``mapped``)."""
