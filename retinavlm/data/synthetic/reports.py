"""Specialist-style free-text reports for synthetic scans, in varied wording.

Layouts and sentence frames come from curricula/templates/reports.yaml; every clinical word comes
from the knowledge base, so the grader's vocabulary and the reports' can never drift apart.
A report names each present finding with its attributes, rules out the important absent ones,
and states the stage (or a non-AMD condition) and the referral. For a partially labelled scan it
says only what is known: a layout part whose content is unknown is left out.
"""

from __future__ import annotations

import functools
import os
import re
import string
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retinavlm.errors import ConfigError
from retinavlm.knowledge import KnowledgeBase, load_knowledge
from retinavlm.resources import curricula_dir
from retinavlm.yaml_files import read_yaml_mapping


@dataclass(frozen=True)
class ReportTemplates:
    layouts: tuple[tuple[str, ...], ...]
    present: tuple[str, ...]
    attribute_forms: tuple[str, ...]
    absent: tuple[str, ...]
    nothing_present: tuple[str, ...]
    rule_out_always: tuple[str, ...]
    rule_out_sometimes: dict[str, float]
    group_probability: float
    skip_phrases: frozenset[str]
    abbreviation_probability: float
    display_case: dict[str, str]
    eyes: dict[str, tuple[str, ...]]
    sexes: dict[str, tuple[str, ...]]


def default_templates_path() -> Path:
    return curricula_dir() / "templates" / "reports.yaml"


def load_report_templates(path: str | os.PathLike | None = None) -> ReportTemplates:
    path = Path(path) if path is not None else default_templates_path()
    doc = read_yaml_mapping(path, ConfigError, "report templates")
    try:
        rule_out = doc["rule_out"]
        return ReportTemplates(
            layouts=tuple(tuple(parts) for parts in doc["layouts"]),
            present=tuple(doc["present"]),
            attribute_forms=tuple(doc["attribute_forms"]),
            absent=tuple(doc["absent"]),
            nothing_present=tuple(doc["nothing_present"]),
            rule_out_always=tuple(rule_out["always"]),
            rule_out_sometimes={str(k): float(v) for k, v in rule_out["sometimes"].items()},
            group_probability=float(rule_out["group_probability"]),
            skip_phrases=frozenset(p.lower() for p in doc["skip_phrases"]),
            abbreviation_probability=float(doc["abbreviation_probability"]),
            display_case=dict(doc["display_case"]),
            eyes={k: tuple(v) for k, v in doc["eyes"].items()},
            sexes={k: tuple(v) for k, v in doc["sexes"].items()},
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:  # a missing or malformed section of the file
        raise ConfigError(f"not a usable report template file ({type(exc).__name__}: {exc})", source=path) from None


class ReportWriter:
    """Writes reports for one knowledge base and template set; deterministic given the rng."""

    def __init__(self, kb: KnowledgeBase | None = None, templates: ReportTemplates | None = None):
        self.kb = kb or load_knowledge()
        self.templates = templates or load_report_templates()
        self._terms = {bid: self._biomarker_terms(bid) for bid in self.kb.biomarker_ids}
        self._stage_terms = {level.id: self._level_terms(level) for level in self.kb.stages}
        self._referral_terms = {level.id: self._level_terms(level) for level in self.kb.referrals}
        self._condition_terms = {cid: self._condition_words(cid) for cid in self.kb.conditions}

    def write(
        self,
        present: Mapping[str, Mapping[str, str]],
        stage: str | None,
        referral: str | None,
        rng: np.random.Generator,
        eye: str = "OD",
        age: int | None = None,
        sex: str | None = None,
        absent: Collection[str] | None = None,
        condition: str | None = None,
    ) -> str:
        """present: biomarker id -> attributes for every present finding. absent: the ids known absent
        (None: every other biomarker). A None stage, referral or condition is unknown and not stated."""
        t = self.templates
        if absent is None:
            absent = [bid for bid in self.kb.biomarker_ids if bid not in present]
        absent = [bid for bid in self.kb.biomarker_ids if bid in absent and bid not in present]
        all_known = len(present) + len(absent) == len(self.kb.biomarker_ids)
        sentences = [self._present_sentence(bid, present[bid], rng) for bid in self.kb.biomarker_ids if bid in present]
        if not sentences and all_known:
            sentences = [_pick(t.nothing_present, rng)]
        fields: dict[str, str | None] = {
            "findings": " ".join(sentences),
            "findings_list": "\n- ".join(sentences),
            "negatives": self._negatives(absent, rng),
            "stage": self._impression(stage, condition, rng, present),
            "referral": None if referral is None else _pick(self._referral_terms[self.kb.referral(referral).id], rng),
            "eye": _pick(t.eyes[eye], rng),
            "age": "" if age is None else str(age),
            "sex": _pick(t.sexes[sex], rng) if sex in t.sexes else "patient",
        }
        if not sentences and not fields["negatives"]:  # nothing about the findings is known
            fields.update(findings=None, findings_list=None, negatives=None)
        layouts = [lay for lay in t.layouts if age is not None or "{age}" not in "".join(lay)]
        parts = [part for part in _pick(layouts, rng) if all(fields[key] is not None for key in _placeholders(part))]
        text = "".join(parts).format(**fields)
        text = re.sub(r"\n- \n|\n- $", "\n", text)  # an empty bullet when nothing was ruled out
        return re.sub(r"[ \t]+", " ", text).replace(" \n", "\n").strip()

    def _impression(
        self, stage: str | None, condition: str | None, rng: np.random.Generator, present: Collection[str]
    ) -> str | None:
        """Words for the AMD stage, or for the non-AMD condition (which has no stage); None when neither is known.
        A stage word that also names a finding ("GA", "cRORA") is used only when that finding is present, so
        the impression never states a finding the scan's labels leave absent or unknown."""
        if stage is not None:
            level = self.kb.stage(stage)
            not_present = [self._finding_names[bid] for bid in self.kb.biomarker_ids if bid not in present]
            terms = [t for t in self._stage_terms[level.id] if not any(p.search(t.lower()) for p in not_present)]
            return _pick(terms or [self._display(level.name)], rng)
        if condition is not None:
            self.kb.condition(condition)  # a one-line error for an unknown id
            return _pick(self._condition_terms[condition], rng)
        return None

    def _present_sentence(self, bid: str, attributes: Mapping[str, str], rng: np.random.Generator) -> str:
        term = self._term(bid, rng)
        for aname, value in attributes.items():
            words = self._attribute_words(bid, aname, value)
            term = _pick(self.templates.attribute_forms, rng).format(value=_pick(words, rng), term=term)
        frame = _pick(self.templates.present, rng)
        return frame.format(finding=term, Finding=term[:1].upper() + term[1:])

    def _negatives(self, absent: Sequence[str], rng: np.random.Generator) -> str:
        t = self.templates
        chosen = [b for b in absent if b in t.rule_out_always or rng.random() < t.rule_out_sometimes.get(b, 0.0)]
        if not chosen:
            return ""
        words = []
        for group in self.kb.groups.values():
            members = [m for m in group.members if m in chosen]
            if len(members) == len(group.members) and rng.random() < t.group_probability:
                words.append(_pick(self._group_terms[group.id], rng))
                chosen = [b for b in chosen if b not in members]
        words += [self._term(b, rng) for b in chosen]
        return _pick(t.absent, rng).format(list=_join(words, "or"))

    def _term(self, bid: str, rng: np.random.Generator) -> str:
        spelled, abbreviations = self._terms[bid]
        if abbreviations and rng.random() < self.templates.abbreviation_probability:
            return _pick(abbreviations, rng)
        return _pick(spelled, rng)

    def _level_terms(self, level) -> list[str]:
        options = [s for s in dict.fromkeys((level.name, *level.synonyms)) if self._usable(s, owner=None)]
        return [self._display(s) for s in options or [level.name]]

    def _condition_words(self, cid: str) -> list[str]:
        """A condition's name and synonyms (they may name the findings it implies, e.g. macular oedema)."""
        condition = self.kb.conditions[cid]
        words = [
            s for s in dict.fromkeys((condition.name, *condition.synonyms)) if s not in self.templates.skip_phrases
        ]
        return [self._display(s) for s in words] or [condition.name]

    def _attribute_words(self, bid: str, aname: str, value: str) -> list[str]:
        attribute = self.kb.biomarkers[bid].attributes[aname]
        words = [w for w in (value, *attribute.synonyms.get(value, ())) if re.fullmatch(r"[a-z][a-z -]*", w)]
        return sorted(set(words), key=words.index)

    @functools.cached_property
    def _group_terms(self) -> dict[str, list[str]]:
        """Each group's umbrella words, less those inside a stage or referral phrase: "no disease activity"
        names inactive wet AMD, so a report denying fluid must not say it when the stage is another."""
        levels = [p.lower() for level in (*self.kb.stages, *self.kb.referrals) for p in (level.name, *level.synonyms)]
        return {
            gid: [
                w
                for w in group.synonyms
                if not any(re.search(rf"(?<!\w){re.escape(w.lower())}(?!\w)", p) for p in levels)
            ]
            or list(group.synonyms[:1])
            for gid, group in self.kb.groups.items()
        }

    @functools.cached_property
    def _finding_names(self) -> dict[str, re.Pattern]:
        """For each biomarker, a pattern of every word that names it (name, synonyms, abbreviations)."""
        return {
            bid: re.compile(
                "|".join(rf"(?<!\w){re.escape(w.lower())}(?!\w)" for w in (m.name, *m.synonyms, *m.abbreviations))
            )
            for bid, m in self.kb.biomarkers.items()
        }

    @functools.cached_property
    def _foreign_phrases(self) -> dict[str | None, re.Pattern]:
        """For each biomarker, a pattern of the phrases that would name something else (None: anything)."""
        kb = self.kb
        groups = [s for g in kb.groups.values() for s in g.synonyms]
        out: dict[str | None, list[str]] = {None: groups + [s for b in kb.biomarkers.values() for s in b.synonyms]}
        for bid, marker in kb.biomarkers.items():
            others = [s for o in kb.biomarkers.values() if o.id != bid for s in o.synonyms]
            values = [w for a in marker.attributes.values() for syns in a.synonyms.values() for w in syns]
            out[bid] = groups + others + values
        return {
            owner: re.compile("|".join(rf"(?<!\w){re.escape(p)}(?!\w)" for p in phrases))
            for owner, phrases in out.items()
        }

    def _usable(self, phrase: str, owner: str | None) -> bool:
        lowered = phrase.lower()
        if lowered in self.templates.skip_phrases:
            return False
        return self._foreign_phrases[owner].search(lowered) is None

    def _biomarker_terms(self, bid: str) -> tuple[list[str], list[str]]:
        marker = self.kb.biomarkers[bid]
        spelled = [s for s in dict.fromkeys((marker.name, *marker.synonyms)) if self._usable(s, bid)]
        abbreviations = [a for a in marker.abbreviations if a.lower() not in self.templates.skip_phrases]
        return [self._display(s) for s in spelled] or [marker.name], abbreviations

    def _display(self, phrase: str) -> str:
        return re.sub(r"[a-z]+", lambda m: self.templates.display_case.get(m.group(0), m.group(0)), phrase)


def _pick(options: Sequence[str], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def _join(words: Sequence[str], conjunction: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"


def _placeholders(part: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(part) if name]
