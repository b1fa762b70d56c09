"""Where the project's data folders (curricula/, eval/, ui/) live.

The clinical knowledge, curricula, rubrics and the viewer app are data that clinicians edit, so the
repository keeps them at its top rather than inside the package. A built wheel carries a copy of them
as `retinavlm/_data/` (the build step in setup.py), read first; a source checkout or an editable
install reads the repository's folders in place. `RETINAVLM_HOME` names another folder holding them.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
INSTALLED_DATA = PACKAGE_DIR / "_data"  # setup.py's DATA_FOLDERS are copied here in a wheel
CHECKOUT = PACKAGE_DIR.parent  # the repository root, when the package runs from a source checkout


def project_root() -> Path:
    """The folder holding curricula/, eval/ and ui/: RETINAVLM_HOME, the installed copy, or the checkout."""
    env = os.environ.get("RETINAVLM_HOME")
    candidates = [Path(env)] if env else [INSTALLED_DATA, CHECKOUT]
    for root in candidates:
        if (root / "curricula").is_dir():
            return root
    raise FileNotFoundError(
        "RetinaVLM data folder not found: no curricula/ in "
        + " or ".join(str(root) for root in candidates)
        + "; reinstall the package, or set RETINAVLM_HOME to a folder holding curricula/, eval/ and ui/"
    )


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
    candidates.append(CHECKOUT.parent / "shared" / "data")
    for path in candidates:
        if path.is_dir():
            return path
    return None
