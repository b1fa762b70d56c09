"""Clear outputs, execution counts and run metadata from notebooks, so they are committed as source.

python scripts/strip_notebook_outputs.py                 # every notebooks/*.ipynb
python scripts/strip_notebook_outputs.py --check A.ipynb  # exit 1 when any would change (CI, hooks)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from retinavlm.atomic import write_text
from retinavlm.resources import project_root

RUN_METADATA = ("execution", "collapsed", "scrolled")


def strip(notebook: nbformat.NotebookNode) -> bool:
    """Clear one notebook in place; True when anything was removed."""
    changed = False
    for cell in notebook.cells:
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            cell.outputs, cell.execution_count = [], None
            changed = True
        for key in RUN_METADATA:
            changed |= cell.metadata.pop(key, None) is not None
    changed |= notebook.metadata.pop("widgets", None) is not None
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: notebooks/*.ipynb)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if any notebook has outputs")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((project_root() / "notebooks").glob("*.ipynb"))
    dirty = []
    for path in paths:
        try:
            notebook = nbformat.read(path, as_version=4)
        except (OSError, ValueError) as exc:
            print(f"{path}: cannot read as a notebook ({exc})", file=sys.stderr)
            return 2
        if strip(notebook):
            dirty.append(path)
            if not args.check:
                write_text(path, nbformat.writes(notebook) + "\n")
    for path in dirty:
        print(f"{path}: {'has outputs' if args.check else 'outputs cleared'}")
    return 1 if args.check and dirty else 0


if __name__ == "__main__":
    sys.exit(main())
