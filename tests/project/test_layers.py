"""The package's layers, as the README's "How it works" tells them: every
import runs downward, no format reaches into another, and no module uses
another's private names."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from helpers import ROOT

PACKAGE = ROOT / "pte_encoder"

# Bottom to top; a module may import from its own layer or those below. The
# public face ("": __init__, errors, types) sits above the library's layers
# and below its clients: the command line, and __main__ which runs it.
LAYERS = ("engine", "schemas", "formats", "views", "", "cli", "__main__")
# The top level's modules other than the package's __init__ (the public face).
PUBLIC = {"errors.py", "types.py", "__init__.py", "__main__.py",  # and the schemas' public namespaces:
          "bundled.py", "xnnpack.py", "etdump.py"}  # (their models' names clash with the program's)


def modules() -> List[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def dotted(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[Tuple[str, List[str], int]]:
    """(absolute module, names, line) of each ``from X import names`` in ``path``."""
    package = dotted(path) if path.name == "__init__.py" else dotted(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module, [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else ""


def test_the_layers_are_the_folders_and_main() -> None:
    assert layer("pte_encoder.__main__") == "__main__" and layer("pte_encoder.errors") == ""


def test_the_top_level_holds_only_the_public_face() -> None:
    top = {p.name for p in PACKAGE.glob("*.py")}
    assert top <= PUBLIC, top - PUBLIC
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(LAYERS) - {"", "__main__"}


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_imports_run_downward(path: Path) -> None:
    here = layer(dotted(path))
    for module, names, line in imports(path):
        if not module.startswith("pte_encoder"):
            continue
        there = layer(module)
        if module == "pte_encoder" and names:  # from . import x: the submodules named
            there = max((layer(f"pte_encoder.{n}") for n in names), key=LAYERS.index)
        assert LAYERS.index(there) <= LAYERS.index(here), \
            f"{path.relative_to(ROOT)}:{line} imports {module} ({there or 'the top'} is above {here})"


@pytest.mark.parametrize("path", [p for p in modules() if "formats" in p.parts],
                         ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_a_format_imports_no_other_format(path: Path) -> None:
    mine = path.relative_to(PACKAGE / "formats").parts[0]
    for module, _names, line in imports(path):
        parts = module.split(".")
        if parts[:2] == ["pte_encoder", "formats"] and len(parts) > 2:
            assert parts[2] in (mine, "common"), f"{path.relative_to(ROOT)}:{line} imports {module}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_module_imports_another_modules_private_names(path: Path) -> None:
    for module, names, line in imports(path):
        if module.startswith("pte_encoder"):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            assert not private, f"{path.relative_to(ROOT)}:{line} imports {private} from {module}"
