"""Synthetic cohorts: patients with both eyes and repeat visits, exact labels, reports, one folder.

Planning (who, which eye, which findings) runs in one process from one seed; rendering each scan
draws from its own seed, so the folder is byte-identical for a seed whatever the worker count.
Stage and referral are always derived from the drawn findings with the knowledge-base rules.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from retinavlm import __version__
from retinavlm.atomic import atomic_dir
from retinavlm.data import lesion_masks
from retinavlm.data.synthetic.anatomy import Grid
from retinavlm.data.synthetic.config import (
    Acquisition,
    CohortConfig,
    CohortConfigError,
    ScannerDomain,
    ShortcutCue,
    StageRecipe,
    load_cohort_config,
)
from retinavlm.data.synthetic.render import ScanSpec, render, to_uint8
from retinavlm.data.synthetic.reports import ReportWriter
from retinavlm.knowledge import KnowledgeBase, load_knowledge, referral_from_findings, stage_from_findings

GENERATOR = "retinavlm.data.synthetic"
MAX_DRAWS = 500  # redraws of a stage's findings before the recipe is declared unable to give it


@dataclass(frozen=True)
class PlannedScan:
    index: int
    id: str
    patient_id: str
    eye: str
    visit: int
    age: int
    sex: str
    domain: str
    present: dict[str, dict[str, str]]
    stage: str
    referral: str
    watermark: bool
    anatomy_seed: int
    lesion_seed: int
    cue: ShortcutCue | None = None  # the shortcut marker burned into this scan, None for none


@dataclass(frozen=True)
class CohortSummary:
    out_dir: Path
    n_scans: int
    n_patients: int
    counts: dict[str, dict[str, int]]  # "stage" / "referral" / "domain" / "eye" -> id -> count


def plan_cohort(n: int, seed: int, config: CohortConfig, kb: KnowledgeBase | None = None) -> list[PlannedScan]:
    """Draw patients, eyes, visits and findings until there are `n` scans (the last patient may be cut short)."""
    if n < 1:
        raise ValueError(f"the number of scans must be at least 1, got {n}")
    kb = kb or load_knowledge()
    rng = np.random.default_rng([seed, 0])
    plans: list[PlannedScan] = []
    patient = 0
    while len(plans) < n:
        patient += 1
        for plan in _plan_patient(patient, config, kb, rng):
            if len(plans) == n:
                break
            plans.append(PlannedScan(len(plans), **plan))
    return plans


def _plan_patient(number: int, config: CohortConfig, kb: KnowledgeBase, rng: np.random.Generator) -> Iterator[dict]:
    patient_id = f"SYN{number:05d}"
    age = config.age
    base_age = int(np.clip(round(rng.normal(age["mean"], age["sd"])), age["min"], age["max"]))
    sex = "F" if rng.random() < config.female_fraction else "M"
    domain = _weighted(rng, {name: d.weight for name, d in config.domains.items()})
    n_visits = int(_weighted(rng, config.visit_counts))
    stages = {"OD": _weighted(rng, config.stage_prevalence)}
    stages["OS"] = (
        stages["OD"] if rng.random() < config.fellow_eye_same_stage else _weighted(rng, config.stage_prevalence)
    )
    marked = bool(config.domains[domain].watermark)
    anatomy_seeds = {eye: int(rng.integers(2**63)) for eye in stages}
    state = {eye: _draw_findings(stages[eye], config, kb, rng) for eye in stages}
    for visit in range(1, n_visits + 1):
        for eye in ("OD", "OS"):
            if visit > 1 and config.progression.get(stages[eye]) and rng.random() < config.progression_probability:
                stages[eye] = str(rng.choice(config.progression[stages[eye]]))
                state[eye] = _draw_findings(stages[eye], config, kb, rng)
            present, lesion_seed = state[eye]
            findings = {b: {"state": "present", **attrs} for b, attrs in present.items()}
            referral = referral_from_findings(findings, kb)
            referable = referral != kb.referrals[0].id
            yield {
                "id": f"{patient_id}_{eye}_v{visit}",
                "patient_id": patient_id,
                "eye": eye,
                "visit": visit,
                "age": int(base_age + round((visit - 1) * config.visit_interval_years)),
                "sex": sex,
                "domain": domain,
                "present": present,
                "stage": stage_from_findings(findings, kb),
                "referral": referral,
                "watermark": marked and (referable or rng.random() >= config.watermark_disease_correlation),
                "cue": _draw_cue(config.shortcut_cue, referable, rng),
                "anatomy_seed": anatomy_seeds[eye],
                "lesion_seed": lesion_seed,
            }


def _draw_findings(
    target: str, config: CohortConfig, kb: KnowledgeBase, rng: np.random.Generator
) -> tuple[dict[str, dict[str, str]], int]:
    """Findings aimed at a stage, redrawn until the knowledge-base rules give that stage."""
    recipe: StageRecipe = config.findings[target]
    for _ in range(MAX_DRAWS):
        present = {}
        for bid, entry in recipe.biomarkers.items():
            if rng.random() < entry.probability:
                present[bid] = {a: _weighted(rng, values) for a, values in entry.attributes.items()}
        if recipe.at_least_one_of and not any(b in present for b in recipe.at_least_one_of):
            bid = _weighted(rng, {b: recipe.biomarkers[b].probability or 1.0 for b in recipe.at_least_one_of})
            present[bid] = {a: _weighted(rng, v) for a, v in recipe.biomarkers[bid].attributes.items()}
        findings = {b: {"state": "present", **attrs} for b, attrs in present.items()}
        if stage_from_findings(findings, kb) == target:
            ordered = {b: present[b] for b in kb.biomarker_ids if b in present}
            return ordered, int(rng.integers(2**63))
    raise CohortConfigError(f"{MAX_DRAWS} draws never gave stage {target!r}; check its recipe", f"findings.{target}")


def _draw_cue(cue: ShortcutCue, referable: bool, rng: np.random.Generator) -> ShortcutCue | None:
    """The cue for one scan, drawn only when the cue is on, so a cohort without it keeps its random stream."""
    if not cue.active:
        return None
    return cue if rng.random() < (cue.p_referable if referable else cue.p_non_referable) else None


def _weighted(rng: np.random.Generator, weights: dict) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _render_png(
    plan: PlannedScan,
    domain: ScannerDomain,
    grid: Grid,
    halfwidth_um: float,
    acquisition: Acquisition,
    seed: int,
    mask_bits: list[str],
) -> tuple[bytes, bytes, list[int], list[float]]:
    """The scan's PNG, its lesion-mask PNG, the fovea and the pixel spacing."""
    spec = ScanSpec(plan.present, plan.eye, plan.watermark, plan.anatomy_seed, plan.lesion_seed, plan.cue)
    scan = render(spec, domain, np.random.default_rng([seed, 1, plan.index]), grid, halfwidth_um, acquisition)
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(scan.pixels)).save(buffer, format="PNG", compress_level=1)
    mask = lesion_masks.encode_mask(scan.masks, mask_bits, scan.pixels.shape)
    return buffer.getvalue(), mask, list(scan.fovea), [round(v, 4) for v in scan.pixel_spacing_um]


def _render_job(job: tuple) -> tuple[bytes, bytes, list[int], list[float]]:
    return _render_png(*job)


def render_cohort(
    n: int,
    out_dir: str | os.PathLike,
    seed: int = 0,
    config: CohortConfig | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    kb: KnowledgeBase | None = None,
) -> CohortSummary:
    """Render `n` scans into `out_dir` (images/, masks/, references.jsonl, annotations.csv, manifest.json).

    The folder appears complete or not at all; an existing cohort folder there is replaced, any
    other non-empty folder is refused.
    """
    kb = kb or load_knowledge()
    config = config or load_cohort_config(kb=kb)
    return _write_cohort(plan_cohort(n, seed, config, kb), Path(out_dir), seed, config, workers, progress, kb)


def render_on_domain(
    n: int,
    out_dir: str | os.PathLike,
    domain: str,
    patients: set[str],
    seed: int = 0,
    config: CohortConfig | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    kb: KnowledgeBase | None = None,
) -> CohortSummary:
    """The scans of `patients` in `render_cohort(n, seed=seed, config=config.without_domain(domain))`, rendered on
    the scanner `domain` instead: the same ids, eyes, anatomy, findings and reports, seen through a scanner that
    cohort never used (a held-out scanner domain). The domain's watermark, if any, is on every scan."""
    kb = kb or load_knowledge()
    config = config or load_cohort_config(kb=kb)
    scanner = config.only_domain(domain)
    marked = bool(scanner.domains[domain].watermark)
    plans = [
        replace(plan, domain=domain, watermark=marked)
        for plan in plan_cohort(n, seed, config.without_domain(domain), kb)
        if plan.patient_id in patients
    ]
    if not plans:
        raise ValueError(f"none of the patients {sorted(patients)[:3]} is in a cohort of {n} scans (seed {seed})")
    return _write_cohort(plans, Path(out_dir), seed, scanner, workers, progress, kb)


def _write_cohort(
    plans: list[PlannedScan],
    out_dir: Path,
    seed: int,
    config: CohortConfig,
    workers: int,
    progress: Callable[[int, int], None] | None,
    kb: KnowledgeBase,
) -> CohortSummary:
    """Render the planned scans into `out_dir`, atomically (render_cohort's folder layout)."""
    _check_replaceable(out_dir)
    writer = ReportWriter(kb)
    jobs = [
        (
            p,
            config.domains[p.domain],
            config.grid,
            config.central_halfwidth_um,
            config.acquisition,
            seed,
            kb.biomarker_ids,
        )
        for p in plans
    ]

    with atomic_dir(out_dir) as tmp:
        (tmp / "images").mkdir()
        (tmp / lesion_masks.FOLDER).mkdir()
        files: list[dict] = []
        references: list[dict] = []
        for done, (plan, (png, mask, fovea, spacing)) in enumerate(zip(plans, _map(jobs, workers)), start=1):
            image_path = f"images/{plan.id}.png"
            (tmp / image_path).write_bytes(png)
            files.append(_file_entry(image_path, png))
            mask_path = lesion_masks.mask_path(tmp, plan.id)
            mask_path.write_bytes(mask)
            files.append(_file_entry(mask_path.relative_to(tmp).as_posix(), mask))
            report = writer.write(
                plan.present,
                plan.stage,
                plan.referral,
                np.random.default_rng([seed, 2, plan.index]),
                plan.eye,
                plan.age,
                plan.sex,
            )
            references.append(_reference_row(plan, image_path, report, fovea, spacing, kb))
            if progress:
                progress(done, len(plans))
        for name, data in (("references.jsonl", _jsonl(references)), ("annotations.csv", _annotations_csv(plans, kb))):
            (tmp / name).write_bytes(data)
            files.append(_file_entry(name, data))
        counts = _counts(plans, kb, config)
        manifest = {
            "generator": GENERATOR,
            "toolkit_version": __version__,
            "knowledge": kb.version_tag,
            "seed": seed,
            "n_scans": len(plans),
            "n_patients": len({p.patient_id for p in plans}),
            "counts": counts,
            "grid": {
                "rows": config.grid.rows,
                "cols": config.grid.cols,
                "axial_um": config.grid.axial_um,
                "lateral_um": config.grid.lateral_um,
            },
            "domains_used": list(config.domains),
            "lesion_masks": {"bits": list(kb.biomarker_ids)},
            "config": config.source,
            "files": files,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return CohortSummary(out_dir, manifest["n_scans"], manifest["n_patients"], counts)


def _map(jobs: list[tuple], workers: int) -> Iterator[tuple[bytes, bytes, list[int], list[float]]]:
    if workers <= 1 or len(jobs) < 2:
        yield from map(_render_job, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_render_job, jobs, chunksize=max(1, len(jobs) // (workers * 8)))


def _check_replaceable(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        try:
            manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            manifest = None
        ours = isinstance(manifest, dict) and manifest.get("generator") == GENERATOR
        if not ours:
            raise FileExistsError(
                f"{out_dir}: folder is not empty and is not a synthetic cohort; choose another output folder"
            )


def _reference_row(
    plan: PlannedScan, image: str, report: str, fovea: list[int], spacing: list[float], kb: KnowledgeBase
) -> dict:
    return {
        "id": plan.id,
        "patient_id": plan.patient_id,
        "image": image,
        "eye": plan.eye,
        "visit": plan.visit,
        "domain": plan.domain,
        "stage": plan.stage,
        "referral": plan.referral,
        "biomarkers": {b: "present" if b in plan.present else "absent" for b in kb.biomarker_ids},
        "attributes": {b: dict(attrs) for b, attrs in plan.present.items() if attrs},
        "report": report,
        "age": plan.age,
        "sex": plan.sex,
        "fovea": fovea,
        "pixel_spacing_um": spacing,
        "watermark": plan.watermark,
        "shortcut_cue": plan.cue is not None,
    }


def annotation_columns(kb: KnowledgeBase) -> list[str]:
    attributes = [f"{b}_{a}" for b, marker in kb.biomarkers.items() for a in marker.attributes]
    return ["id", "patient_id", "eye", "visit", "age", "sex", *kb.biomarker_ids, *attributes, "stage", "referral"]


def _annotations_csv(plans: list[PlannedScan], kb: KnowledgeBase) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=annotation_columns(kb), lineterminator="\n")
    writer.writeheader()
    for p in plans:
        row = {
            "id": p.id,
            "patient_id": p.patient_id,
            "eye": p.eye,
            "visit": p.visit,
            "age": p.age,
            "sex": p.sex,
            "stage": p.stage,
            "referral": p.referral,
        }
        for b, marker in kb.biomarkers.items():
            row[b] = int(b in p.present)
            for a in marker.attributes:
                row[f"{b}_{a}"] = p.present.get(b, {}).get(a, "")
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8")


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def _file_entry(path: str, data: bytes) -> dict:
    return {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _counts(plans: list[PlannedScan], kb: KnowledgeBase, config: CohortConfig) -> dict[str, dict[str, int]]:
    def ordered(key: str, ids) -> dict[str, int]:
        counter = Counter(getattr(p, key) for p in plans)
        return {i: counter.get(i, 0) for i in ids}

    return {
        "stage": ordered("stage", kb.stage_ids),
        "referral": ordered("referral", kb.referral_ids),
        "domain": ordered("domain", config.domains),
        "eye": ordered("eye", ("OD", "OS")),
    }
