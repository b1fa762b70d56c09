"""The question/answer builders, registered by name in `retinavlm.train.qa.BUILDERS` on import."""

from retinavlm.train.qa_builders import findings_questions, report_targets  # noqa: F401
