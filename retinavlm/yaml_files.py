"""Reading the YAML files people edit (knowledge, curricula, templates) with one-line errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml


def read_yaml_mapping(path: str | os.PathLike, error: type[Exception], what: str = "file",
                      expected: str = "a mapping at the top level") -> dict[str, Any]:
    """The YAML document at `path`, which must be a mapping; otherwise `error` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: {what} not found")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    if not isinstance(doc, dict):
        raise error(f"{path}: expected {expected}")
    return doc
