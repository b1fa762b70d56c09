"""Where the project's data files (curricula/, eval/) live.

The clinical knowledge, curricula and rubrics are data that clinicians edit, so they sit at the
top of the repository rather than inside the package. `RETINAVLM_HOME` points elsewhere when the
package is installed without the repository.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    env = os.environ.get("RETINAVLM_HOME")
    root = Path(env) if env else Path(__file__).resolve().parent.parent
    if not (root / "curricula").is_dir():
        raise FileNotFoundError(
            f"RetinaVLM data folder not found: {root / 'curricula'} does not exist; "
            "install the repository in editable mode or set RETINAVLM_HOME to its root"
        )
    return root


def curricula_dir() -> Path:
    return project_root() / "curricula"


def eval_dir() -> Path:
    return project_root() / "eval"


def default_knowledge_dir() -> Path:
    return curricula_dir() / "knowledge"


def shared_data_dir() -> Path | None:
    """The real OCT sample beside the checkout (../shared/data), or None when absent."""
    env = os.environ.get("RETINAVLM_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parent.parent.parent / "shared" / "data")
    for path in candidates:
        if path.is_dir():
            return path
    return None
