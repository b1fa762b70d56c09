"""Fixtures for the scan I/O, quality gate and augmentation tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from scan_testing import kermany_dir


@pytest.fixture
def kermany() -> Path:
    return kermany_dir()
