"""Reading the YAML files people edit (knowledge, curricula, templates, rubrics) with one-line errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml


def read_yaml_file(
    path: str | os.PathLike, error: type[Exception], what: str = "file", expected: str = "a mapping at the top level"
) -> tuple[dict[str, Any], bytes]:
    """The mapping at `path` and the file's bytes (for fingerprints); otherwise `error` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: {what} not found")
    raw = path.read_bytes()
    try:
        doc = yaml.safe_load(raw.decode("utf-8"))
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    if not isinstance(doc, dict):
        raise error(f"{path}: expected {expected}")
    return doc, raw


def read_yaml_mapping(
    path: str | os.PathLike, error: type[Exception], what: str = "file", expected: str = "a mapping at the top level"
) -> dict[str, Any]:
    return read_yaml_file(path, error, what, expected)[0]
