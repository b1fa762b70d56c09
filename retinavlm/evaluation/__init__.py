"""Clinical grading of free-text reports: findings extraction, rubrics, statistics."""

from retinavlm.evaluation.context_rules import ContextRules, RulesError, load_rules
from retinavlm.evaluation.evaluate import EvaluationResult, evaluate_systems
from retinavlm.evaluation.extract import Extraction, FindingsExtractor, Mention, Span
from retinavlm.evaluation.labeller import label_report
from retinavlm.evaluation.reference import Reference, ReferenceFormatError, parse_reference
from retinavlm.evaluation.rubric import Rubric, RubricError, default_rubric_path, load_rubric

__all__ = [
    "ContextRules",
    "EvaluationResult",
    "Extraction",
    "FindingsExtractor",
    "Mention",
    "Reference",
    "ReferenceFormatError",
    "Rubric",
    "RubricError",
    "RulesError",
    "Span",
    "default_rubric_path",
    "evaluate_systems",
    "label_report",
    "load_rubric",
    "load_rules",
    "parse_reference",
]
