"""The toolkit's one error base: every bad input or configuration raises a subclass of `RetinaVLMError`.

Its message is one line that names the input (file, dotted key, id) and the problem, so the CLI prints it
as is and exits, and library callers catch one class without hiding genuine bugs (a plain ValueError or
KeyError from a mistake in our code is never caught as "bad input").
"""


class RetinaVLMError(ValueError):
    """Bad input or configuration; `str()` names the input and the problem."""


class ConfigError(RetinaVLMError):
    """A YAML config (model, stage, curriculum, demo preset, rubric, cohort) is invalid at a named key."""
