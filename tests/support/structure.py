"""Structure rules import-linter cannot express, checked by `make lint`.

- No Python module over MAX_LINES lines in layers/, functions/ and local/: a newcomer reads a module in
  one sitting, and a big module is where unrelated rules pile up. Modules still waiting for their split
  are listed in OVER_LIMIT; the change that splits one deletes its line (a listed module that fits, or is
  gone, fails the check too, so the list only shrinks).
- A Lambda handler (functions/*/*.py) reaches the layer through feature and kernel entry points: it
  never imports the store (pynamodb models belong to use cases) nor a private name (``_x``) of the layer.
  Handlers are top-level modules, not packages, so import-linter cannot build their graph.

Prints each offender and exits 1 if there is any.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED_DIRS = ("layers", "functions", "local")
MAX_LINES = 500

# Over the limit until their split lands (issue 11); each split deletes its own line only. The "# --"
# lines between entries keep two such deletions out of one hunk, so they merge without a conflict.
OVER_LIMIT: set[str] = set()

HANDLERS_MAY_NOT_IMPORT = ("inbox_crm.store",)


def _modules(root: Path) -> Iterator[Path]:
    for top in CHECKED_DIRS:
        for path in sorted((root / top).rglob("*.py")):
            if ".venv" not in path.parts and "__pycache__" not in path.parts:
                yield path


def size_offences(root: Path = ROOT, over_limit: set[str] = OVER_LIMIT) -> list[str]:
    offences = []
    sizes = {path.relative_to(root).as_posix(): len(path.read_text().splitlines()) for path in _modules(root)}
    for name, lines in sizes.items():
        if lines > MAX_LINES and name not in over_limit:
            offences.append(f"{name}: {lines} lines (the limit is {MAX_LINES}): split it by responsibility")
    for name in sorted(over_limit):
        if sizes.get(name, 0) <= MAX_LINES:
            offences.append(f"{name}: listed in OVER_LIMIT but fits or is gone: delete its line")
    return offences


def _imports(tree: ast.AST) -> Iterator[tuple[int, str, list[str]]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [alias.name for alias in node.names]


def handler_offences(root: Path = ROOT) -> list[str]:
    offences = []
    for path in sorted((root / "functions").glob("*/*.py")):
        name = path.relative_to(root).as_posix()
        for line, module, names in _imports(ast.parse(path.read_text(), filename=name)):
            if not module.startswith("inbox_crm"):
                continue
            if any(module == banned or module.startswith(banned + ".") for banned in HANDLERS_MAY_NOT_IMPORT):
                offences.append(f"{name}:{line}: imports {module}: call a use case of a feature package")
            private = [item for item in names if item.startswith("_")]
            if private or any(part.startswith("_") for part in module.split(".")):
                offences.append(f"{name}:{line}: imports a private name from {module}: {private or module}")
    return offences


def main() -> int:
    offences = size_offences() + handler_offences()
    for offence in offences:
        print(offence)
    return 1 if offences else 0


if __name__ == "__main__":
    sys.exit(main())
