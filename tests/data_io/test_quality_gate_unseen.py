"""The quality gate on real scans its thresholds never saw: the unseen split of the Kermany sample.

The split rule lives in benchmarks/quality_gate.py (patient_group even: tuning, odd: unseen); these
tests use only the unseen split, so passing them is evidence that the thresholds carry over.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scan_testing import kermany_dir

from retinavlm.data.io import read_scan
from retinavlm.data.quality import QualityReport, assess_quality
from retinavlm.data.scan import Scan

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "quality_gate.py"


def _benchmark():
    spec = importlib.util.spec_from_file_location("quality_gate_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=1)
def _unseen() -> tuple[tuple[str, np.ndarray], ...]:
    """Every fourth scan of the unseen split (about 47 scans), read once."""
    paths = _benchmark().kermany_split(kermany_dir())["unseen"][::4]
    return tuple((path.name, read_scan(path).pixels) for path in paths)


def _assess(pixels: np.ndarray, name: str = "scan") -> QualityReport:
    return assess_quality(Scan(np.ascontiguousarray(pixels, dtype=np.float32), source=name, bit_depth=8))


def _eight_bit(pixels: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(pixels, 0, 1) * 255) / 255).astype(np.float32)


def test_the_split_keeps_each_person_in_one_split(kermany: Path) -> None:
    import csv

    bench = _benchmark()
    with open(kermany / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    split_of_person: dict[str, set[str]] = {}
    for row in rows:
        split_of_person.setdefault(row["patient_group"], set()).add(bench.split_of(row["patient_group"]))
    assert all(len(splits) == 1 for splits in split_of_person.values())
    splits = bench.kermany_split(kermany)
    assert len(splits["tuning"]) + len(splits["unseen"]) == len(rows)
    assert not set(splits["tuning"]) & set(splits["unseen"]) and len(splits["unseen"]) > 150


def test_unseen_real_scans_are_accepted_without_flags(kermany: Path) -> None:
    reports = {name: _assess(pixels, name) for name, pixels in _unseen()}
    assert len(reports) >= 40
    assert {name: r.reason for name, r in reports.items() if not r.ok} == {}
    assert {name: r.flags for name, r in reports.items() if r.flags} == {}


def test_unseen_upside_down_scans_are_refused_as_upside_down(kermany: Path) -> None:
    """The benchmark measures about 96 % on the whole unseen split; a few upright scans give weak cues."""
    reports = [_assess(pixels[::-1], name) for name, pixels in _unseen()]
    refused = [r for r in reports if not r.ok]
    assert len(refused) >= 0.9 * len(reports), f"{len(refused)} of {len(reports)} flipped scans refused"
    assert all(r.level == "refused" and r.reason.startswith("upside down") for r in refused)


@pytest.mark.parametrize(
    ("degradation", "reason"),
    [("noise_sigma_0.4", "too noisy to read"), ("dark_gain_0.02", "too dark to read")],
)
def test_unreadable_unseen_scans_are_low_quality(kermany: Path, degradation: str, reason: str) -> None:
    bench = _benchmark()
    _, _, degrade = bench.low_quality_degradations()[degradation]
    rng = np.random.default_rng(0)
    for name, pixels in _unseen()[::3]:
        report = _assess(bench.degrade_tissue(pixels, degrade, rng), name)
        assert (report.level, report.ok) == ("low_quality", False), (name, report.level, report.reason)
        assert report.reason.startswith(reason)


@pytest.mark.parametrize(("degradation", "flag"), [("noise_sigma_0.1", "noisy"), ("dark_gain_0.1", "low_signal")])
def test_readable_degraded_unseen_scans_are_accepted_with_a_flag(kermany: Path, degradation: str, flag: str) -> None:
    bench = _benchmark()
    _, _, degrade = bench.low_quality_degradations()[degradation]
    rng = np.random.default_rng(1)
    for name, pixels in _unseen()[::3]:
        report = _assess(bench.degrade_tissue(pixels, degrade, rng), name)
        assert report.ok, (name, report.reason)
        assert flag in report.flags, (name, report.flags)


FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(index=st.integers(0, 10_000), left=st.floats(0, 0.25), right=st.floats(0.75, 1), gain=st.floats(0.5, 1))
def test_a_left_right_flip_keeps_an_accepted_scan_accepted(kermany, index, left, right, gain) -> None:
    """Left-right is laterality (OD/OS), never a reason to refuse; any horizontal crop and gain of a real scan."""
    name, pixels = _unseen()[index % len(_unseen())]
    width = pixels.shape[1]
    scan = _eight_bit(pixels[:, int(left * width) : int(right * width)] * gain)
    report = _assess(scan, name)
    assert report.ok, (name, report.reason)
    mirrored = _assess(scan[:, ::-1], name)
    assert mirrored.ok, (name, mirrored.reason)


@FAST
@given(index=st.integers(0, 10_000), left=st.floats(0, 0.25), right=st.floats(0.75, 1))
def test_a_vertical_flip_of_a_clearly_upright_real_scan_is_refused(kermany, index, left, right) -> None:
    """A scan whose four orientation cues all say upright is refused once flipped upside down."""
    name, pixels = _unseen()[index % len(_unseen())]
    width = pixels.shape[1]
    scan = pixels[:, int(left * width) : int(right * width)]
    report = _assess(scan, name)
    assert report.ok, (name, report.reason)
    if report.figures["upright_votes"] == 4:
        flipped = _assess(scan[::-1], name)
        assert flipped.level == "refused" and flipped.reason.startswith("upside down"), (name, flipped.reason)
