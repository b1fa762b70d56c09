"""`retinavlm label-reports`: free-text reference reports -> reference labels (references.jsonl)."""

from __future__ import annotations

import argparse
import sys

from retinavlm.knowledge.arguments import add_knowledge_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reports", required=True, metavar="R.jsonl", help='{"id", "report", "patient_id"?, "image"?} per line'
    )
    parser.add_argument("--out", required=True, metavar="references.jsonl", help="reference labels to write")
    parser.add_argument(
        "--uncertain-as",
        choices=["absent", "present"],
        default="absent",
        help="label for findings the report hedges (default: absent)",
    )
    add_knowledge_arguments(parser)
    parser.add_argument("--rules", default=None, help="context rules YAML (default: eval/context_rules.yaml)")


def run(args: argparse.Namespace) -> int:
    from retinavlm.atomic import write_jsonl
    from retinavlm.errors import RetinaVLMError
    from retinavlm.evaluation.context_rules import RulesError, load_rules
    from retinavlm.evaluation.extract import FindingsExtractor
    from retinavlm.evaluation.labeller import label_report
    from retinavlm.jsonl import iter_jsonl
    from retinavlm.knowledge import KnowledgeError, load_knowledge

    try:
        extractor = FindingsExtractor(load_knowledge(args.knowledge), load_rules(args.rules))
        lines = list(iter_jsonl(args.reports))
    except (OSError, RetinaVLMError, RulesError, KnowledgeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows, problems, seen = [], [], set()
    for number, row, problem in lines:
        if problem is not None:
            problems.append(str(problem))
            continue
        rid, report = row.get("id"), row.get("report")
        if not isinstance(rid, (str, int)) or isinstance(rid, bool) or str(rid) == "":
            problems.append(f"{args.reports}:{number}: missing or invalid 'id'")
            continue
        if not isinstance(report, str):
            problems.append(f"{args.reports}:{number}: id {rid}: 'report' must be a string")
            continue
        if str(rid) in seen:
            problems.append(f"{args.reports}:{number}: duplicate id {rid} (the first one is used)")
            continue
        seen.add(str(rid))
        labels = label_report(report, extractor, args.uncertain_as)
        extra = {k: row[k] for k in ("patient_id", "image") if k in row}
        rows.append({"id": str(rid), **extra, **labels, "report": report})
    if not rows:
        print(f"error: {args.reports}: no usable reports ({len(problems)} problem(s))", file=sys.stderr)
        for problem in problems[:10]:
            print(f"  {problem}", file=sys.stderr)
        return 2
    write_jsonl(args.out, rows)
    print(f"labelled {len(rows)} report(s) -> {args.out}")
    if problems:
        print(f"{len(problems)} problem(s):", file=sys.stderr)
        for problem in problems[:10]:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return 0
