"""Findings extraction: what a free-text OCT report asserts about each biomarker, the AMD stage it
states and the referral it recommends, each with the text span it came from.

The vocabulary comes from the knowledge base (curricula/knowledge/), the language around it from
eval/context_rules.yaml; this module only wires them together:
tokens -> sections and sentences (document.py) -> targets (biomarkers, stages, referrals) -> ConText -> decisions.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace
from typing import Any

from retinavlm.evaluation.context import Assertion, SentenceContext
from retinavlm.evaluation.context_rules import ContextRules, Place, load_rules
from retinavlm.evaluation.decisions import decision
from retinavlm.evaluation.document import Document, DocumentReader, negates_forward
from retinavlm.evaluation.matcher import Match, PhraseTable, variants
from retinavlm.evaluation.normalize import Normalizer
from retinavlm.evaluation.text import NO_SPLIT_AFTER, clean_text
from retinavlm.knowledge import KnowledgeBase, load_knowledge

# an open hedge this many tokens before a stage word opens its clause ("could be SHRM from a new MNV")
_HEDGED_CLAUSE_REACH = 8
_KIND_PRONOUNS = frozenset({"one", "ones", "type", "kind"})  # "a drusenoid PED than a fibrovascular one"
_CLAUSE_MARKS = frozenset({",", ";", ":", ".", "-", "–", "—", "(", ")"})
# marks that end a list item for a verdict of its own; a dash too ("dry, no SRF/IRF, inactive – extend to q12w"), and an
# opening bracket, whose aside grades the verdict ("Disease still active (low)")
_VERDICT_ITEM_ENDS = frozenset({",", ";", "|", "–", "—", "-", "("})
_STATE_RANK = {"present": 2, "uncertain": 1, "absent": 0}
_COORDINATORS = frozenset({"or", "and", "nor", "/", ",", "&", "vs", "versus"})


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True)
class Mention:
    """One place in the report that speaks about a biomarker, a stage or a referral level."""

    kind: str  # "biomarker" | "stage" | "referral" | "condition"
    id: str
    state: str | None  # present / absent / uncertain; None: not about this scan
    span: Span
    section: str | None = None
    cues: tuple[str, ...] = ()  # "negated: no", "historical: previously", ...
    attributes: dict[str, str] = field(default_factory=dict)
    via: str | None = None  # the umbrella term or stage family it came through
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "state": self.state, "span": self.span.to_json()}
        for key in ("section", "via"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.cues:
            out["cues"] = list(self.cues)
        if self.attributes:
            out["attributes"] = dict(self.attributes)
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class Extraction:
    stage: Mention | None
    referral: Mention | None
    biomarkers: dict[str, Mention]  # the deciding mention per mentioned biomarker, knowledge-base order
    mentions: tuple[Mention, ...]
    read_chars: int = 0  # how much of the report was read
    truncated: bool = False  # the report was longer than the extractor reads
    condition: Mention | None = None  # a stated non-AMD diagnosis ("diabetic macular oedema")

    def labels(self) -> dict[str, Any]:
        """The interchange form: stage, referral, the state of each mentioned biomarker, and the
        condition when the report states one (as a reference carries it)."""
        labels = {
            "stage": self.stage.id if self.stage else None,
            "referral": self.referral.id if self.referral else None,
            "biomarkers": {bid: m.state for bid, m in self.biomarkers.items()},
        }
        return labels if self.condition is None else {**labels, "condition": self.condition.id}

    def findings(self) -> dict[str, dict[str, str]]:
        """Findings in the knowledge-base rule format, for the report's own stage and referral."""
        return {bid: {"state": m.state, **m.attributes} for bid, m in self.biomarkers.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            **self.labels(),
            **({"truncated_at": self.read_chars} if self.truncated else {}),
            "evidence": {
                "stage": self.stage.to_json() if self.stage else None,
                "referral": self.referral.to_json() if self.referral else None,
                **({"condition": self.condition.to_json()} if self.condition else {}),
                "biomarkers": {bid: m.to_json() for bid, m in self.biomarkers.items()},
            },
        }


MAX_REPORT_CHARS = 100_000  # a specialist report is a few thousand characters


class FindingsExtractor:
    """Reads reports against one knowledge base and one set of context rules (built once, reused).

    Reports longer than `max_chars` are read up to there and flagged `truncated`."""

    def __init__(
        self, kb: KnowledgeBase | None = None, rules: ContextRules | None = None, max_chars: int = MAX_REPORT_CHARS
    ):
        self.max_chars = max_chars
        self.kb = kb or load_knowledge()
        self.rules = rules or load_rules()
        norm = self._norm = Normalizer(self.rules)
        kb, rules = self.kb, self.rules
        unknown = [k for k in rules.implied_absence if k not in kb.biomarkers and k not in kb.groups]
        if unknown:
            raise ValueError(f"context rules: implied_absence names unknown biomarker or group {unknown}")

        self._biomarkers = PhraseTable()
        for bid, marker in kb.biomarkers.items():
            for term in variants((*marker.synonyms, *_own_id(bid))):
                self._biomarkers.add(norm.phrase(term, clinical=True), ("biomarker", (bid,)))
            for abbr in marker.abbreviations:
                self._biomarkers.add(norm.as_written(abbr, clinical=True), ("biomarker", (bid,)), case_sensitive=True)
                if len(abbr) >= 3:  # "srf", "ped" in shorthand; two-letter ones ("GA") only as written
                    self._biomarkers.add(norm.phrase(abbr, clinical=True), ("biomarker", (bid,)))
        for gid, group in kb.groups.items():
            for term in variants(group.synonyms):
                self._biomarkers.add(norm.phrase(term, clinical=True), ("group", group.members, gid))
        for key, terms in rules.implied_absence.items():
            members = kb.groups[key].members if key in kb.groups else (key,)
            for term in variants(terms):
                self._biomarkers.add(norm.phrase(term), ("absence", members, key))
        for index, group in enumerate(rules.anchored):
            for state, terms_by_id in (("present", group.present), ("absent", group.absent)):
                for bid, terms in terms_by_id.items():
                    if bid not in kb.biomarkers:
                        raise ValueError(f"context rules: anchored_findings names unknown biomarker {bid!r}")
                    for term in variants(terms):
                        self._biomarkers.add(norm.phrase(term), ("anchored", bid, state, index))
            for term in group.anchors:
                norm.phrase(term)
        # phrases that leave the stage open ("activity uncertain") are not findings either
        for term in variants((*rules.not_findings, *rules.undecided_stage)):
            self._biomarkers.add(norm.phrase(term), ("ignore",))
        self._place_words: dict[str, list[Place]] = {}
        self._structures = PhraseTable()
        placed = rules.placed
        if placed is not None:
            if placed.group not in kb.groups:
                raise ValueError(f"context rules: placed_findings names unknown group {placed.group!r}")
            for place in placed.places:
                if place.biomarker not in kb.biomarkers:
                    raise ValueError(f"context rules: placed_findings names unknown biomarker {place.biomarker!r}")
                for word in place.words:
                    self._place_words.setdefault(norm.phrase(word)[0], []).append(place)
                for term in place.structures:
                    self._structures.add(norm.phrase(term), term)
        self._transfers = PhraseTable()
        for term in rules.transfer_of_care:
            self._transfers.add(norm.phrase(term), "transfer")
        self._inactive_since = PhraseTable()
        for term in variants(rules.inactivity_history):
            self._inactive_since.add(norm.phrase(term), "history")
        # a non-AMD reading set against the stage: ranked below it or left open beside it (round 39 (k), (l))
        self._rivals = PhraseTable()
        self._rival_names = PhraseTable()  # a look once per report: most name no rival, and skip the sentence scan
        for rival in variants(rules.rival_conditions):
            self._rival_names.add(norm.phrase(rival), "rival")
            for before in rules.rival_ranked:
                self._rivals.add(norm.phrase(f"{before} {rival}"), "rival")
            for before in rules.rival_open_before:
                self._rivals.add(norm.phrase(f"{before} {rival}"), "rival")
            for after in rules.rival_open_after:
                self._rivals.add(norm.phrase(f"{rival} {after}"), "rival")
            # the longer phrase wins the scan, so "rather than CSC" is never read as "than CSC"
            for before in rules.rival_rejected:
                self._rivals.add(norm.phrase(f"{before} {rival}"), "rejected")
        self._corrections = PhraseTable()
        for term in rules.corrections:
            self._corrections.add(norm.phrase(term), "correction")
        # a cheap first look for a marker's first word, before the token scan
        self._correction_words = (
            re.compile("|".join(sorted({re.escape(term.split()[0]) for term in rules.corrections})), re.IGNORECASE)
            if rules.corrections
            else None
        )
        self._alternatives = frozenset(norm.phrase(w)[0] for w in rules.stage_alternatives)
        self._kind_joiners = self._alternatives | {"than"}
        self._correlatives = frozenset(norm.phrase(w)[0] for w in rules.stage_correlatives)
        self._open_hedges = frozenset(norm.phrase(w) for w in rules.open_stage_hedges)
        self._queries = frozenset(norm.phrase(w) for w in rules.queries)

        self._attributes = PhraseTable()
        for bid, marker in kb.biomarkers.items():
            for attribute in marker.attributes.values():
                for value, terms in attribute.synonyms.items():
                    for term in variants(terms):
                        self._attributes.add(norm.phrase(term, clinical=True), (bid, attribute.name, value))

        self._stages = PhraseTable()
        for level in kb.stages:
            for term in variants((*level.synonyms, *_own_id(level.id))):
                self._stages.add(norm.phrase(term, clinical=True), ("level", level.id))
        for term in variants(rules.not_stages):
            self._stages.add(norm.phrase(term), ("ignore", None))
        self._qualifiers = PhraseTable()
        self._yielding = PhraseTable()
        for index, family in enumerate(rules.stage_families):
            bad = [m for m in (*family.members, *family.qualifiers, *family.yielding) if m not in kb.stage_ids]
            if bad:
                raise ValueError(f"context rules: stage family names unknown stage(s) {bad}")
            for term in variants(family.terms):
                self._stages.add(norm.phrase(term, clinical=True), ("family", index))
            for member, terms in family.qualifiers.items():
                for term in variants(terms):
                    self._qualifiers.add(norm.phrase(term), (index, member))
            for member, terms in family.yielding.items():
                for term in variants(terms):
                    self._yielding.add(norm.phrase(term), (index, member))

        self._conditions = PhraseTable()
        for cid, condition in kb.conditions.items():
            for term in variants(condition.synonyms):
                self._conditions.add(norm.phrase(term, clinical=True), ("level", cid))
            for abbr in condition.abbreviations:
                self._conditions.add(norm.as_written(abbr), ("level", cid), case_sensitive=True)

        self._referrals = PhraseTable()
        for level in kb.referrals:
            for term in variants(level.synonyms):
                self._referrals.add(norm.phrase(term), ("level", level.id))
        for level_id, terms in rules.time_frames.items():
            if level_id not in kb.referral_ids:
                raise ValueError(f"context rules: time_frames names unknown level {level_id!r}")
            for term in variants(terms):
                self._referrals.add(norm.phrase(term), ("level", level_id))
        for level_id, terms in rules.weak_referrals.items():
            if level_id not in kb.referral_ids:
                raise ValueError(f"context rules: weak_referrals names unknown level {level_id!r}")
            for term in variants(terms):
                self._referrals.add(norm.phrase(term), ("weak", level_id))
        self._intervals = PhraseTable()  # read only where no referral phrase is (`_interval_targets`)
        for term in variants(rules.visit_intervals):
            self._intervals.add(norm.phrase(term), ("interval", "routine"))
        self._visit_words = _single_words(norm, rules.visit_words, "visit_intervals visits")
        self._visit_tests = _single_words(norm, rules.visit_tests, "visit_intervals tests")
        self._service_modifiers = _single_words(norm, rules.service_modifiers, "service_modifiers")
        self._venue_links = frozenset(w for place in rules.visit_places for w in norm.phrase(place))
        if rules.schedule_phrases:
            if rules.schedule_level not in kb.referral_ids or not (
                rules.schedule_stages | rules.schedule_treated_stages
            ) <= set(kb.stage_ids):
                raise ValueError("context rules: treatment_schedule names an unknown referral level or stage")
            for term in variants(rules.schedule_phrases):
                self._referrals.add(norm.phrase(term), ("schedule", rules.schedule_level))
            for term in variants(rules.schedule_next_doses):
                self._referrals.add(norm.phrase(term), ("next_dose", rules.schedule_level))
            for term in variants(rules.schedule_shortened):
                self._referrals.add(norm.phrase(term), ("shortened", None))
        self._referral_predicates = frozenset(norm.phrase(term) for term in rules.referral_predicates)
        self._referral_predicate_starts = frozenset(phrase[0] for phrase in self._referral_predicates)
        self._treatments = PhraseTable()
        for family in rules.stage_families:
            # another family's name holding a treatment word ("pegcetacoplan injection", a GA treatment) is no
            # anti-VEGF treatment: the longer phrase takes the word
            for term in variants(family.terms):
                self._treatments.add(norm.phrase(term), "treatment" if family.treatment else "other")
        for term in variants(rules.schedule_treated):
            self._treatments.add(norm.phrase(term), "treatment")
        for term in variants(rules.hospital_care):
            self._referrals.add(norm.phrase(term), ("care", "none"))
        for term in variants(rules.not_referrals):
            self._referrals.add(norm.phrase(term), ("ignore", None))
        self._paperwork = PhraseTable()
        for term in variants(rules.paperwork):
            self._paperwork.add(norm.phrase(term), "paperwork")
        # longest first, as written token by token ("larger than" before "over")
        self._size_thresholds = sorted(
            {tuple(t.raw.lower() for t in norm.tokens(term)) for term in rules.size_thresholds}, key=len, reverse=True
        )
        self._standing = _single_words(norm, rules.standing_diagnosis, "standing_diagnosis")
        self._closings = PhraseTable()
        for term in rules.letter_closings:
            self._closings.add(norm.phrase(term), "closing")
        for word in rules.community_care:
            norm.phrase(word)
        # a community word may be two ("eye examination": the optometrist's, where an examination alone may be the
        # hospital's), matched token by token
        self._community_pairs = frozenset(tuple(w.split()) for w in rules.community_care if len(w.split()) == 2)
        self._hosted_care = tuple(tuple(w.split()) for w in rules.hosted_care)

        self._heading_values: dict[str, dict[tuple[str, ...], str]] = {}
        for role, levels in rules.heading_values.items():
            for level_id, terms in levels.items():
                if level_id not in kb.referral_ids and level_id not in kb.stage_ids:
                    raise ValueError(f"context rules: heading_values names unknown level {level_id!r}")
                for term in terms:
                    self._heading_values.setdefault(role, {})[norm.phrase(term)] = level_id
        fields = dict(rules.activity_fields)
        self._activity_headings = frozenset(norm.phrase(h) for h in fields.pop("headings", ()))
        self._activity_values = {norm.phrase(v): level for level, terms in fields.items() for v in terms}
        if not set(self._activity_values.values()) <= set(kb.stage_ids):
            raise ValueError("context rules: activity_fields names an unknown stage")
        self._bare_stages = {
            phrase[0]: level_id
            for phrase, level_id in self._heading_values.get("conclusion", {}).items()
            if len(phrase) == 1
        }
        self._ranges = frozenset(norm.phrase(w)[0] for w in rules.stage_ranges)
        if bad := sorted({level_id for level_id, _ in rules.verdict_sentences} - set(kb.stage_ids)):
            raise ValueError(f"context rules: verdict_sentences names unknown stage(s) {bad}")
        self._verdict_sentences = {norm.phrase(term): level_id for level_id, term in rules.verdict_sentences}
        # one-word conclusion headings ("impression"), which open a new clause in unpunctuated dictation
        self._conclusion_words = frozenset(
            h for section in rules.sections if section.role == "conclusion" for h in section.headings if " " not in h
        )
        self._verdict_words = max((len(phrase) for phrase in self._verdict_sentences), default=0)
        # a single eye's abbreviation written as such ("LE", "OD"): before a verdict it names whose it is ("LE
        # quiescent")
        self._eye_marks = frozenset(
            term.lower()
            for eye in ("right", "left")
            for term in rules.eyes.get(eye, ())
            if term.isalpha() and term.isupper()
        )
        # an eye named in two words ending in "eye" ("L eye inactive", "Right eye quiescent")
        self._eye_mark_pairs = frozenset(
            tuple(t.lower() for t in term.split())
            for eye in ("right", "left")
            for term in rules.eyes.get(eye, ())
            if len(term.split()) == 2 and term.split()[1].lower() == "eye"
        )
        self._verdicts = PhraseTable()
        for term in rules.verdict_markers:
            self._verdicts.add(norm.phrase(term), "verdict")

        for term in rules.anatomy_guard_words | rules.anatomy_guard_terms:
            norm.phrase(term)
        self._section_roles = {section.id: section.role for section in rules.sections}
        self._reader = DocumentReader(rules, norm, findings=self._biomarkers, qualifiers=self._qualifiers)
        norm.freeze()

    # -- targets and their context --------------------------------------------------------------

    def _targets(self, doc: Document, table: PhraseTable) -> list[tuple[Match, tuple[int, int]]]:
        out = []
        if not table.may_match(doc.norms, doc.written, doc.caseless):
            return out
        for sentence in doc.sentences:
            for found in table.scan(doc.tokens, *sentence, caseless=doc.caseless):
                elided = self._elided(doc, table, found, sentence, out)
                if elided is not None:
                    out.append((elided, sentence))
                out.append((found, sentence))
        return out

    def _elided(self, doc: Document, table: PhraseTable, found: Match, sentence, before) -> Match | None:
        """ "subretinal or intraretinal fluid": the first word stands for "subretinal fluid";
        "sub- or intraretinal fluid", "sub or intraretinal fluid": the hanging prefix takes the rest of
        the next word; "early vs intermediate AMD", "intermediate or inactive neovascular AMD": the
        first word shares the head noun; a cue word of the second item does not part them ("possibly early,
        possibly intermediate AMD")."""
        s = found.start
        cue = s - 1 if s - 1 in doc.trigger_ends and doc.tokens[s - 2].norm in _COORDINATORS else s
        if cue - 2 < sentence[0] or doc.tokens[cue - 1].norm not in _COORDINATORS:
            return None
        if before and before[-1][0].end > cue - 2:
            return None
        first, rest = doc.tokens[cue - 2].norm, tuple(t.norm for t in doc.tokens[s + 1 : found.end])
        if doc.text[doc.tokens[cue - 2].end - 1] == "-" or first in self.rules.hanging_prefixes:
            head = doc.tokens[s].norm
            candidates = [(first + head[k:], *rest) for k in range(1, len(head) - 2)]
        elif found.end - s >= 2:
            candidates = [(first, *rest[k:]) for k in range(len(rest))]
        else:
            return None
        for words in candidates:
            payloads = table.get(words)
            if payloads and payloads != found.payloads:
                return Match(cue - 2, cue - 1, payloads)
        return None

    def _context(self, doc: Document, targets, negation_stops: list[bool] | None = None) -> SentenceContext:
        mask = [False] * len(doc.tokens)
        hides = [False] * len(doc.tokens)  # a phrase read as nothing ("cannot distinguish") stays a cue
        for found, _ in targets:
            for k in range(found.start, found.end):
                mask[k] = True
                hides[k] = hides[k] or found.payloads[0] != ("ignore",)
        # a finding word that also says "now" ("reactivation of nAMD") still says it of its neighbours
        triggers = [
            t for t in doc.triggers if not any(hides[t.start : t.end]) or all(r.category == "current" for r in t.rules)
        ]
        reach = max([self.rules.max_scope] + [r.max_scope for t in triggers for r in t.rules])
        return SentenceContext(
            doc.tokens,
            triggers,
            mask,
            negation_stops,
            doc.separators,
            self.rules.list_words,
            self.rules.list_joiners,
            self.rules.sentence_wide,
            reach,
            self.rules.item_predicates,
            self.rules.disjunctions,
            self.rules.item_openers,
            doc.named_eye_clauses,
            self.rules.item_verdicts,
            self.rules.history_joiners,
            self.rules.history_join_gap,
        )

    def _span(self, doc: Document, start: int, end: int) -> Span:
        a, b = doc.tokens[start].start, doc.tokens[end - 1].end
        return Span(a, b, doc.text[a:b])

    def _section(self, doc: Document, index: int):
        section = doc.section_of[index]
        return None if section is None else self.rules.sections[section]

    def _assess(self, doc: Document, ctx: SentenceContext, found: Match, sentence, plan: bool = False) -> Assertion:
        """The state of one target; a `plan` (a referral) is not ruled out by a section that lists absent findings
        ("Not detected: SRF, IRF" over a later "routine referral to medical retina")."""
        if sentence in doc.other_eye or found.start in doc.other_eye_clauses:
            return Assertion(None, (), "about the other eye")
        if found.start in doc.quoted_history:
            return Assertion(None, (), "historical")  # an earlier reading quoted whole, whatever it says inside
        section = self._section(doc, found.start)
        category = section.category if section else None
        return ctx.assess(found.start, found.end, sentence, None if plan and category == "negated" else category)

    def _mention(self, doc, kind, level_id, state, found, assertion, **extra) -> Mention:
        section = self._section(doc, found.start)
        cues = []
        for cue in assertion.cues:
            where = (
                "section heading" if cue.trigger is None else self._span(doc, cue.trigger.start, cue.trigger.end).text
            )
            cues.append(f"{cue.category}: {where}")
        return Mention(
            kind,
            level_id,
            state,
            self._span(doc, found.start, found.end),
            section.id if section else None,
            tuple(cues),
            reason=assertion.reason,
            **extra,
        )

    # -- the three passes -----------------------------------------------------------------------

    def extract(self, text: str) -> Extraction:
        """Read one report. Never raises on text: unknown words are simply not findings."""
        if not isinstance(text, str):
            raise TypeError(f"a report must be a string, got {type(text).__name__}")
        truncated = len(text) > self.max_chars
        doc = self._reader.read(self._norm.punctuate(clean_text(text[: self.max_chars])))
        biomarker_targets = self._anchored(doc, self._placed(doc, self._targets(doc, self._biomarkers)))
        mentions, queried = self._biomarker_mentions(doc, biomarker_targets)
        answered = self._answered_queries(mentions, queried)
        # a correction can supersede only a finding spoken of more than once
        restated = len({m.id for m in answered}) < len(answered)
        decided = self._combine(answered, self._correction_start(doc) if restated else None)
        stops = [False] * len(doc.tokens)
        for found, _ in biomarker_targets:
            if found.payloads[0][0] != "ignore":
                for k in range(found.start, found.end):
                    stops[k] = True
        # a stage family ("wet AMD") is resolved by the report's own findings, hedged ones included
        own_findings = {
            bid: {"state": "present" if m.state == "uncertain" else m.state, **m.attributes}
            for bid, m in decided.items()
        }
        conditions = self._level_mentions(doc, self._conditions, "condition", stops)
        # a condition ("diabetic macular oedema") is a diagnosis, never a stage statement
        for mention, _ in conditions:
            for k in range(*self._token_range(doc, mention.span)):
                stops[k] = True
        # a stage named by a finding word the report denies ("no iRORA or cRORA") is denied with it
        denied = {(m.span.start, m.span.end) for m in mentions if m.state in ("absent", None)}
        present = frozenset(
            k for m in mentions if m.state in ("present", "uncertain") for k in range(*self._token_range(doc, m.span))
        )
        # "No AMD" beside another stated condition ("centre-involving DMO. No AMD features."), or qualified beside AMD
        # findings ("DRUSEN SMALL ... NO AMD OF NOTE"), does not call the eye healthy (eval/README.md, round 36 (e))
        # (a class with its score in a model's list, "DME 0.01" or "DME (p=0.02)", is no condition stated)
        condition_stated = any(c.state == "present" and not self._scored(doc, c) for c, _ in conditions)
        stages = [
            (m, weak)
            for m, weak in self._stage_mentions(doc, stops, own_findings, denied, present)
            + self._heading_value_mentions(doc, "stage")
            + (self._verdict_mentions(doc) if not doc.leaves_stage_open else [])
            if not any(_overlaps(m.span, c.span) for c, _ in conditions)
            # a treatment or finding word is the stated condition's ("anti-VEGF for DMO - first injection")
            and not (weak and conditions)
            and not (m.id == "healthy" and (condition_stated or (present and self._healthy_qualified(doc, m))))
        ]
        stage = self._pick(stages, "conclusion")
        activity = [decided[bid].state for bid in self.rules.schedule_activity & decided.keys()]
        active = any(state in ("present", "uncertain") for state in activity)
        if stage is not None and stage.id == "late_wet_inactive" and self._open_by_hedged_fluid(doc, activity):
            stage = None
        if stage is not None and stage.id == "late_wet_inactive" and "present" in activity:
            stage = self._reactivated(doc, stage, stages) or stage
        if stage is not None and self._rival_in_sentence(doc, stage):
            stage = None
        referrals = self._referral_mentions(doc, stops, stage, active) + self._heading_value_mentions(doc, "referral")
        if not referrals:
            referrals = self._plan_interval_mentions(doc, stops)
        return Extraction(
            stage=stage,
            referral=self._pick(referrals, "plan"),
            biomarkers=decided,
            mentions=(*mentions, *(m for m, _ in stages), *(m for m, _ in referrals), *(m for m, _ in conditions)),
            read_chars=len(doc.text),
            truncated=truncated,
            condition=self._pick(conditions, "conclusion"),
        )

    def _open_by_hedged_fluid(self, doc: Document, activity: list[str]) -> bool:
        """Today's hedged sign of activity ("could be a small SRF pocket or just an optical artifact") beside a history
        of inactivity ("inactive since March") leaves the wet stage's activity undecided (eval/README.md, round 38
        (i)): the fluid is hedged, none is present, and the inactivity is told as lasting since a past time."""
        if "uncertain" not in activity or "present" in activity:
            return False
        return next(self._inactive_since.scan(doc.tokens), None) is not None

    def _reactivated(self, doc: Document, stage: Mention, stages: list[tuple[Mention, bool]]) -> Mention | None:
        """A history of inactivity ("Known R nAMD, quiescent since January") read as the stage, beside today's fluid
        present and an active stage stated ("Today: new SRF ... Reactivated. Inject today"), gives way to it: the
        inactivity lasted until today (eval/README.md, round 38 (i): hedged fluid leaves it open; fluid present with
        activity stated decides it)."""
        lo, hi = self._token_range(doc, stage.span)
        sentence = next(((s, e) for s, e in doc.sentences if s <= lo < e), (lo, hi))
        if next(self._inactive_since.scan(doc.tokens, *sentence), None) is None:
            return None
        active = [(m, weak) for m, weak in stages if m.id == "late_wet_active" and m.state == "present"]
        return self._pick(active, "conclusion")

    def _rival_in_sentence(self, doc: Document, stage: Mention) -> bool:
        """A non-AMD reading set against the stage in its sentence, ranked below it ("more likely to be wet AMD than
        diabetic macular oedema") or left open beside it ("possible wet AMD, but CSC cannot be excluded"): the writer
        weighs the two, so no stage is stated (eval/README.md, round 39 (k), (l))."""
        if not self._rival_names.may_match(doc.norms, doc.raws):
            return False
        tokens = doc.tokens
        for start, end in doc.sentences:
            if tokens[start].start <= stage.span.start < tokens[end - 1].end:
                return any("rival" in found.payloads for found in self._rivals.scan(tokens, start, end))
        return False

    def _scored(self, doc: Document, mention: Mention) -> bool:
        """A class name with its score after it ("DME 0.01", "DME (p=0.02)", "DME: 0.03")."""
        _, end = self._token_range(doc, mention.span)
        for token in doc.tokens[end : end + 5]:
            if token.norm[:1].isdigit() or (token.norm.startswith("p=") and token.norm[2:3].isdigit()):
                return True
            if token.norm not in ("(", ":", "p", "=", "p="):
                return False
        return False

    def _healthy_qualified(self, doc: Document, mention: Mention) -> bool:
        """A "no AMD" limited by the words right after it ("no AMD of note")."""
        _, end = self._token_range(doc, mention.span)
        after = [t.norm for t in doc.tokens[end : end + 2]]
        return bool(after) and (
            after[0] in self.rules.healthy_qualifiers or " ".join(after) in self.rules.healthy_qualifiers
        )

    def _token_range(self, doc: Document, span: Span) -> tuple[int, int]:
        starts = [t.start for t in doc.tokens]
        return bisect.bisect_left(starts, span.start), bisect.bisect_left(starts, span.end)

    def _pick(self, candidates: list[tuple[Mention, bool]], role: str) -> Mention | None:
        """The statement that counts: in the conclusion (or plan) section first, explicit over weak,
        confident over hedged, and the last one written among equals."""
        if not candidates:
            return None
        roles = self._section_roles

        def key(item):
            index, (mention, weak) = item
            return (roles.get(mention.section) in ("conclusion", role), not weak, mention.state == "present", index)

        return max(enumerate(candidates), key=key)[1][0]

    def _biomarker_mentions(self, doc: Document, targets) -> tuple[list[Mention], set[int]]:
        """The mentions, and the indices of those hedged by a query ("?SRF")."""
        if not targets:
            return [], set()
        ctx = self._context(doc, targets)
        queried: set[int] = set()
        attributes = list(self._attributes.scan(doc.tokens))
        attribute_starts = [a.start for a in attributes]
        mentions: list[Mention] = []
        for n, (found, sentence) in enumerate(targets):
            kind, *rest = found.payloads[0]
            if kind == "ignore" or (kind == "biomarker" and self._label_restated(doc, targets, n)):
                continue
            assertion = self._assess(doc, ctx, found, sentence)
            state = assertion.state
            if state == "uncertain" and (
                self._alternative_kinds(doc, targets, n)
                or self._kind_set_against(doc, found, sentence)
                or self._kind_queried(doc, found, sentence)
            ):
                state = "present"  # "drusenoid PED vs serous PED": the hedge is about the kind, not the PED
            if kind == "absence":
                # an anchored denial denied in its own item asserts the finding ("the RPE is by no means
                # smooth", "rpe not completely regular"): smooth and irregular are two sides of one thing
                if rest[2:] and state == "absent" and self._same_item(doc, assertion, found, targets):
                    state = "present"
                # "not dry" denies the phrase; a negation from an earlier list item ("no HRF, macula dry") does not
                elif state == "absent" and assertion.cues and assertion.cues[0].distance == 0:
                    continue
                else:
                    state = {"present": "absent", "uncertain": "uncertain", "absent": "absent"}.get(state)
            # attribute words belong to this finding up to the neighbouring findings
            lo = max(sentence[0], found.start - 4, targets[n - 1][0].end if n and targets[n - 1][1] == sentence else 0)
            hi = min(
                sentence[1],
                found.end + 4,
                targets[n + 1][0].start if n + 1 < len(targets) and targets[n + 1][1] == sentence else sentence[1],
            )
            nearby = attributes[bisect.bisect_left(attribute_starts, lo) : bisect.bisect_left(attribute_starts, hi)]
            for bid in rest[0]:
                via = rest[1] if kind in ("group", "absence") else None
                attrs, attribute_before = self._attributes_of(bid, nearby, found, hi)
                mention_state = state
                if kind == "group" and state == "present":
                    mention_state = None  # "fluid" asserts no particular kind of fluid; "?fluid" hedges each kind
                if (
                    state == "absent"
                    and attribute_before is not None
                    and not self._lesion_denied(doc, assertion, found, attribute_before)
                ) or (
                    # "No drusen >63 µm" (a field's "RPE loss >=250 um: No" answers its own criterion)
                    state == "absent"
                    and assertion.cues
                    and assertion.cues[0].trigger is not None
                    and assertion.cues[0].trigger.start < found.start
                    and self._size_threshold_after(doc, found, sentence)
                ):
                    mention_state = None  # "no large drusen", "no drusen >63 µm" say nothing about small ones
                if mention_state == "uncertain" and kind != "group" and self._is_query(doc, assertion):
                    queried.add(len(mentions))
                mentions.append(
                    self._mention(
                        doc,
                        "biomarker",
                        bid,
                        mention_state,
                        found,
                        assertion,
                        attributes=attrs if mention_state == "present" else {},
                        via=via,
                    )
                )
        return mentions, queried

    def _label_restated(self, doc: Document, targets, n: int) -> bool:
        """A finding's field label whose value names the same finding again ("SRF: no definite SRF", "SRF: no SRF"):
        the label states nothing of its own; the value decides."""
        found, sentence = targets[n]
        colon = found.end
        if colon + 1 >= sentence[1] or doc.tokens[colon].raw != ":" or n + 1 >= len(targets):
            return False
        value, value_sentence = targets[n + 1]
        return (
            value_sentence == sentence
            and value.start - colon <= 4
            and value.payloads[0][0] == "biomarker"
            and value.payloads[0][1] == found.payloads[0][1]
            and all(doc.tokens[k].is_word for k in range(colon + 1, value.start))
        )

    def _kind_set_against(self, doc: Document, found: Match, sentence) -> bool:
        """The finding set against another kind of itself named by the kind alone ("more likely drusenoid PED than
        fibrovascular", "drusenoid PED or serous"): the hedge is about the kind, the finding is there either way."""
        k = found.end
        if k + 1 >= sentence[1] or doc.tokens[k].norm not in self._kind_joiners:
            return False
        bid = found.payloads[0][1][0] if found.payloads[0][0] == "biomarker" else None
        k += doc.tokens[k + 1].norm in ("a", "an")
        other = self._attributes.match_at(doc.tokens, k + 1, sentence[1])
        if bid is None or other is None or not any(p[0] == bid for p in other.payloads):
            return False
        # the kind alone ("than fibrovascular", "than a serous one"), not the attribute of a finding named after it
        # ("than a small PED")
        return (
            other.end >= sentence[1]
            or not doc.tokens[other.end].is_word
            or doc.tokens[other.end].norm in _KIND_PRONOUNS
        )

    def _kind_queried(self, doc: Document, found: Match, sentence) -> bool:
        """A query of the finding's kind right after it ("subfoveal PED ?serous vs drusenoid", "drusen ?large"): the
        query is of its type or size, not of the finding, which is there (the lead's decision on round 41's open item
        w42-030). The kind alone ends its item, or is set against another kind of the same finding."""
        k = found.end
        if k + 1 >= sentence[1] or (doc.tokens[k].norm,) not in self._queries or found.payloads[0][0] != "biomarker":
            return False
        mark, before = doc.tokens[k], doc.tokens[k - 1]
        if not mark.is_word and (mark.start == before.end or mark.end < doc.tokens[k + 1].start):
            return False  # "PED? serous ...": the question mark is the finding's own, glued to it (or standing apart)
        bid = found.payloads[0][1][0]
        kind = self._attributes.match_at(doc.tokens, k + 1, sentence[1])
        if kind is None or not any(p[0] == bid for p in kind.payloads):
            return False
        j = kind.end
        if j < sentence[1] and doc.tokens[j].norm in self._kind_joiners:
            other = self._attributes.match_at(doc.tokens, j + 1, sentence[1])
            return other is not None and any(p[0] == bid for p in other.payloads)
        return j >= sentence[1] or not doc.tokens[j].is_word

    def _alternative_kinds(self, doc: Document, targets, n: int) -> bool:
        """The finding is set against itself in another kind ("drusenoid PED vs serous PED", "either a
        fibrovascular PED or a large drusenoid PED"): joined by an alternative word across at most three
        describing words."""
        found, sentence = targets[n]
        for m in (n - 1, n + 1):
            if not 0 <= m < len(targets) or targets[m][1] != sentence or targets[m][0].payloads != found.payloads:
                continue
            a, b = sorted((found, targets[m][0]), key=lambda t: t.start)
            between = [t for t in doc.tokens[a.end : b.start] if t.is_word]
            others = [t for t in between if t.norm not in self._alternatives and t.norm not in self.rules.list_words]
            if len(others) <= 3 and any(t.norm in self._alternatives for t in between):
                return True
        return False

    def _is_query(self, doc: Document, assertion: Assertion) -> bool:
        cue = assertion.cues[0] if assertion.cues else None
        return (
            cue is not None
            and cue.trigger is not None
            and tuple(t.norm for t in doc.tokens[cue.trigger.start : cue.trigger.end]) in self._queries
        )

    def _same_item(self, doc: Document, assertion: Assertion, found: Match, targets) -> bool:
        """The deciding cue stands in the finding's own item: no punctuation and no other finding between them
        ("no subretinal or intraretinal fluid and the RPE otherwise appears intact" denies the fluid, not the RPE's
        intactness)."""
        cue = assertion.cues[0] if assertion.cues else None
        if cue is None or cue.trigger is None or cue.trigger.end > found.start:
            return False
        lo, hi = cue.trigger.end, found.start
        return all(doc.tokens[k].is_word for k in range(lo, hi)) and not any(
            lo <= other.start < hi for other, _ in targets if other.payloads[0][0] != "ignore"
        )

    def _size_threshold_after(self, doc: Document, found: Match, sentence) -> bool:
        """A size threshold and a size right after the finding ("drusen >63 µm", "drusen larger than 125 µm")."""
        for phrase in self._size_thresholds:
            end = found.end + len(phrase)
            if end < sentence[1] and tuple(t.raw.lower() for t in doc.tokens[found.end : end]) == phrase:
                number = _SIZE.fullmatch(doc.tokens[end].raw.lower())
                if number is None:
                    return False
                unit = number.group(1) or (doc.tokens[end + 1].raw.lower() if end + 1 < sentence[1] else "")
                return unit in self.rules.size_units
        return False

    def _lesion_denied(self, doc: Document, assertion: Assertion, found: Match, attribute: int) -> bool:
        """A denial after a definite lesion ("the serous PED from last year ... is no longer visible"): that lesion,
        named with its attribute, is gone; "no serous PED" still says nothing about other PEDs."""
        cue = assertion.cues[0] if assertion.cues else None
        return (
            cue is not None
            and cue.trigger is not None
            and cue.trigger.start >= found.end
            and attribute > 0
            and doc.tokens[attribute - 1].norm in self.rules.definite_words
        )

    def _attributes_of(self, bid: str, nearby: list[Match], found: Match, hi: int) -> tuple[dict[str, str], int | None]:
        """The most advanced value of each attribute ("large", "serous") named next to the finding,
        and where the first one before it starts (so that "no large drusen" is not "no drusen")."""
        marker = self.kb.biomarkers[bid]
        best: dict[str, str] = {}
        before = None
        for a in nearby:
            if a.end > hi:
                continue
            for target_bid, name, value in a.payloads:
                if target_bid != bid:
                    continue
                values = marker.attributes[name].values
                if name not in best or values.index(value) > values.index(best[name]):
                    best[name] = value
                if a.end <= found.start and before is None:
                    before = a.start
        return best, before

    def _answered_queries(self, mentions: list[Mention], queried: set[int]) -> list[Mention]:
        """A query ("?SRF") the report answers later with a plain statement of the same finding ("no SRF",
        "cRORA confirmed") gives way to that statement; so does one a later denial of its umbrella term
        answers ("?cyst at the scar edge - on the dense scans a tubulation, not fluid")."""
        out = []
        for n, m in enumerate(mentions):
            if n in queried and any(
                o.id == m.id and o.state in ("present", "absent") and (o.via is None or o.state == "absent")
                for o in mentions[n + 1 :]
            ):
                continue
            out.append(m)
        return out

    def _correction_start(self, doc: Document) -> int | None:
        """Where a correction or addendum begins ("ADDENDUM 14:20: ...", "[corrected: IRF absent]"): its marker at
        the start of a line or before a ":", also past who made it in brackets ("Human override (tele-retina
        consultant): ...")."""
        if self._correction_words is None or not self._correction_words.search(doc.text):
            return None
        tokens = doc.tokens
        for found in self._corrections.scan(tokens):
            line_start = found.start == 0 or "\n" in doc.text[tokens[found.start - 1].end : tokens[found.start].start]
            after = found.end
            if after < len(tokens) and tokens[after].raw == "(":
                close = next((k for k in range(after, min(after + 8, len(tokens))) if tokens[k].raw == ")"), None)
                after = after if close is None else close + 1
            if line_start or (after < len(tokens) and tokens[after].raw == ":"):
                return tokens[found.start].start
        return None

    def _combine(self, mentions: list[Mention], since: int | None = None) -> dict[str, Mention]:
        """One state per biomarker: its own mentions beat umbrella terms; present > uncertain > absent. A
        correction from character `since` on supersedes what came before about the findings it restates."""
        decided: dict[str, Mention] = {}
        by_id: dict[str, list[Mention]] = {}
        for m in mentions:
            if m.state is not None:
                by_id.setdefault(m.id, []).append(m)
        for bid in self.kb.biomarkers:
            own = by_id.get(bid, [])
            if since is not None:
                own = [m for m in own if m.span.start >= since] or own
            specific = [m for m in own if m.via is None]
            pool = specific or own
            if pool:
                decided[bid] = max(pool, key=lambda m: (_STATE_RANK[m.state], m.span.start))
        return decided

    def _stage_mentions(
        self,
        doc: Document,
        stops: list[bool],
        own_findings,
        denied: set[tuple[int, int]],
        present: frozenset[int] = frozenset(),
    ) -> list[tuple[Mention, bool]]:
        """Stated stages, each with whether it is weak (a biomarker word like "geographic atrophy",
        or a bare "AMD") so that an explicit stage statement wins over it."""
        if doc.leaves_stage_open:
            return []
        targets = [t for t in self._targets(doc, self._stages) if t[0].payloads[0][0] != "ignore"]
        if not targets:
            return []
        ctx = self._context(doc, targets, stops)
        qualifiers = list(self._qualifiers.scan(doc.tokens))
        qualifier_starts = [q.start for q in qualifiers]
        yielding = list(self._yielding.scan(doc.tokens))
        yielding_starts = [q.start for q in yielding]
        # a qualifier right after a historical cue says what the disease was ("used to be active")
        past = {t.end for t in doc.triggers if any(r.category == "historical" for r in t.rules)}
        own_stage = decision(self.kb, "stage", own_findings).id
        guard = self.rules.anatomy_guard_terms
        alternatives = self._set_against(doc, targets)
        doc.stages_set_against = bool(alternatives)
        mentions = []
        hedged: dict[tuple[int, int], set[str]] = {}  # sentence -> the stages it hedges
        queried: set[str] = set()  # stages left open by a query ("?wet AMD")
        set_aside: set[str] = set()  # stages the report denies ("intermediate AMD rather than neovascular disease")
        starts = {found.start for found, _ in targets}
        nothing_found = not any(f["state"] == "present" for f in own_findings.values())
        families = self.rules.stage_families
        # "Eligible for pegcetacoplan ... Book first injection": the report's injections are the GA treatment's
        owned = any(f.payloads[0][0] == "family" and families[f.payloads[0][1]].owns_treatment for f, _ in targets)
        for n, (found, sentence) in enumerate(targets):
            if n in alternatives or self._names_service(doc, found, sentence, starts):
                continue
            if owned and found.payloads[0][0] == "family" and families[found.payloads[0][1]].treatment:
                continue
            words = [t.norm for t in doc.tokens[found.start : found.end]]
            # "otherwise" after findings all ruled out ("no SRF - a shadow artefact. Macula otherwise unremarkable"):
            # the rest of a scan with no finding is the whole scan, healthy
            partial = nothing_found and self._after_partial(doc, found, sentence)
            if len(words) == 1 and words[0] in guard and self._near_anatomy(doc, found, sentence, partial):
                continue
            if (
                (not guard.isdisjoint(words) or found.payloads[0] == ("level", "healthy"))
                and self._after_partial(doc, found, sentence)
                and not partial
            ):
                continue  # "small drusen, otherwise normal macula" or "otherwise nad": the rest of the scan, not healthy
            if (
                found.end < sentence[1]
                and doc.tokens[found.end].norm in self.rules.anatomy_guard_partial
                and not nothing_found
            ):
                continue  # "Few hard drusen. NAD otherwise.": the same, the partial word after the statement
            assertion = self._assess(doc, ctx, found, sentence)
            if assertion.reason == "historical" and self._treated_before(doc, found, assertion):
                assertion = Assertion("present", ())  # "wet AMD, previously treated x14": the eye's care, not the past
            if assertion.state == "absent" and self._own_denial(doc, found):
                assertion = replace(assertion, state="present")  # "No DR, no AMD": the first "no" is DR's
            if assertion.state == "absent":
                kind, value = found.payloads[0]
                set_aside.update(self.rules.stage_families[value].members if kind == "family" else (value,))
            if assertion.state in (None, "absent"):
                continue
            weak = any(stops[found.start : found.end])
            if weak and (doc.tokens[found.start].start, doc.tokens[found.end - 1].end) in denied:
                continue
            section = self._section(doc, found.start)
            kind, value = found.payloads[0]
            via = None
            queried_qualifier = False
            if kind == "family":
                family = self.rules.stage_families[value]
                level_id, qualifier_end = self._qualified(qualifiers, qualifier_starts, value, found, sentence, past)
                # "Known exudative AMD ... Disease quiescent": the activity inside the disease's name is its
                # diagnosis, weak, so an activity stated of the disease today wins
                named_only = level_id is not None and qualifier_end is None
                if named_only and found.start > sentence[0] and doc.tokens[found.start - 1].norm in self._standing:
                    level_id = (
                        None  # "Known exudative AMD": the standing diagnosis, its activity left to today's findings
                    )
                # "neovascular AMD, inactive?": the activity asked is a stage asked ("Possibly early wet AMD?")
                queried_qualifier = (
                    qualifier_end is not None and qualifier_end < sentence[1] and (doc.tokens[qualifier_end].raw == "?")
                )
                if family.conclusion_only and level_id is None and (section is None or section.role != "conclusion"):
                    continue
                via = doc.text[doc.tokens[found.start].start : doc.tokens[found.end - 1].end]
                if level_id is None and family.needs_qualifier:
                    level_id = self._activity_statement(doc, qualifiers, value)
                if level_id is None:  # "Vabysmo given": a yielding qualifier, and no other activity stated
                    level_id = self._qualified(yielding, yielding_starts, value, found, sentence, past)[0]
                    if level_id is not None and not self._yields(doc, qualifiers, value, level_id, past, present):
                        level_id = None
                if level_id is None and family.needs_qualifier:
                    continue  # "started anti-VEGF" names the care, not whether the disease is active
                if level_id is None:
                    level_id = own_stage if own_stage in family.members else family.members[0]
                weak = weak or family.conclusion_only or family.weak or named_only
            else:
                level_id = value
            asked = queried_qualifier or (found.end < sentence[1] and doc.tokens[found.end].raw == "?")  # "wet AMD?"
            answer = self._answer(doc, found.end + 1, sentence[1]) if asked else None
            if answer == "present":
                mentions.append(
                    (self._mention(doc, "stage", level_id, answer, found, assertion, via=via), weak, sentence)
                )
                continue
            if answer == "absent":
                set_aside.update(self.rules.stage_families[value].members if kind == "family" else (value,))
                continue
            if (
                asked
                or (assertion.state == "uncertain" and any(self._is_open_hedge(doc, c) for c in assertion.cues))
                or (assertion.state == "present" and self._opened_by_hedge(doc, found, sentence))
            ):
                if not weak:  # a queried finding word ("?early GA") opens no stage the report names outright
                    queried.add(level_id)
                continue
            mention = self._mention(doc, "stage", level_id, assertion.state, found, assertion, via=via)
            mentions.append((mention, weak, sentence))
            if assertion.state == "uncertain":
                hedged.setdefault(sentence, set()).add(level_id)
        queried -= set_aside  # the referrer's "suspected wet AMD", set aside by the writer, opens nothing
        if queried and any(m.id not in queried for m, _, _ in mentions):
            return []  # a queried alternative to the stated stage ("iAMD; ? non-exudative MNV")
        # "possibly early, possibly intermediate AMD": two stages hedged side by side leave it open; so
        # does a hedged stage in a report torn between two ("intermediate vs late wet (MNV not excluded)")
        return [
            (m, weak)
            for m, weak, sentence in mentions
            if not (m.state == "uncertain" and (alternatives or len(hedged.get(sentence, ())) > 1))
        ]

    def _opened_by_hedge(self, doc: Document, found: Match, sentence) -> bool:
        """The stage word's clause opens with an open hedge a few words before it ("could be SHRM from a new MNV or a
        vitelliform deposit"): the possibility covers the whole clause, though a nearer word ("new") affirms it."""
        k = found.start - 1
        while k >= max(sentence[0], found.start - _HEDGED_CLAUSE_REACH):
            if doc.tokens[k].raw in _CLAUSE_MARKS or doc.tokens[k].norm in self._conclusion_words:
                return False  # "... could be a type one membrane impression active wet AMD": a dictated heading
            for t in doc.triggers:
                if t.end == k + 1 and any(r.category == "uncertain" for r in t.rules):
                    if tuple(x.norm for x in doc.tokens[t.start : t.end]) in self._open_hedges:
                        return True
            k -= 1
        return False

    def _treated_before(self, doc: Document, found: Match, assertion: Assertion) -> bool:
        """Every history cue of a wet-AMD name is a treatment history right after it ("wet AMD, previously treated")."""
        kind, value = found.payloads[0]
        if kind != "family" or "late_wet_inactive" not in self.rules.stage_families[value].members:
            return False
        return bool(assertion.cues) and all(
            c.trigger is not None
            and found.end <= c.trigger.start <= found.end + 2
            and " ".join(t.norm for t in doc.tokens[c.trigger.start : c.trigger.end]) in self.rules.treated_history
            for c in assertion.cues
        )

    def _own_denial(self, doc: Document, found: Match) -> bool:
        """A stage phrase that is a denial itself ("no AMD", "no signs of AMD"): a denial before it, of another item,
        does not turn it round."""
        return any(t.start == found.start and t.end <= found.end and negates_forward(t) for t in doc.triggers)

    def _answer(self, doc: Document, k: int, end: int) -> str | None:
        """What the words after a question mark answer: "present" ("Is this GA? A: Yes"), "absent" ("Any sign of
        MNV? A: No SHRM"), or None when they answer neither way."""
        if k + 1 < end and self._reader.is_answer_marker(doc.tokens[k]) and doc.tokens[k + 1].raw == ":":
            k += 2
        word = doc.tokens[k].norm if k < end else None
        if word in self.rules.affirmative_answers:
            return "present"
        return "absent" if word in self.rules.negative_answers else None

    def _names_service(self, doc: Document, found: Match, sentence, starts: set[int]) -> bool:
        """A stage word followed by a service word ("wet AMD clinic", "nAMD injection clinic"), across at most two
        service modifiers ("nAMD treatment clinic", "wet AMD fast-track protocol")."""
        if found.end - found.start == 1 and doc.tokens[found.start].norm in self.rules.anatomy_guard_terms:
            return False  # "Normal study": a radiologist's normal scan, no study the patient is in
        services = self.rules.service_words
        k = found.end
        if k < sentence[1] and k in starts and k + 1 < sentence[1]:
            k += 1  # across one more stage word ("nAMD injection clinic")
        for _ in range(2):
            if k + 1 < sentence[1] and doc.tokens[k].norm in self._service_modifiers:
                k += 1
        return k < sentence[1] and doc.tokens[k].norm in services

    def _is_open_hedge(self, doc: Document, cue) -> bool:
        if cue.category != "uncertain" or cue.trigger is None:
            return False
        words = tuple(t.norm for t in doc.tokens[cue.trigger.start : cue.trigger.end])
        # a stage set against something that is no stage, right next to it ("?DMO vs nAMD", "PCV vs nAMD")
        return words in self._open_hedges or (cue.distance <= 1 and words[0] in self._alternatives)

    def _set_against(self, doc: Document, targets) -> set[int]:
        """Indices of stage statements set against another ("intermediate AMD vs non-exudative MNV",
        "early or intermediate AMD", "either intermediate AMD with a drusenoid PED or type 1 MNV"): the
        writer has not decided between them."""
        out = set()
        for n in range(len(targets) - 1):
            (a, sentence), (b, other) = targets[n], targets[n + 1]
            if sentence != other or a.payloads == b.payloads:
                continue
            between = [t for t in doc.tokens[a.end : b.start] if t.is_word or t.raw == "/"]
            joined = any(t.norm in self._alternatives for t in between)
            others = [t for t in between if t.norm not in self._alternatives and t.norm not in self.rules.list_words]
            correlated = any(t.norm in self._correlatives for t in doc.tokens[sentence[0] : a.start])
            if joined and (correlated or len(others) <= self.rules.stage_alternative_gap):
                out.update((n, n + 1))
        starts = {found.start: found for found, _ in targets}
        out.update(
            n for n, (found, sentence) in enumerate(targets) if self._against_bare_stage(doc, found, sentence, starts)
        )
        return out

    def _against_bare_stage(self, doc: Document, found: Match, sentence, starts: dict[int, Match]) -> bool:
        """A stage joined to a bare stage word of another stage ("intermediate vs late wet", "late wet
        or intermediate", across one describing word: "Intermediate vs non-exudative nAMD"), or the start of a
        range ("early to intermediate AMD", "normal to GA")."""
        joiners = self._alternatives | self._ranges
        own = {value for kind, value in found.payloads if kind == "level"}
        bare_self = found.end - found.start == 1 and doc.tokens[found.start].norm in self._bare_stages
        words = [k for k in range(*sentence) if doc.tokens[k].is_word or doc.tokens[k].raw == "/"]
        words = [k for k in words if doc.tokens[k].norm not in self.rules.list_words or doc.tokens[k].norm in joiners]
        at = bisect.bisect_left(words, found.start)
        after = bisect.bisect_left(words, found.end)
        pairs = [(at - 1, at - 2), (after, after + 1)]
        if at >= 3 and words[at - 1] not in starts:
            pairs.append((at - 2, at - 3))  # an alternative only, not a range
        for joiner, bare in pairs:
            if not (0 <= bare < len(words) and 0 <= joiner < len(words)):
                continue
            join = doc.tokens[words[joiner]].norm
            ranged = joiner != at - 2 and join in self._ranges and (bare < joiner or bare_self)
            if join not in self._alternatives and not ranged:
                continue
            other = {self._bare_stages.get(doc.tokens[words[bare]].norm)}
            if bare > joiner and bare_self and words[bare] in starts:
                other |= {value for _, value in starts[words[bare]].payloads}
            if other - own - {None}:
                return True
        return False

    def _qualified(
        self, qualifiers: list[Match], starts: list[int], family_index: int, found: Match, sentence, past: set[int]
    ) -> tuple[str | None, int | None]:
        """The member a qualifier next to a stage-family word picks ("wet AMD, inactive"), and where that
        qualifier ends, unless it follows a historical cue ("where the wet AMD used to be active"). A qualifier
        inside the word itself ("exudative AMD") counts only when none stands next to it ("Exudative AMD,
        inactive": inactive)."""
        lo, hi = max(sentence[0], found.start - 3), min(sentence[1], found.end + 4)
        own = None
        for q in qualifiers[bisect.bisect_left(starts, lo) : bisect.bisect_left(starts, hi)]:
            # a qualifier begun within the window counts whole ("disciform scar, no signs of activity on OCT")
            if not any(k in past for k in range(q.start - 2, q.start + 1)):
                for index, member in q.payloads:
                    if index == family_index:
                        if found.start <= q.start and q.end <= found.end:
                            own = own or member
                            break
                        return member, q.end
        return own, None

    def _yields(
        self,
        doc: Document,
        qualifiers: list[Match],
        family_index: int,
        member: str,
        past: set[int],
        present: frozenset[int] = frozenset(),
    ) -> bool:
        """A yielding qualifier ("Aflibercept given") counts only when the report names no other activity of the
        family today: no qualifier of another member ("given today. Active, stable."), none denied ("No active
        exudation seen"); an earlier state ("new IRF (was dry)") does not count, nor a finding's own stability
        ("trace SRF, stable x3 visits", "persistent SRF, stable height": `present` holds the present findings' tokens)."""
        denied = [(t.start, t.end) for t in doc.triggers if any(r.category == "negated" for r in t.rules)]
        for q in qualifiers:
            if any(k in past for k in range(q.start - 2, q.start + 1)):
                continue
            if self._finding_stability(doc, q, present):
                continue
            for index, named in q.payloads:
                if index == family_index and (named != member or any(a <= q.start <= b for a, b in denied)):
                    return False
        return True

    def _finding_stability(self, doc: Document, q: Match, present: frozenset[int]) -> bool:
        """A stability word that describes a present finding: right after it ("trace SRF, stable x3 visits") or
        before the finding's measure ("stable height"), not the disease's activity."""
        if q.end - q.start != 1 or doc.tokens[q.start].norm not in self.rules.finding_stability:
            return False
        if q.end < len(doc.tokens) and doc.tokens[q.end].norm in self.rules.finding_measures:
            return True
        return any(k in present for k in range(max(0, q.start - self.rules.finding_stability_reach), q.start))

    def _activity_statement(self, doc: Document, qualifiers: list[Match], family_index: int) -> str | None:
        """A sentence made only of one family's qualifiers ("Faricimab #12. Stable, inactive.") states
        the member; a qualifier inside a longer sentence ("no active exudation") does not."""
        covered: dict[int, str] = {}
        for q in qualifiers:
            for index, member in q.payloads:
                if index == family_index:
                    covered.update((k, member) for k in range(q.start, q.end))
        for start, end in doc.sentences:
            words = [k for k in range(start, end) if doc.tokens[k].is_word]
            members = {covered.get(k) for k in words if doc.tokens[k].norm not in self.rules.list_words}
            if words and None not in members and len(members) == 1 and (start, end) not in doc.other_eye:
                return members.pop()
        return None

    def _after_partial(self, doc: Document, found: Match, sentence) -> bool:
        lo = max(sentence[0], found.start - self.rules.anatomy_guard_window)
        return any(doc.tokens[k].norm in self.rules.anatomy_guard_partial for k in range(lo, found.start))

    def _near_anatomy(self, doc: Document, found: Match, sentence, partial_whole: bool = False) -> bool:
        """An anatomy word next to a normal word ("normal foveal contour"); `partial_whole`: "otherwise" is no
        anatomy word here (nothing else was found)."""
        window = self.rules.anatomy_guard_window
        lo, hi = max(sentence[0], found.start - window), min(sentence[1], found.end + window)
        return any(
            doc.tokens[k].norm in self.rules.anatomy_guard_words
            and not (partial_whole and doc.tokens[k].norm in self.rules.anatomy_guard_partial)
            for k in range(lo, hi)
        )

    def _placed(self, doc: Document, targets) -> list[tuple[Match, tuple[int, int]]]:
        """An umbrella term followed by where it lies becomes the biomarkers of those places ("fluid under
        and within the retina" = SRF and IRF, "fluid sub & intra")."""
        placed = self.rules.placed
        if placed is None:
            return targets
        out = []
        for found, sentence in targets:
            payload = found.payloads[0]
            if payload[0] == "group" and payload[2] == placed.group:
                found = self._place(doc, found, sentence, placed)
            out.append((found, sentence))
        return out

    def _place(self, doc: Document, found: Match, sentence, placed) -> Match:
        tokens, k, places, last = doc.tokens, found.end, [], None
        while k < sentence[1] and tokens[k].norm in placed.shapes:  # "fluid pockets under the retina"
            k += 1
        while k < sentence[1]:
            if tokens[k].norm in self._place_words:
                places.append((k, self._place_words[tokens[k].norm]))
                last = k
            elif not (places and tokens[k].norm in _COORDINATORS):
                break
            k += 1
        if last is None:
            return found
        k, words = last + 1, 0
        while k < sentence[1] and words <= placed.window:
            structure = self._structures.match_at(tokens, k)
            if structure is not None:
                named = structure.payloads[0]
                bids = {p.biomarker for _, ps in places for p in ps if named in p.structures}
                if not bids:
                    return found
                end = structure.end
                more = self._second_place(doc, end, sentence, placed)
                if more is not None:  # "fluid within the retina and under the retina"
                    end, second = more
                    bids |= second
                ids = tuple(b for b in self.kb.biomarkers if b in bids)
                return Match(found.start, end, (("biomarker", ids),))
            if not tokens[k].is_word:
                break
            words += tokens[k].norm not in self.rules.list_words
            k += 1
        # prefixes standing alone ("fluid sub & intra"): the item ends after them
        if all(tokens[i].norm in placed.prefixes for i, _ in places) and (
            last + 1 >= sentence[1] or not tokens[last + 1].is_word
        ):
            ids = tuple(b for b in self.kb.biomarkers if any(p.biomarker == b for _, ps in places for p in ps))
            return Match(found.start, last + 1, (("biomarker", ids),))
        return found

    def _second_place(self, doc: Document, k: int, sentence, placed) -> tuple[int, set[str]] | None:
        """A second place joined to the first ("within the retina and under the retina"): where it ends and its
        biomarkers, or None."""
        tokens = doc.tokens
        if not (k < sentence[1] and tokens[k].norm in _COORDINATORS):
            return None
        k += 1
        while k < sentence[1] and tokens[k].norm in placed.additives:  # "under the retina and also in the retina"
            k += 1
        if not (k < sentence[1] and tokens[k].norm in self._place_words):
            return None
        place, j, words = self._place_words[tokens[k].norm], k + 1, 0
        while j < sentence[1] and words <= placed.window and tokens[j].is_word:
            structure = self._structures.match_at(tokens, j)
            if structure is not None:
                bids = {p.biomarker for p in place if structure.payloads[0] in p.structures}
                return (structure.end, bids) if bids else None
            words += tokens[j].norm not in self.rules.list_words
            j += 1
        return None

    def _anchored(self, doc: Document, targets) -> list[tuple[Match, tuple[int, int]]]:
        """Anchored words ("irregular") become findings when their anchor ("RPE") is near, else nothing."""
        covered = set()
        for found, _ in targets:
            if found.payloads[0][0] != "anchored":
                covered.update(range(found.start, found.end))
        out = []
        for found, sentence in targets:
            kind, *rest = found.payloads[0]
            if kind != "anchored":
                out.append((found, sentence))
                continue
            bid, state, index = rest
            group = self.rules.anchored[index]
            lo, hi = max(sentence[0], found.start - group.window), min(sentence[1], found.end + group.window)
            # another finding between the word and its anchor has it ("OCT normal - no drusen, RPE smooth": "normal"
            # is the scan's, not the RPE's)
            if any(
                doc.tokens[k].norm in group.anchors
                and k not in covered
                and (
                    covered.isdisjoint(range(min(k, found.end), max(k, found.start)))
                    # "The RPE over the drusen is irregular": the finding only places the anchor
                    or (k < found.start and k + 1 < found.start and doc.tokens[k + 1].norm in group.places)
                )
                for k in range(lo, hi)
            ):
                payload = ("biomarker", (bid,)) if state == "present" else ("absence", (bid,), bid, "anchored")
                out.append((Match(found.start, found.end, (payload,)), sentence))
        return out

    def _heading_value_mentions(self, doc: Document, kind: str) -> list[tuple[Mention, bool]]:
        """A plan or conclusion line holding only a value word: "Referral: none", "Stage: early"."""
        levels = self.kb.referral_ids if kind == "referral" else self.kb.stage_ids
        mentions = []
        for start, end in doc.sentences:
            section = self._section(doc, start)
            values = self._heading_values.get(section.role) if section else None
            if not values:
                continue
            # a grading scheme's code with its stage in brackets ("Grade: R2 (intermediate)", "AMD grade: E (early)"):
            # the bracket holds the value
            if (
                section.role == "conclusion"
                and start + 2 < end
                and doc.tokens[start + 1].raw == "("
                and _GRADE_CODE.fullmatch(doc.tokens[start].raw)
            ):
                start += 2
                end = next((k for k in range(start, end) if doc.tokens[k].raw == ")"), end)
            # a parenthesis after the value comments on it ("Activity: inactive (dry since last visit)")
            end = next((k for k in range(start + 1, end) if doc.tokens[k].raw == "("), end)
            words = tuple(t.norm for t in doc.tokens[start:end] if t.is_word or t.raw == "-")
            level_id = values.get(words)
            if (
                level_id is None
                and kind == "stage"
                and words in self._activity_values
                and self._activity_field(doc, start)
            ):
                level_id = self._activity_values[words]
            if level_id in levels and (start, end) not in doc.other_eye:
                found = Match(start, end, ())
                mentions.append((self._mention(doc, kind, level_id, "present", found, Assertion("present", ())), False))
        return mentions

    def _activity_field(self, doc: Document, start: int) -> bool:
        """The value at `start` is an activity field's ("Activity: none (dry)", "Disease activity: absent")."""
        if start < 2 or doc.tokens[start - 1].raw != ":":
            return False
        words = tuple(t.norm for t in doc.tokens[max(0, start - 4) : start - 1])
        return any(words[-n:] in self._activity_headings for n in range(1, len(words) + 1))

    def _plan_interval_mentions(self, doc: Document, stops) -> list[tuple[Mention, bool]]:
        """A plan field whose value is a bare interval ("Follow-up: 12 months in GA clinic", "Review: 6/12"): its
        heading is the visit word, so the value is a follow-up read by its length; with no other referral statement,
        no test named after it ("Plan: 6/12 OCT" is a repeat scan) and no treatment (the treatment's own review)."""
        units = self.rules.interval_units
        for start, end in doc.sentences:
            section = self._section(doc, start)
            if section is None or section.role != "plan" or (start, end) in doc.other_eye:
                continue
            number = _INTERVAL.fullmatch(doc.tokens[start].norm)
            if number is None:
                continue
            rest = start + 1
            unit = number.group(3)
            if not unit and rest + 1 < end and doc.tokens[rest].raw == "/":
                unit, rest = doc.tokens[rest + 1].raw, rest + 2
            elif not unit and rest < end:
                unit, rest = doc.tokens[rest].norm, rest + 1
            days = units.get(unit.lower())
            if days is None or any(doc.tokens[k].norm in self._visit_tests for k in range(rest, end)):
                continue
            if self._under_treatment(doc, stops):
                return []
            short = int(number.group(2) or number.group(1)) * days <= self.rules.interval_urgent_days
            found = Match(start, rest, ())
            level_id = "urgent" if short else "routine"
            return [(self._mention(doc, "referral", level_id, "present", found, Assertion("present", ())), True)]
        return []

    def _verdict_mentions(self, doc: Document) -> list[tuple[Mention, bool]]:
        """A bare stage word after a verdict marker ("-> inactive", "I'd call it intermediate", "in my
        opinion, inactive"), outside the other eye's sentences."""
        values = self._heading_values.get("conclusion", {})
        verdicts = self._verdicts.may_match(doc.norms, doc.raws)
        mentions = []
        for sentence in doc.sentences:
            if sentence in doc.other_eye:
                continue
            # a sentence or list item that is only an activity word is a verdict of its own ("Residual flat
            # SHRM. Inactive.", "Assessment: scar, no fluid, inactive"); an item is weak, so a stage stated
            # elsewhere wins ("Intermediate AMD. Faricimab #12, inactive.")
            item_start = sentence[0]
            for k in range(sentence[0], sentence[1] + 1):
                if k < sentence[1] and doc.tokens[k].raw not in _VERDICT_ITEM_ENDS:
                    continue
                # an item longer than any verdict phrase (with a mark between each word) is none
                too_long = k - item_start > 2 * self._verdict_words
                head = tuple(
                    t.norm
                    for t in doc.tokens[item_start : min(k, item_start + 2 * self._verdict_words + 1)]
                    if t.is_word
                )
                if len(head) > 1 and head[0] in self._eye_marks:
                    head = head[1:]  # "LE quiescent, no SRF/IRF": the eye's verdict
                elif len(head) > 2 and head[:2] in self._eye_mark_pairs:
                    head = head[2:]  # "L eye inactive, 12/52 again"
                words = () if too_long else head
                level_id = self._verdict_sentences.get(words)
                if level_id is None and self.rules.verdict_spans.intersection(head[1:]):
                    # "Inactive for 3 consecutive visits at 16 weeks": the verdict before the time it has held
                    cut = next(j for j in range(1, len(head)) if head[j] in self.rules.verdict_spans)
                    level_id = self._verdict_sentences.get(head[:cut])
                asked = k > item_start and doc.tokens[k - 1].raw == "?"  # "wet AMD, active?": a question, no verdict
                if (
                    level_id is not None
                    and not asked
                    and not any(
                        member != level_id
                        for q in self._qualifiers.scan(doc.tokens, *sentence)
                        if not item_start <= q.start < k
                        for _, member in q.payloads
                    )
                ):  # the sentence's other items agree ("Active, stable." says neither)
                    found = Match(item_start, k, ())
                    assertion = Assertion("present", ())
                    whole = (item_start, k) == sentence
                    mentions.append((self._mention(doc, "stage", level_id, "present", found, assertion), not whole))
                item_start = k + 1
            for marker in self._verdicts.scan(doc.tokens, *sentence) if verdicts else ():
                start = marker.end + (marker.end < sentence[1] and doc.tokens[marker.end].raw == ",")
                end = start
                while end < min(sentence[1], start + 3) and doc.tokens[end].is_word:
                    end += 1
                for stop in range(end, start, -1):
                    level_id = values.get(tuple(t.norm for t in doc.tokens[start:stop]))
                    if level_id in self.kb.stage_ids:
                        if stop < sentence[1] and doc.tokens[stop].norm in self._alternatives:
                            break  # "the stage is intermediate or late dry": set against another, left open
                        found = Match(start, stop, ())
                        assertion = Assertion("present", ())
                        mentions.append((self._mention(doc, "stage", level_id, "present", found, assertion), False))
                        break
        return mentions

    def _referral_mentions(
        self, doc: Document, stops, stage: Mention | None, active: bool = False
    ) -> list[tuple[Mention, bool]]:
        """Stated referral levels. A follow-up venue or interval ("RTC 6 months", "MR clinic") is a weak
        routine; hospital care denied ("no need for HES", "does not need hospital follow-up") a weak
        none; "routine" or a follow-up next to community care ("routine recall in practice", "F/u 1 yr w/
        optometry") is none. A treatment schedule kept or lengthened ("extend to 12 weeks") is a weak routine of
        an inactive eye's own clinic, or of a treated eye whose activity the writer leaves open ("Activity uncertain.
        Keep interval at 8 weeks") or that names no stage and no `active` finding ("SRF resolved ... Next injection 8
        weeks"); with active disease the plan is the treatment, which states no referral.
        Two levels set against each other ("routine or 2ww?") leave it undecided."""
        targets = self._interval_targets(doc, self._targets(doc, self._referrals))
        if not targets:
            return []
        ctx = self._context(doc, targets, stops)
        window, community = self.rules.community_window, self.rules.community_care
        referral_words = {k for found, _ in targets for k in range(found.start, found.end)}
        mentions = []
        placed = []  # (sentence, found) of each mention
        standing = set()  # indices of new referrals declined: they yield to any other statement
        already = set()  # indices of referrals declined beside care the patient already has: they yield to its visit
        intervals = set()  # indices of visits read from an interval apart: they yield to any other but those
        treated = None
        signature = self._signature_start(doc)
        paperwork: dict[tuple[int, int], bool] = {}
        any_paperwork = self._paperwork.may_match(doc.norms, doc.written, doc.caseless)
        denied_end = None  # where the last follow-up stated as none ends: a venue right after it is its own
        # "Agreed: shorten to 10 wks": a schedule shortened is the plan; one kept or lengthened elsewhere yields to it
        shortened = any(found.payloads[0][0] == "shortened" for found, _ in targets)
        for found, sentence in targets:
            assertion = self._assess(doc, ctx, found, sentence, plan=True)
            if assertion.reason == "about the other eye" and self._other_eye_as_reason(doc, found, assertion):
                assertion = Assertion("present", ())  # "Referral: routine, given fellow-eye nAMD": the reason
            kind, level_id = found.payloads[0]
            apart = kind == "interval"
            if apart:
                kind = "weak"  # "New control at the clinic in 12 months": a follow-up, read by its length
            if doc.tokens[sentence[0]].norm in self.rules.conditional_openers and not self._pseudo_at(doc, sentence[0]):
                continue  # "If he develops new distortion, refer via the fast-track pathway": not today's plan
            if found.start >= signature:
                continue  # who signs a letter ("Best wishes, Eye Clinic, Royal Hospital"; "Yours sincerely, Community
                # Optometrist") is no plan
            if any_paperwork and kind != "care" and sentence not in paperwork:
                paperwork[sentence] = next(self._paperwork.scan(doc.tokens, *sentence), None) is not None
            if any_paperwork and kind != "care" and paperwork[sentence]:
                continue  # "URGENT: CVI certificate to be completed today": urgency of paperwork, not of care
            if (
                kind in ("ignore", "shortened")
                or (kind == "schedule" and shortened)
                or (
                    kind == "level"
                    and (
                        self._predicate_of_another(doc, found, sentence, referral_words)
                        or self._visit_place(doc, found, sentence)
                    )
                )
            ):
                continue
            if kind == "next_dose":
                if stage is None or stage.id not in self.rules.schedule_stages:
                    continue  # the next dose is the kept schedule of a stated inactive eye only ("Eylea today. Next
                    # injection in 8 weeks" names the treatment's own review, no referral)
                kind = "schedule"
            if kind == "schedule" and not (
                stage.id in self.rules.schedule_stages
                or (stage.id in self.rules.schedule_treated_stages and self._under_treatment(doc, stops))
                if stage is not None
                else (doc.leaves_stage_open or doc.stages_set_against or not active)
                and self._under_treatment(doc, stops)
            ):
                continue  # kept for an inactive eye, or one whose activity the writer leaves open ("Activity uncertain",
                # "Inactive vs early reactivation. Keep interval at 8 weeks")
            if kind == "weak" and level_id == "routine" and self._venue_of(doc, found, sentence, denied_end):
                continue  # "No follow-up needed in our clinic": where the follow-up denied would have been
            if kind == "weak" and level_id == "routine" and assertion.state == "absent":
                kind = "care"  # a follow-up denied ("no f/u needed with retina") is hospital care denied: none
            short = kind == "weak" and level_id == "routine" and self._short_interval(doc, found, sentence)
            if kind == "weak" and not short:  # a treatment within a time frame is urgent ("injection within 5 days")
                treated = self._under_treatment(doc, stops) if treated is None else treated
                # a visit at an interval of an inactive eye, or of a treated GA eye ("She will return in 4 weeks for
                # her first [pegcetacoplan] injection"), is its clinic's review; of an active one, the treatment's
                if treated and not (
                    stage is not None
                    and (stage.id in self.rules.schedule_stages or stage.id in self.rules.schedule_treated_stages)
                ):
                    continue
            if kind == "care":
                if assertion.state == "absent":
                    if (
                        found.start > sentence[0] and doc.tokens[found.start - 1].norm in self.rules.standing_care
                    ) or self._for_now(doc, found, sentence):
                        standing.add(len(mentions))  # "no new referral needed": the care the patient has stands
                    if self._already_under(doc, sentence):
                        already.add(len(mentions))
                    mentions.append((self._mention(doc, "referral", "none", "present", found, assertion), True))
                    placed.append((sentence, found))
                    denied_end = found.end
                continue
            if assertion.state in (None, "absent"):
                continue
            if short:
                level_id = "urgent"  # "review in 1 week": an interval under the urgent level's time frame
            # not "routine referral", which an optometrist writes for the hospital
            # and not a schedule kept in community monitoring ("Continue monitoring in the community shared-care
            # scheme at 4-monthly intervals")
            if level_id == "routine" and (
                kind in ("weak", "schedule")
                or (
                    kind == "level"
                    and found.end - found.start == 1
                    and not any(
                        doc.tokens[k].norm in self.rules.referred_care
                        for k in range(found.end, min(sentence[1], found.end + 3))
                    )
                )
            ):
                lo, hi = max(sentence[0], found.start - window), min(sentence[1], found.end + window)
                own = self.rules.own_care  # "at our practice" is the writer's own, not community care
                aside = self.rules.set_aside_care  # "rather than in the community" is the care turned down
                if any(
                    (
                        doc.tokens[k].norm in community
                        or (k + 1 < hi and (doc.tokens[k].norm, doc.tokens[k + 1].norm) in self._community_pairs)
                    )
                    and not (k > 0 and doc.tokens[k - 1].norm in own)
                    and not self._hosts_clinic(doc, k)
                    and not any(doc.tokens[n].norm in aside for n in range(found.end, k))
                    for k in range(lo, hi)
                ):
                    level_id = "none"
            if apart:
                intervals.add(len(mentions))
            if level_id == "none":
                denied_end = found.end
                if self._already_under(doc, sentence):
                    already.add(len(mentions))
                # "... with his optometrist in the meantime" or "in the meantime ... with her optometrist": beside a review
                if any(
                    doc.tokens[k].norm in self.rules.interim_care for k in range(sentence[0], sentence[1])
                ) or self._for_now(doc, found, sentence):
                    standing.add(len(mentions))
            mentions.append(
                (self._mention(doc, "referral", level_id, assertion.state, found, assertion), kind != "level")
            )
            placed.append((sentence, found))
        undecided = self._referrals_set_against(doc, [m for m, _ in mentions], placed)
        # "discharged from our injection service; referral letter to the Glasgow MR service": a transfer of care
        if self._transfers.may_match(doc.norms, doc.written, doc.caseless) and next(
            self._transfers.scan(doc.tokens), None
        ):
            standing |= {n for n, (m, _) in enumerate(mentions) if m.id == "none"}
        # "Already under MR clinic with appointment in March - no HES referral sent": beside a visit kept in the same
        # sentence the decline stands like "no new referral" (round 15's booked-review case); alone, or beside a
        # clinic named elsewhere, it is the plan
        standing |= {
            n
            for n in already
            if any(placed[m][0] == placed[n][0] and mentions[m][0].id != "none" for m in range(len(mentions)))
        }
        # the weakest readings yield: a visit read from its interval to any other statement ("No need to send him in;
        # I'll see him in 2 years"), a new referral declined to any visit ("next visit in 3 months - no new referral
        # needed")
        if len(standing | intervals) < len(mentions):
            undecided |= standing | intervals
        elif len(standing) < len(mentions):
            undecided |= standing
        return [pair for n, pair in enumerate(mentions) if n not in undecided]

    def _other_eye_as_reason(self, doc: Document, found: Match, assertion: Assertion) -> bool:
        """Every fellow-eye cue of a referral comes after it, right after a word giving the reason ("Referral: routine,
        given fellow-eye nAMD", "because of the fellow eye's history"): the other eye is why, not whose plan."""
        return bool(assertion.cues) and all(
            c.trigger is not None
            and c.trigger.start > found.end
            and any(
                doc.tokens[k].norm in self.rules.reason_words
                for k in range(max(found.end, c.trigger.start - 3), c.trigger.start)
            )
            for c in assertion.cues
        )

    def _for_now(self, doc: Document, found: Match, sentence) -> bool:
        """A referral declined for now ("No retina referral at this time"): a visit the report keeps is the plan."""
        return any(
            doc.tokens[k].norm in self.rules.standing_now for k in range(found.end, min(sentence[1], found.end + 3))
        )

    def _already_under(self, doc: Document, sentence) -> bool:
        """A sentence about care the patient already has ("Already under MR clinic with appointment in March - no HES
        referral sent"): a referral declined in it stands, and a visit the report keeps is the plan."""
        return any(doc.tokens[k].norm in self.rules.standing_already for k in range(*sentence))

    def _venue_of(self, doc: Document, found: Match, sentence, denied_end: int | None) -> bool:
        """A clinic named right after a follow-up stated as none, with only place words between ("No follow-up
        needed in our clinic", "follow-up not required at the eye clinic"): the venue of that follow-up."""
        if denied_end is None or not sentence[0] <= denied_end <= found.start:
            return False
        return all(doc.tokens[k].norm in self._venue_links for k in range(denied_end, found.start))

    def _pseudo_at(self, doc: Document, k: int) -> bool:
        """A pseudo-trigger starts at token k: "If this were my call, I'd suggest ..." is no condition."""
        return any(t.start == k and any(r.category == "pseudo" for r in t.rules) for t in doc.triggers)

    def _short_interval(self, doc: Document, found: Match, sentence) -> bool:
        """A follow-up phrase whose interval ("review in 1 week", "see in 1/52", "review 10 days") is no longer
        than the urgent level's time frame; the first number or weekday in or just after the phrase sets it."""
        units = self.rules.interval_units
        end = min(found.end + 3, sentence[1])
        for k in range(found.start, end):
            raw = doc.tokens[k].norm  # folded, not joined: a range keeps its hyphen ("1-2 weeks" is not 12)
            if raw in self.rules.interval_weekdays:  # "review with ICG on Friday": a day of this or next week
                # but not past a comma: "Macular Clinic, Thursday list" names the clinic's session, not when
                return not any(doc.tokens[n].raw == "," for n in range(found.end, k))
            number = _INTERVAL.fullmatch(raw)
            if number is None and raw in self.rules.interval_numbers:  # "see in two weeks", "in a week"
                number = _INTERVAL.fullmatch(str(self.rules.interval_numbers[raw]))
            if number is None:
                continue
            unit = number.group(3)
            if not unit and k + 1 < end:
                unit = doc.tokens[k + 2].raw if doc.tokens[k + 1].raw == "/" and k + 2 < end else doc.tokens[k + 1].norm
            days = units.get(unit.lower())
            return (
                days is not None and int(number.group(2) or number.group(1)) * days <= self.rules.interval_urgent_days
            )
        return False

    def _interval_targets(self, doc: Document, targets):
        """Referral targets with the intervals that stand after a visit word where no referral phrase is ("repeat
        OCT in 3 months" names a test; "refer for FFA in 1-2 weeks" keeps the knowledge base's "1-2 weeks")."""
        if self._visit_words.isdisjoint(doc.norms):
            return targets
        extra = [
            (found, sentence)
            for found, sentence in self._targets(doc, self._intervals)
            if self._visit_before(doc, found, sentence)
            and not any(found.start < other.end and other.start < found.end for other, _ in targets)
        ]
        return sorted(targets + extra, key=lambda pair: pair[0].start) if extra else targets

    def _visit_before(self, doc: Document, found: Match, sentence) -> bool:
        """A visit word shortly before an interval in its clause ("New control at the clinic in 12 months", "come
        back to see us in 6 months", "Review at outreach next year"), with no test between ("follow-up with OCTA
        in 3 months" names a repeat scan)."""
        for k in range(found.start - 1, max(sentence[0], found.start - self.rules.visit_gap - 1) - 1, -1):
            token = doc.tokens[k]
            if token.raw == "." and k > sentence[0] and doc.tokens[k - 1].norm in NO_SPLIT_AFTER:
                continue  # a title's full stop ("return to see Dr. Cohen in 6 months") is inside the clause
            if token.raw == "/" and k > sentence[0] and doc.tokens[k - 1].is_word:
                continue  # a slash between words joins alternatives of the visit ("Review SOS / after 6 months")
            if not token.is_word or token.norm in self._visit_tests:
                return False
            if token.norm in self._visit_words:
                return True
        return False

    def _signature_start(self, doc: Document) -> int:
        """The first token after a letter's closing ("Best wishes," or "Kind regards" ending its line), or the
        report's end: what follows signs the letter."""
        if not self._closings.may_match(doc.norms, doc.written, doc.caseless):
            return len(doc.tokens)
        for found in self._closings.scan(doc.tokens):
            after = doc.tokens[found.end] if found.end < len(doc.tokens) else None
            if after is None or after.raw == "," or "\n" in doc.text[doc.tokens[found.end - 1].end : after.start]:
                return found.end
        return len(doc.tokens)

    def _visit_place(self, doc: Document, found: Match, sentence) -> bool:
        """A level word naming the clinic a visit was in ("I saw her in the rapid access macular clinic today")."""
        k = found.start
        if k - 2 < sentence[0] or f"{doc.tokens[k - 2].norm} {doc.tokens[k - 1].norm}" not in self.rules.visit_places:
            return False
        if k - 4 >= sentence[0] and f"{doc.tokens[k - 4].norm} {doc.tokens[k - 3].norm}" in self.rules.requested_visits:
            return False  # "he could be seen in the rapid access clinic": a visit asked for, the referral itself
        services = self.rules.service_words
        return any(doc.tokens[n].norm in services for n in range(found.end, min(found.end + 2, sentence[1])))

    def _predicate_of_another(self, doc: Document, found: Match, sentence, referral_words: set[int]) -> bool:
        """A bare predicate ("not required") whose subject is no referral word ("Adjudication: not required")."""
        if doc.tokens[found.start].norm not in self._referral_predicate_starts or (
            tuple(t.norm for t in doc.tokens[found.start : found.end]) not in self._referral_predicates
        ):
            return False
        k = found.start - 1
        while k >= sentence[0] and (
            doc.tokens[k].raw in (":", "-", "–") or doc.tokens[k].norm in self.rules.referral_copulas
        ):
            k -= 1
        return k >= sentence[0] and doc.tokens[k].is_word and k not in referral_words

    def _referrals_set_against(self, doc: Document, mentions: list[Mention], placed) -> set[int]:
        """Indices of referral levels joined to a different one by an alternative word across a few words."""
        out = set()
        for n in range(len(mentions) - 1):
            (sentence, a), (other, b) = placed[n], placed[n + 1]
            if sentence != other or mentions[n].id == mentions[n + 1].id:
                continue
            between = [t for t in doc.tokens[a.end : b.start] if t.is_word]
            joined = [t for t in between if t.norm in self.rules.referral_alternatives]
            if joined and len(between) - len(joined) <= self.rules.referral_alternative_gap:
                out.update((n, n + 1))
        return out

    def _hosts_clinic(self, doc: Document, k: int) -> bool:
        """The community word at k is followed by the hospital clinic it hosts ("refer to polyclinic eye clinic,
        non-urgent"): that clinic is the care named, not the community."""
        return any(
            tuple(t.norm for t in doc.tokens[k + 1 : k + 1 + len(words)]) == words for words in self._hosted_care
        )

    def _under_treatment(self, doc: Document, stops) -> bool:
        """The report names a treatment given or planned ("Eylea 2 mg given today"), not denied, nor a service
        named by it ("Injection clinic, right eye", "discharge from injection service": a place, no dose)."""
        targets = [t for t in self._targets(doc, self._treatments) if "treatment" in t[0].payloads]
        starts = {found.start for found, _ in targets}
        targets = [t for t in targets if not self._names_service(doc, t[0], t[1], starts)]
        if not targets:
            return False
        ctx = self._context(doc, targets, stops)
        return any(self._assess(doc, ctx, found, sentence).state == "present" for found, sentence in targets)

    def _level_mentions(self, doc: Document, table: PhraseTable, kind: str, stops) -> list[tuple[Mention, bool]]:
        targets = self._targets(doc, table)
        if not targets:  # no context to build
            return []
        ctx = self._context(doc, targets, stops)
        mentions = []
        for found, sentence in targets:
            assertion = self._assess(doc, ctx, found, sentence)
            if assertion.state in (None, "absent"):
                continue
            mentions.append((self._mention(doc, kind, found.payloads[0][1], assertion.state, found, assertion), False))
        return mentions


# a size: a number with its unit attached ("63µm") or apart ("63 µm")
# a grading scheme's code for a stage ("R2", "E", "G3"), one letter and up to two digits
_GRADE_CODE = re.compile(r"[A-Za-z]\d{0,2}")
_SIZE = re.compile(r"\d+(?:[.,]\d+)?(\D*)")


# a follow-up interval's number: "2", "4-6" (the longer end counts), "6mo" (its unit attached)
_INTERVAL = re.compile(r"~?(\d+)(?:[-–](\d+))?([a-z]*)")


def _single_words(norm: Normalizer, words, where: str) -> frozenset[str]:
    """Words folded as the tokens are; each must be one token."""
    out = set()
    for word in words:
        phrase = norm.phrase(word)
        if len(phrase) != 1:
            raise ValueError(f"context rules: {where} holds {word!r}, which is not one word")
        out.add(phrase[0])
    return frozenset(out)


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def _own_id(level_id: str) -> tuple[str, ...]:
    """The knowledge base's snake_case id as models and structured outputs write it ("late_dry",
    "rpe_atrophy"); a plain-word id ("early") is an ordinary word and is not a name by itself."""
    return (level_id,) if "_" in level_id else ()
