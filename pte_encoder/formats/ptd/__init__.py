"""ExecuTorch external data files (.ptd): the ``FH01`` header (``header``),
writing (``write``) and reading (``read``) whole files, and the payload's
JSON form (``json``)."""
