"""ExecuTorch bundled programs (.bpte): writing (``write``) and reading
(``read``) whole files, and ExecuTorch's dataclass JSON form of them
(``json``). A bundled program is a plain FlatBuffer (identifier ``BP08``):
no header, no segments."""
