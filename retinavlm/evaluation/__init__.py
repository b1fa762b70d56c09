"""Clinical grading of free-text reports: findings extraction, rubrics, statistics."""

from retinavlm.evaluation.extract import Extraction, FindingsExtractor, Mention, Span
from retinavlm.evaluation.labeller import label_report
from retinavlm.evaluation.reference import Reference, parse_reference
from retinavlm.evaluation.rubric import Rubric, RubricError, default_rubric_path, load_rubric
from retinavlm.evaluation.context_rules import ContextRules, RulesError, load_rules

__all__ = [
    "ContextRules",
    "Extraction",
    "FindingsExtractor",
    "Mention",
    "Reference",
    "Rubric",
    "RubricError",
    "RulesError",
    "Span",
    "default_rubric_path",
    "label_report",
    "load_rubric",
    "load_rules",
    "parse_reference",
]
