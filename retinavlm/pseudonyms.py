"""Pseudonyms for names that may identify a patient (scan file names such as `CNV-1016042-1`, patient
numbers), so that outputs never carry them unless asked.

A pseudonym is a prefix and a number. The numbers follow the order of the names' SHA-256 digests, not
the names' own order, so they keep neither the names' sort order (which would reveal e.g. the class
folder a scan came from) nor anything else of them; the same set of names always gives the same
pseudonyms, so steps that run in different processes agree without sharing a table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def pseudonyms(names: Iterable[str], prefix: str) -> dict[str, str]:
    """name -> f"{prefix}-{number}" for each distinct name, numbered from 1 with a fixed width."""
    ranked = sorted(set(names), key=lambda name: hashlib.sha256(name.encode("utf-8")).hexdigest())
    width = len(str(len(ranked)))
    return {name: f"{prefix}-{number:0{width}d}" for number, name in enumerate(ranked, 1)}
