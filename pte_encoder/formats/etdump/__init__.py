"""ETDump files (.etdp), the runtime's traces: reading them and the tensors of
their debug buffers (``read``), and ExecuTorch's JSON form of them (``json``)."""
