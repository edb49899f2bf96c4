"""ExecuTorch program files (.pte): the program's FlatBuffer (``flatbuffer``),
the extended header (``header``), writing (``write``) and reading (``read``)
whole files, the options that write a file back (``options``) and the JSON
forms (``json``)."""
