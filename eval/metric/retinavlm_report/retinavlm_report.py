"""RetinaVLM report grader as a Hugging Face `evaluate` metric, loadable offline from this folder:

    import evaluate
    metric = evaluate.load("eval/metric/retinavlm_report")
    metric.compute(predictions=[report, ...], references=[reference, ...])

Each reference is either a JSON object string of reference labels
({"stage"?, "referral"?, "biomarkers": {id: "present"|"absent"}}; a label left out is unknown and not
scored) or a free-text reference report, which the toolkit's labeller turns into labels. Options of compute(): rubric (YAML path),
knowledge (knowledge base folder).
"""

import json

import datasets
import evaluate

from retinavlm.evaluation.extract import FindingsExtractor
from retinavlm.evaluation.grade import grade_pairs
from retinavlm.evaluation.labeller import label_report
from retinavlm.evaluation.reference import parse_reference
from retinavlm.evaluation.rubric import default_rubric_path, load_rubric
from retinavlm.evaluation.statistics import system_statistics
from retinavlm.knowledge import load_knowledge

_DESCRIPTION = """Clinical grading of free-text OCT reports: findings extraction with negation, hedging,
history and other-eye handling, scored with a specialist rubric (stage, referral, biomarker
completeness and accuracy, internal consistency, conciseness) and staging/referral F1."""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of free-text reports.
    references: list of reference labels as JSON strings, or free-text reference reports.
    rubric: optional path of a rubric YAML (default eval/rubrics/amd.yaml).
    knowledge: optional knowledge base folder (default curricula/knowledge).
Returns:
    score: mean rubric score; criterion/<id>: mean of each criterion;
    stage_f1_micro, stage_f1_macro, referral_f1_micro, referral_f1_macro: F1 (micro over positive classes).
"""

_CITATION = """Holland et al., RetinaVLM: a vision-language model for retinal specialism (2024)."""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class RetinavlmReport(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references, rubric=None, knowledge=None):
        kb = load_knowledge(knowledge)
        extractor = FindingsExtractor(kb)
        parsed = []
        for i, reference in enumerate(references):
            try:
                row = json.loads(reference)
            except (json.JSONDecodeError, TypeError):
                row = None
            if not isinstance(row, dict):
                row = label_report(reference or "", extractor)
            parsed.append(parse_reference({"id": str(i), **row}, kb))
        grading_rubric = load_rubric(rubric or default_rubric_path(), kb)
        samples = grade_pairs(parsed, list(predictions), grading_rubric, extractor)
        stats = system_statistics(samples, grading_rubric, kb, resamples=0, seed=0)
        out = {"score": stats["score"]["value"]}
        out.update({f"criterion/{cid}": c["value"] for cid, c in stats["criteria"].items()})
        for name in ("stage", "referral"):
            out[f"{name}_f1_micro"] = stats[name]["f1_micro_positive"]["value"]
            out[f"{name}_f1_macro"] = stats[name]["f1_macro"]["value"]
        return out
