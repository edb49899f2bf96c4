"""XNNPACK delegate blobs (the data ExecuTorch's XNNPACK backend hands its
runtime): the ``XH00`` header (``header``), writing (``write``) and reading
(``read``) whole blobs, and the graph's JSON form (``json``)."""
