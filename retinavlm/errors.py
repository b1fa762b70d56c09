"""The toolkit's one error base: every bad input or configuration raises a subclass of `RetinaVLMError`.

Its message is one line that names the input (file, dotted key, id) and the problem, so the CLI prints it
as is and exits, and library callers catch one class without hiding genuine bugs (a plain ValueError or
KeyError from a mistake in our code is never caught as "bad input").
"""

from __future__ import annotations

import os


class RetinaVLMError(ValueError):
    """Bad input or configuration; `str()` names the input and the problem."""


class ConfigError(RetinaVLMError):
    """A YAML config (model, stage, curriculum, demo preset, rubric, cohort) is invalid at a named key.

    `str()` is `FILE: dotted.key: problem` (the parts that are known); `within` re-states the error
    from an enclosing key or file (as the same subclass), so a nested builder need not know where its data came from.
    """

    def __init__(self, problem: str, key: str = "", source: str | os.PathLike = ""):
        self.problem, self.key, self.source = problem, key, str(source)
        super().__init__(": ".join(part for part in (self.source, key, problem) if part))

    def within(self, key: str = "", source: str | os.PathLike = "") -> ConfigError:
        joined = key + self.key if self.key.startswith("[") else ".".join(part for part in (key, self.key) if part)
        return type(self)(self.problem, joined, self.source or str(source))
