"""Question/answer pairs for the curricula: the builder registry and the YAML templates they fill.

A builder turns one labelled scan into one question and its answer. Builders register themselves by
name in `BUILDERS` (see `retinavlm.train.qa_builders`); a stage YAML picks builders and weights.
Templates are data (curricula/templates/*.yaml); the knowledge base supplies every clinical word.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from retinavlm.errors import ConfigError
from retinavlm.knowledge import KnowledgeBase
from retinavlm.model.prompts import IMAGE_PLACEHOLDER
from retinavlm.train.records import ScanRecord
from retinavlm.yaml_files import read_yaml_mapping


@dataclass(frozen=True)
class QAPair:
    question: str
    answer: str
    builder: str


@dataclass(frozen=True)
class Templates:
    """A loaded templates file (with its `include:` merged), read by section name."""

    path: Path
    sections: dict[str, Any]

    def section(self, name: str) -> Any:
        if name not in self.sections:
            raise ConfigError(f"{self.path}: no {name!r} section")
        return self.sections[name]


Builder = Callable[[ScanRecord, Templates, KnowledgeBase, random.Random], QAPair | None]

# name -> (builder, template sections it needs)
BUILDERS: dict[str, tuple[Builder, tuple[str, ...]]] = {}


def register(name: str, sections: tuple[str, ...]) -> Callable[[Builder], Builder]:
    def wrap(fn: Builder) -> Builder:
        BUILDERS[name] = (fn, sections)
        return fn

    return wrap


def load_templates(path: str | Path) -> Templates:
    path = Path(path)
    doc = read_yaml_mapping(path, ConfigError, "templates file", expected="a mapping of sections")
    sections: dict[str, Any] = {}
    include = doc.pop("include", None)
    if include is not None:
        sections.update(load_templates(path.parent / include).sections)
    sections.update(doc)
    return Templates(path, sections)


def check_builders(weights: dict[str, float], templates: Templates) -> None:
    """Fail before training when a builder is unknown, weighted badly or lacks its templates."""
    for name, weight in weights.items():
        if name not in BUILDERS:
            raise ConfigError(f"qa.builders.{name}: unknown builder; known: {', '.join(sorted(BUILDERS))}")
        if weight < 0:
            raise ConfigError(f"qa.builders.{name}: weight must not be negative, got {weight}")
        for section in BUILDERS[name][1]:
            if section not in templates.sections:
                raise ConfigError(f"qa.builders.{name}: {templates.path} has no {section!r} section")
    if not any(w > 0 for w in weights.values()):
        raise ConfigError("qa.builders: at least one builder needs a positive weight")


def build_pairs(
    record: ScanRecord,
    count: int,
    weights: dict[str, float],
    templates: Templates,
    kb: KnowledgeBase,
    rng: random.Random,
) -> list[QAPair]:
    """`count` pairs for one scan, builders drawn by weight; a builder that does not apply is redrawn."""
    names = [n for n, w in weights.items() if w > 0]
    pairs: list[QAPair] = []
    while len(pairs) < count and names:
        name = rng.choices(names, weights=[weights[n] for n in names])[0]
        pair = BUILDERS[name][0](record, templates, kb, rng)
        if pair is None:
            names.remove(name)  # not applicable to this scan (e.g. attribute of an absent finding)
            continue
        pairs.append(pair)
    return pairs


def prompt_for(question: str) -> str:
    """The model prompt of a question: the scan first, then the question (unless it places the scan itself)."""
    return question if IMAGE_PLACEHOLDER in question else f"{IMAGE_PLACEHOLDER}\n{question}"


def with_context(question: str, record: ScanRecord, templates: Templates, rng: random.Random) -> str:
    """Put the patient's age and sex before a share of questions (when the table has them).

    A question that places the scan itself keeps the scan first and gets the context after it, as every
    other prompt has it (prompt_for): questions about one scan then share the tokens up to the image, which
    shared-prefix packing needs (retinavlm.model.packing)."""
    contexts = templates.sections.get("patient_context")
    share = float(templates.sections.get("patient_context_share", 1.0))
    if not contexts or record.age is None or record.sex is None or rng.random() >= share:
        return question
    sex = templates.sections.get("sex_words", {}).get(record.sex, record.sex)
    context = rng.choice(contexts).format(age=record.age, sex=sex)
    head, image, tail = question.partition(IMAGE_PLACEHOLDER)
    if image:
        return f"{head}{image}\n{context} {tail.lstrip()}"
    return f"{context} {question}"


def finding_phrase(record: ScanRecord, biomarker_id: str, kb: KnowledgeBase) -> str:
    """'large drusen', 'serous pigment epithelial detachment': attributes before the name."""
    qualifiers = list(record.attributes.get(biomarker_id, {}).values())
    return " ".join([*qualifiers, kb.biomarkers[biomarker_id].name])


def join_list(items: list[str], conjunction: str = "and") -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


# Registers the builders (they import this module, so this comes last).
from retinavlm.train import qa_builders  # noqa: E402, F401
