"""What the tools show of a decoded file: summaries for ``inspect``
(``summary``). Views read the formats' results; they write no file."""
