"""Path safety: the viewer opens files only inside the run folder and the data roots it was given.

Paths come from run files and query parameters, which anyone can edit, so every one is resolved
(following symlinks) and must land inside an allowed root; `../`, absolute paths elsewhere and
symlinks that point out of the roots are refused with a clear reason.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from retinavlm.errors import RetinaVLMError


class UnsafePathError(RetinaVLMError):
    """A path from a run file or a request points outside the allowed roots."""


class AllowedRoots:
    """The folders the viewer may read: the run folder first, then the data roots, in order."""

    def __init__(self, roots: Sequence[str | os.PathLike]):
        if not roots:
            raise ValueError("at least one allowed root is needed")
        self.roots = tuple(Path(root).resolve() for root in roots)

    def contains(self, path: Path) -> bool:
        return self._inside(path.resolve())

    def _inside(self, resolved: Path) -> bool:
        return any(resolved.is_relative_to(root) for root in self.roots)

    def resolve(self, name: str | os.PathLike, must_exist: bool = True) -> Path:
        """The file `name` (relative to one of the roots, first match wins) as a resolved path inside the roots."""
        text = os.fspath(name)
        if not text or "\x00" in text:
            raise UnsafePathError(f"{text!r}: empty or invalid path")
        candidates = [Path(text)] if Path(text).is_absolute() else [root / text for root in self.roots]
        resolved = [c.resolve() for c in candidates]
        inside = [r for r in resolved if self._inside(r)]
        if not inside or any(r.exists() and not self._inside(r) for r in resolved):
            raise UnsafePathError(f"{text}: outside the run folder and data roots; refused")
        if not must_exist:
            return inside[0]
        for path in inside:
            if path.exists():
                return path
        raise FileNotFoundError(f"{text}: no such file in the run folder or data roots")
