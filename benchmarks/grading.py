"""Report grading speed: reports graded per second on one core, and 10 000 reports end to end
through `retinavlm evaluate` on two worker processes (1000 bootstrap resamples; one system, then
two systems with their paired comparison).

    python benchmarks/grading.py                 # writes benchmarks/results/grading.json
    python benchmarks/grading.py --medspacy      # adds medspaCy ConText with the same rules
                                                 # (run with an interpreter that has medspacy)
    python benchmarks/grading.py --scale 100000  # adds one `retinavlm evaluate` run on 100 000 reports
                                                 # (wall, CPU and peak memory of all its processes)

The reports are the grader validation set (eval/validation/reports.jsonl; accuracy is also recorded
on eval/validation/styles_dev.jsonl and styles_dev2.jsonl, reports in clinical styles) cycled to the wanted
count with fresh ids, graded against references derived from their labels with the
knowledge-base rules. The medspaCy comparison reads the same validation set with spaCy's blank
English pipeline, medspaCy's TargetMatcher fed the knowledge-base vocabulary and its ConText fed
eval/context_rules.yaml, and scores it like our extractor.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from retinavlm.atomic import write_json, write_jsonl
from retinavlm.evaluation.context_rules import load_rules
from retinavlm.evaluation.extract import FindingsExtractor
from retinavlm.evaluation.grade import grade_pairs
from retinavlm.evaluation.reference import parse_reference
from retinavlm.evaluation.rubric import default_rubric_path, load_rubric
from retinavlm.evaluation.validation import default_validation_path, score
from retinavlm.host import cpu_model
from retinavlm.jsonl import read_jsonl
from retinavlm.knowledge import load_knowledge, referral_from_findings, stage_from_findings

RESULTS = Path(__file__).resolve().parent / "results" / "grading.json"


def cases(n: int) -> tuple[list[dict], list[dict]]:
    """n (reference, prediction) rows cycled from the validation set; patients of 2 scans."""
    rows, _ = read_jsonl(default_validation_path())
    refs, preds = [], []
    for i in range(n):
        row = rows[i % len(rows)]
        labels = row["labels"]
        present = {b: "present" for b, s in labels["biomarkers"].items() if s == "present"}
        refs.append(
            {
                "id": f"r{i:06d}",
                "patient_id": f"p{i // 2:06d}",
                "stage": labels["stage"] or stage_from_findings(present),
                "referral": labels["referral"] or referral_from_findings(present),
                "biomarkers": {b: ("present" if s == "present" else "absent") for b, s in labels["biomarkers"].items()},
            }
        )
        preds.append({"id": f"r{i:06d}", "report": row["report"], "model": "validation-text"})
    return refs, preds


def one_core(n: int) -> dict:
    kb = load_knowledge()
    extractor = FindingsExtractor(kb)
    rubric = load_rubric(default_rubric_path(), kb)
    refs, preds = cases(n)
    references = [parse_reference(r, kb) for r in refs]
    reports = [p["report"] for p in preds]
    grade_pairs(references[:50], reports[:50], rubric, extractor)  # warm the caches
    start, cpu = time.perf_counter(), time.process_time()
    grade_pairs(references, reports, rubric, extractor)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    return {
        "reports": n,
        "wall_seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "reports_per_second_wall": round(n / seconds, 1),
        "reports_per_cpu_second": round(n / cpu_seconds, 1),
        "what": "extraction + rubric scoring, one process",
    }


def end_to_end(n: int, systems: int, workers: int, resamples: int) -> dict:
    """Wall time, CPU time and peak memory (all processes) of one `retinavlm evaluate` run in a subprocess."""
    refs, preds = cases(n)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_jsonl(tmp / "refs.jsonl", refs)
        files = []
        for k in range(systems):
            files.append(str(tmp / f"system{k}.jsonl"))
            write_jsonl(files[-1], [{**p, "model": f"system{k}"} for p in preds])
        command = [
            sys.executable,
            "-m",
            "retinavlm.cli",
            "evaluate",
            "--predictions",
            *files,
            "--references",
            str(tmp / "refs.jsonl"),
            "--out",
            str(tmp / "out"),
            "--workers",
            str(workers),
            "--bootstrap",
            str(resamples),
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        with open(tmp / "stderr.txt", "w+") as stderr:
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
            peak_bytes = peak_tree_rss(process)
            seconds = time.perf_counter() - start
            stderr.seek(0)
            errors = stderr.read()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if process.returncode != 0:
            raise SystemExit(f"evaluate failed ({process.returncode}): {errors[-2000:]}")
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {
        "reports_per_system": n,
        "systems": systems,
        "workers": workers,
        "bootstrap_resamples": resamples,
        "wall_seconds": round(seconds, 2),
        "cpu_seconds_all_processes": round(cpu, 2),
        "peak_rss_mb_all_processes": round(peak_bytes / 2**20),
        "peak_rss_mb_largest_process": round(after.ru_maxrss / 1024),
        "command": f"retinavlm evaluate --predictions {' '.join(f'system{k}.jsonl' for k in range(systems))} "
        f"--references refs.jsonl --out out --workers {workers} --bootstrap {resamples}",
    }


def peak_tree_rss(process: subprocess.Popen, interval: float = 0.1) -> int:
    """Wait for `process`; the largest sum of resident memory of it and its workers, sampled every `interval` s."""
    import psutil

    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        total = 0
        try:
            for proc in [root, *root.children(recursive=True)]:
                total += proc.memory_info().rss
        except psutil.Error:  # a worker exited between listing and reading
            pass
        peak = max(peak, total)
        time.sleep(interval)
    return peak


def medspacy_comparison() -> dict:
    """medspaCy ConText with our vocabulary and rules, scored on the validation set like ours."""
    import medspacy
    from loguru import logger
    from medspacy.context import ConTextRule

    logger.remove()  # PyRuSH logs every sentence at DEBUG level: not part of the measurement
    from medspacy.ner import TargetRule

    kb, rules = load_knowledge(), load_rules()
    nlp = medspacy.load()  # blank English + PyRuSH sentences + target matcher + ConText
    matcher = nlp.get_pipe("medspacy_target_matcher")
    targets = []
    for bid, marker in kb.biomarkers.items():
        targets += [TargetRule(t, f"B:{bid}") for t in marker.synonyms]
        targets += [TargetRule(a, f"B:{bid}", pattern=[{"TEXT": a}]) for a in marker.abbreviations]
    for gid, group in kb.groups.items():
        targets += [TargetRule(t, f"G:{gid}") for t in group.synonyms]
    for level in kb.stages:
        targets += [TargetRule(t, f"S:{level.id}") for t in level.synonyms]
    for level in kb.referrals:
        targets += [TargetRule(t, f"R:{level.id}") for t in level.synonyms]
    matcher.add(targets)
    nlp.remove_pipe("medspacy_context")  # drop its default rules: ours only
    context = nlp.add_pipe("medspacy_context", config={"rules": None})
    direction = {"forward": "FORWARD", "backward": "BACKWARD", "bidirectional": "BIDIRECTIONAL"}
    context_rules = [
        ConTextRule(term, rule.category.upper(), direction=direction[rule.direction], max_scope=rule.max_scope or 1)
        for term, rule_list in rules.modifiers.items()
        for rule in rule_list
        if term.strip()
    ]
    context_rules += [ConTextRule(term, "TERMINATE", direction="TERMINATE") for term in rules.terminators]
    context.add(context_rules)

    def labels(text: str) -> dict:
        doc = nlp(text)
        states: dict[str, list[str]] = {}
        stage = referral = None
        for ent in doc.ents:
            cats = {m.category for m in ent._.modifiers}
            if cats & {"OTHER_EYE", "HYPOTHETICAL"} or ("HISTORICAL" in cats and "CURRENT" not in cats):
                continue
            state = "absent" if "NEGATED" in cats else "uncertain" if "UNCERTAIN" in cats else "present"
            kind, _, value = ent.label_.partition(":")
            if kind == "B":
                states.setdefault(value, []).append(state)
            elif kind == "G" and state != "present":
                for member in kb.groups[value].members:
                    states.setdefault(member, []).append(state)
            elif kind == "S" and state != "absent":
                stage = value
            elif kind == "R" and state != "absent":
                referral = value
        rank = {"present": 2, "uncertain": 1, "absent": 0}
        return {
            "stage": stage,
            "referral": referral,
            "biomarkers": {b: max(s, key=rank.get) for b, s in states.items()},
        }

    rows, _ = read_jsonl(default_validation_path())
    start = time.perf_counter()
    result = score(rows, labels)
    seconds = time.perf_counter() - start
    return {
        "medspacy": importlib.metadata.version("medspacy"),
        "spacy": importlib.metadata.version("spacy"),
        **result.summary(),
        "reports_per_second": round(len(rows) / seconds, 1),
    }


def ours_on_validation(path: Path | None = None) -> dict:
    rows, _ = read_jsonl(path or default_validation_path())
    extractor = FindingsExtractor()
    start = time.perf_counter()
    result = score(rows, lambda text: extractor.extract(text).labels())
    seconds = time.perf_counter() - start
    return {**result.summary(), "reports_per_second": round(len(rows) / seconds, 1)}


def hardware() -> dict:
    # other jobs on a shared machine slow the wall times; the CPU times are the steadier figure
    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--one-core-reports", type=int, default=3000)
    parser.add_argument("--end-to-end-reports", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument(
        "--medspacy",
        action="store_true",
        help="only measure medspaCy ConText (needs medspacy) and add it to the recorded results",
    )
    parser.add_argument(
        "--scale",
        type=int,
        metavar="N",
        help="only run `retinavlm evaluate` on N reports (one system) and add it to the recorded results as scale",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    if args.medspacy:  # run with another interpreter: add to the recorded results
        record = previous
        record.setdefault("validation_set", {})["medspacy_context"] = medspacy_comparison()
    elif args.scale:  # the cohort-scale check: one large run, the other figures kept
        record = previous
        record["scale"] = {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "hardware": hardware(),
            **end_to_end(args.scale, 1, args.workers, args.bootstrap),
        }
    else:
        record = {
            "benchmark": "grading",
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "hardware": hardware(),
            "versions": {
                "python": platform.python_version(),
                **{p: importlib.metadata.version(p) for p in ("retinavlm", "numpy", "scipy")},
            },
            "one_core": one_core(args.one_core_reports),
            "end_to_end": [
                end_to_end(args.end_to_end_reports, 1, args.workers, args.bootstrap),
                end_to_end(args.end_to_end_reports, 2, args.workers, args.bootstrap),
            ],
            "validation_set": {
                "ours": ours_on_validation(),
                "ours_on_styles_dev": ours_on_validation(default_validation_path().with_name("styles_dev.jsonl")),
                "ours_on_styles_dev2": ours_on_validation(default_validation_path().with_name("styles_dev2.jsonl")),
            },
        }
        if "medspacy_context" in previous.get("validation_set", {}):
            record["validation_set"]["medspacy_context"] = previous["validation_set"]["medspacy_context"]
        if "scale" in previous:
            record["scale"] = previous["scale"]
    write_json(args.out, record)
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
