"""Optional dependencies, each imported through `require`, which names the pip extra that installs it.

A base install (`pip install retinavlm`) runs every command on the formats most clinics export
(DICOM, TIFF, PNG/JPEG), including the main job `retinavlm demo`. The viewer (streamlit) and the
vendor volume readers (eyepy, oct-converter) are extras: a command that reaches one without it stops
with one line naming the extra, never a traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from retinavlm.errors import RetinaVLMError

# Top-level import name -> the extra of pyproject.toml that installs it.
EXTRA_OF: dict[str, str] = {"streamlit": "ui", "eyepy": "vendor", "oct_converter": "vendor"}


class MissingExtraError(RetinaVLMError):
    """An optional dependency is not installed; `str()` names what needs it and the pip command."""

    def __init__(self, purpose: str, module: str, extra: str):
        self.extra = extra
        super().__init__(
            f"{purpose} needs the '{extra}' extra ({module} is not installed): pip install 'retinavlm[{extra}]'"
        )


def require(module: str, purpose: str) -> ModuleType:
    """`module` imported, or MissingExtraError naming the extra that installs it; `purpose` says what needs it."""
    top = module.partition(".")[0]
    extra = EXTRA_OF[top]  # an unregistered module is a bug here, whether or not it is installed
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(purpose, top, extra) from None
