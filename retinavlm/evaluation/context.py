"""ConText (Harkema et al. 2009) over tokens: which triggers reach a target, and what they make of it.

A trigger ("no", "possible", "previously", "fellow eye") reaches targets in its direction until the
sentence ends, a terminator ("but", "however") intervenes, or its scope (in ordinary words) runs
out. Two axes are then resolved per target:
- existence: the closest of negated / uncertain / affirmed decides absent / uncertain / present
  (present when none reaches);
- context: other-eye always, hypothetical unless an existence cue is at least as close, and
  historical unless a "current" cue also reaches, make the mention say nothing about this scan.
A "label: value" line ("SRF: absent", "Is there IRF? No") lets the value's triggers reach the label.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace

from retinavlm.evaluation.context_rules import ModifierRule
from retinavlm.evaluation.text import Token

_EXISTENCE = {"uncertain": (0, "uncertain"), "negated": (1, "absent"), "affirmed": (2, "present")}
_FAR = 10_000  # distance of a cue that comes from the section, not the sentence
_ITEM_ENDS = frozenset({",", "|"})  # items of one line: "SRF=absent, IRF=absent", "IRF: No | PED: Yes"
_ITEM_JOINERS = frozenset({"/", "&"})  # findings joined inside one item ("SRF/IRF -", "SRF & IRF -")
# a question mark hedges the finding of its own item ("Minimal SRF at the scar edge?"), up to this many words back
_QUESTION = ModifierRule("uncertain", "backward", 4, within_item=True)
_QUESTION_REACH = 4
_CLOSING_MARKS = frozenset({".", "!", ";"})
_VERDICT = ModifierRule("uncertain", "backward", 0)  # "..., equivocal.": a hedge that is a list item of its own
_ALTERNATIVES = frozenset({"vs", "versus", "or"})  # "SRF? vs schisis": the question is left open
# "fluid? and reduced VA": the list goes on after the question, which nothing answers
_LIST_GOES_ON = frozenset({"and", "&", "plus"})


@dataclass(frozen=True)
class Trigger:
    start: int
    end: int
    rules: tuple[ModifierRule, ...]
    terminates: bool


@dataclass(frozen=True)
class Cue:
    category: str
    trigger: Trigger | None  # None: the section heading
    distance: float  # ordinary words; half a word more when the cue stands in another item


@dataclass(frozen=True)
class Assertion:
    state: str | None  # None: the mention says nothing about this scan (history, other eye, hypothetical)
    cues: tuple[Cue, ...]  # the cues that decided it
    reason: str = ""


class SentenceContext:
    """Triggers of one pass (those not overlapping its targets) indexed for scope scans.

    negation_stops marks words where negation stops (findings, for the stage and referral passes:
    "no fluid, inactive nAMD" does not negate the stage)."""

    def __init__(
        self,
        tokens: list[Token],
        triggers: list[Trigger],
        target_mask: list[bool],
        negation_stops: list[bool] | None,
        separators: list[int],
        list_words: frozenset[str],
        list_joiners: frozenset[str],
        sentence_wide: frozenset[str],
        reach: int,
        item_predicates: frozenset[str] = frozenset(),
        disjunctions: frozenset[str] = frozenset(),
        item_openers: frozenset[tuple[str, str]] = frozenset(),
        named_eye_clauses: frozenset[int] = frozenset(),
        item_verdicts: tuple[tuple[str, ...], ...] = (),
        history_joiners: frozenset[str] = frozenset({"with"}),
        history_join_gap: int = 3,
    ):
        self.tokens = tokens
        self.by_end = {t.end - 1: t for t in triggers}
        self.by_start = {t.start: t for t in triggers}
        self.trigger_words = {k for t in triggers for k in range(t.start, t.end)}
        self.target_mask = target_mask
        self.negation_stops = negation_stops
        self.separators = sorted(separators)
        self._separator_set = set(separators)
        self.list_words = list_words
        self.list_joiners = list_joiners
        self.sentence_wide = sentence_wide
        self.reach = reach
        self.item_predicates = item_predicates
        self.disjunctions = disjunctions
        self.item_openers = item_openers
        self._opener_words = frozenset(second for _, second in item_openers)  # a cheap first check ("a", "an")
        # a target in a dash-set clause that names its eye ("OS new SRF - the fellow eye has GA"): a fellow-eye cue
        # beyond the dash speaks of its own clause
        self.named_eye_clauses = named_eye_clauses
        self.item_verdicts = frozenset(item_verdicts)
        # "Previous iAMD with DLS": the words that join a finding to a disease named as history, and how many words
        # that disease may take between its history cue and the joining word (context_rules.yaml `joined_history`)
        self.history_joiners = history_joiners
        self.history_join_gap = history_join_gap
        # another finding counts as one word of distance, however many words it has, and an item of a
        # list of findings ("no drusen, PED, SRF, IRF, SHRM, HRF or atrophy") as none
        self.target_counts = [
            mask
            and (k == 0 or not (target_mask[k - 1] or tokens[k - 1].raw == "," or tokens[k - 1].norm in list_words))
            for k, mask in enumerate(target_mask)
        ]

    def assess(self, start: int, end: int, sentence: tuple[int, int], section_category: str | None) -> Assertion:
        words_before = self._item_words(start - 1, sentence[0] - 1, -1)
        words_after = self._item_words(end, sentence[1], 1)
        # an item with words of its own after the finding ("no SRF, fibrosis at the fovea", "no SRF/IRF, PED flat") is a
        # statement of its own, unless the finding is a member of a disjunction ("no SRF, IRF, DLS or HRF is seen in
        # the left eye", "no SRF, haemorrhage or SHRM to suggest MNV"), whose words after it speak of the whole list
        disjunct = bool(self.disjunctions) and self._disjunct(start, end, sentence)
        own_words = (
            words_after >= 2
            or (bool(self.item_predicates) and self._first_word(end, sentence[1]) in self.item_predicates)
        ) and not disjunct
        cues = self._scan(start - 1, sentence[0] - 1, -1, ("forward", "bidirectional"), own_words, disjunct)
        # findings joined in an item that ends in their predicate ("SRF and serous PED persisting, IRF nil") are a
        # statement of their own: a denial after the comma does not reach back into it; so is one finding with its
        # course right after it ("SRF reducing, IRF gone", round 31), outside a history section, whose dated lines
        # ("11/03: SRF reduced, IRF resolved") the course word would otherwise make today's
        own_item = words_before > 0 or (
            bool(self.item_predicates)
            and (
                self._joined_predicate(end, sentence[1]) in self.item_predicates
                or (section_category != "historical" and self._first_word(end, sentence[1]) in self.item_predicates)
            )
        )
        after = self._scan(end, sentence[1], 1, ("backward", "bidirectional"), own_item)
        value = self._tail_cues(start, end, sentence)
        if not any(c.category in _EXISTENCE for c in value):
            value += self._open_question(end, sentence)
        own = [c for c in after if not any(self.tokens[k].raw in _ITEM_ENDS for k in range(end, c.trigger.start))]
        if any(c.category in ("negated", "affirmed") for c in own + value):
            # a query answered in its own item ("?IRF - no, just shadowing", "HRF? Yes - confirmed")
            cues = [c for c in cues if not self._queries(c)]
            after = [c for c in after if not self._queries(c)]
        cues += after + value
        # a denial or an affirmation of the target's own item beats one from another item ("no SRF/IRF, fibrosis++":
        # the "++" is the fibrosis's), and at the same distance any cue of its own item does ("new IRF, SRF nil"); a
        # hedge after a comma may still comment on the item before ("slight subretinal fluid, maybe")
        existence = [c for c in cues if c.category in _EXISTENCE]
        if len(cues) > 1 and len(existence) > 1:
            across = [c for c in existence if c.trigger is not None and self._across_items(c.trigger, start, end)]
            if len(across) < len(existence):
                cues = [c for c in cues if c.category == "uncertain" or not any(c is a for a in across)]
            cues = [replace(c, distance=c.distance + 0.5) if any(c is a for a in across) else c for c in cues]
        cues = self._suspicion_denied(cues, start, end)
        verdict = self._item_verdict(end, sentence) if self.item_verdicts else None
        if verdict is not None:  # "a few cystic spaces in the inner nuclear layer, equivocal": the item's own verdict
            cues = [c for c in cues if c.category not in _EXISTENCE] + [verdict]
        if section_category is not None:
            cues.append(Cue(section_category, None, _FAR))
        return _decide(cues)

    def _suspicion_denied(self, cues: list[Cue], start: int, end: int) -> list[Cue]:
        """A denial right before the finding and a hedging word right after it ("No CNV suspected", "no SRF
        suspected or seen"): the denial governs the clause, suspicion included, so the hedge drops out."""
        for c in cues:
            if c.category == "negated" and c.distance == 0 and c.trigger is not None and c.trigger.end == start:
                break
        else:
            return cues
        return [
            c
            for c in cues
            if not (
                c.category == "uncertain"
                and c.trigger is not None
                and c.trigger.start == end
                and all(self.tokens[k].is_word for k in range(c.trigger.start, c.trigger.end))  # not "seen ??"
            )
        ]

    def _item_verdict(self, end: int, sentence: tuple[int, int]) -> Cue | None:
        """A hedge that is the whole next list item ("..., equivocal.", "IRF: small, questionable."): the writer's
        verdict on the item the target ends, past its place words and terminators."""
        tokens = self.tokens
        for comma in range(end, sentence[1]):
            raw = tokens[comma].raw
            if raw == ",":
                break
            if raw in _ITEM_ENDS or raw == ";":
                return None
        else:
            return None
        stop = sentence[1]
        for k in range(comma + 1, sentence[1]):
            if tokens[k].raw in _ITEM_ENDS:
                stop = k
                break
        while stop > comma + 1 and self.tokens[stop - 1].raw in _CLOSING_MARKS:
            stop -= 1  # the sentence's own full stop
        words = tuple(self.tokens[k].norm for k in range(comma + 1, stop) if self.tokens[k].is_word)
        if not words or words not in self.item_verdicts or stop - comma - 1 != len(words):
            return None
        return Cue("uncertain", Trigger(comma + 1, stop, (_VERDICT,), False), 0)

    def _first_word(self, end: int, stop: int) -> str | None:
        """The first word after the target, in its item; "#" for a number other than zero ("Soft drusen >125 um"; "IRF
        0" counts none)."""
        for k in range(end, stop):
            if self.tokens[k].raw in _ITEM_ENDS or k in self._separator_set:
                return None
            if self.tokens[k].is_word:
                word = self.tokens[k].norm
                return "#" if word.isdigit() and word.strip("0") else word
        return None

    def _joined_predicate(self, end: int, stop: int) -> str | None:
        """The last word of the target's item when another finding is joined to it and a comma ends the item ("SRF and
        serous PED persisting, ..."), else None."""
        last, joined = None, False
        for k in range(end, stop):
            if self.tokens[k].raw == ",":
                return last if joined else None
            if self.tokens[k].raw in _ITEM_ENDS or k in self._separator_set:
                return None
            if self.target_mask[k]:
                joined, last = True, None
            elif self.tokens[k].is_word:
                last = self.tokens[k].norm
        return None

    def _disjunct(self, start: int, end: int, sentence: tuple[int, int]) -> bool:
        """The target is joined to a neighbour by a disjunction ("DLS or HRF", "haemorrhage or SHRM")."""
        before = start - 1
        while before >= sentence[0] and self.tokens[before].norm in self.list_words - self.disjunctions:
            before -= 1
        after = end
        while after < sentence[1] and self.tokens[after].norm in self.list_words - self.disjunctions:
            after += 1
        return (before >= sentence[0] and self.tokens[before].norm in self.disjunctions) or (
            after < sentence[1]
            and self.tokens[after].norm in self.disjunctions
            and after + 1 < sentence[1]
            and self.target_mask[after + 1]
        )

    def _open_question(self, end: int, sentence: tuple[int, int]) -> list[Cue]:
        """A question about the target's item followed by no answer — another finding, an alternative ("SRF?
        vs schisis", "SRF? PED") or the list going on ("underlying fluid? and reduced VA") — leaves it hedged, as a
        query the report may answer later; words after it answer it ("Drusen? Few small ones")."""
        n = bisect.bisect_left(self.separators, end)
        if n == len(self.separators) or self.separators[n] >= sentence[1]:
            return []
        sep = self.separators[n]
        if self.tokens[sep].raw not in ("?", "??") or any(self.tokens[k].raw in _ITEM_ENDS for k in range(end, sep)):
            return []
        after = sep + 1
        if after < sentence[1] and not (
            self.target_mask[after]
            or self.tokens[after].norm in _ALTERNATIVES
            or self.tokens[after].raw in _LIST_GOES_ON  # lower case: the same sentence goes on
            or self._finding_next(after, sentence)
        ):
            return []
        words = self._own_words(end, sep)
        return [Cue("uncertain", Trigger(sep, sep + 1, (_QUESTION,), False), words)] if words <= _QUESTION_REACH else []

    def _finding_next(self, after: int, sentence: tuple[int, int]) -> bool:
        """One word and then a finding of its own after the question ("Small PED? No fluid."): no answer to it."""
        nxt = after + 1
        return nxt < sentence[1] and self.tokens[after].is_word and self.target_mask[nxt]

    def _across_items(self, trigger: Trigger, start: int, end: int) -> bool:
        """An item end (",", "|", or a slash spaced on both sides: "SRF absent / IRF absent / PED present") stands
        between the trigger and the target."""
        lo, hi = (trigger.end, start) if trigger.end <= start else (end, trigger.start)
        return any(self.tokens[k].raw in _ITEM_ENDS or self._spaced_slash(k) for k in range(lo, hi))

    def _spaced_slash(self, k: int) -> bool:
        """A slash with a space on both sides separates items; "SRF/IRF" joins findings inside one."""
        tokens = self.tokens
        return (
            tokens[k].raw == "/"
            and 0 < k < len(tokens) - 1
            and tokens[k - 1].end < tokens[k].start
            and tokens[k].end < tokens[k + 1].start
        )

    def _queries(self, cue: Cue) -> bool:
        """The cue is a question mark."""
        return cue.trigger is not None and self.tokens[cue.trigger.start].raw in ("?", "??")

    def _item_words(self, i: int, stop: int, step: int) -> int:
        """Ordinary words of the target's own list item on one side of it ("multiple large drusen,",
        ", fibrosis at the fovea")."""
        count = 0
        while i != stop and self.tokens[i].raw not in _ITEM_ENDS and i not in self._separator_set:
            token = self.tokens[i]
            if (
                token.is_word
                and not self.target_mask[i]
                and i not in self.trigger_words
                and token.norm not in self.list_joiners
            ):
                count += 1
            i += step
        return count

    def _scan(
        self, i: int, stop: int, step: int, directions: tuple[str, ...], own_words: bool = False, disjunct: bool = False
    ) -> list[Cue]:
        """Cues reaching the target from one side. `own_words`: the target's item has words of its own on
        the other side, so a cue from another item of the list does not reach it; `disjunct`: the words before it
        in its item are another member of the list ("haemorrhage or SHRM")."""
        cues: list[Cue] = []
        distance = 0
        crossed_stop = False
        crossed_punctuation = False
        crossed_comma = False
        # an item after a comma with a word of its own ("no SRF, stable fibrosis") is a new statement
        item_words = 0
        own_item = False
        terminated = False  # past a terminator only sentence-wide categories (other eye) still reach
        # walking back past "with" right after the disease it joins ("Previous iAMD with DLS"): a history cue
        # just before that disease still reaches the finding (`with_joined`: the token where "with" starts)
        with_joined = -1
        # the target's own clause names its eye: past a clause dash, a fellow-eye cue speaks of its own clause
        start_eye = (i + 1 if step < 0 else i - 1) in self.named_eye_clauses
        crossed_dash = False
        # inside a parenthesis that annotates something else: "SRF (absent), IRF (present)"
        depth = 0
        opening, closing = ("(", ")") if step > 0 else (")", "(")
        start = i
        index = self.by_end if step < 0 else self.by_start
        while i != stop and distance <= self.reach:
            trigger = index.get(i)
            if trigger is not None:
                for rule in trigger.rules:
                    if rule.direction not in directions or distance > rule.max_scope:
                        continue
                    if depth > 0 and rule.category not in self.sentence_wide:
                        continue
                    if terminated and rule.category not in self.sentence_wide and not rule.across_terminators:
                        if not (
                            rule.category == "historical"
                            and rule.direction == "forward"
                            and with_joined >= 0
                            and 0 < with_joined - trigger.end <= self.history_join_gap
                        ):
                            continue
                    if crossed_dash and rule.category == "other_eye":
                        continue
                    if crossed_stop and rule.category == "negated":
                        continue
                    if rule.within_item and crossed_punctuation:
                        continue
                    if (
                        crossed_comma
                        and rule.direction == "backward"
                        and rule.category == "negated"
                        and self._opens_finding(trigger.end)
                    ):
                        continue  # "quiescent MNV, nil fluid": the denial opens its own item's finding
                    if (
                        rule.direction == "backward"
                        and rule.category == "uncertain"
                        and rule.max_scope == 0
                        and (self._opens_finding(trigger.end) or self._after_opener(trigger.start))
                    ):
                        continue  # "subretinal fluid and possible intraretinal fluid": the hedge is the next finding's,
                        # and so after "and a" ("pigmentary changes and a possible small area of iRORA")
                    if own_item and (
                        (rule.direction == "forward" and rule.category in ("negated", "uncertain"))
                        # a hedge after a comma may comment on the item before ("RPE loss, more likely iRORA")
                        or (rule.direction == "backward" and rule.category == "negated")
                    ):
                        continue
                    cues.append(Cue(rule.category, trigger, distance))
                if trigger.terminates:
                    if not self.sentence_wide:
                        break
                    if (
                        step < 0
                        and not terminated
                        and trigger.end - trigger.start == 1
                        and self.tokens[trigger.start].norm in self.history_joiners
                    ):
                        with_joined = trigger.start
                    else:
                        with_joined = -1
                    terminated = True
                distance += trigger.end - trigger.start
                i = trigger.start - 1 if step < 0 else trigger.end
                continue
            if i in self._separator_set or (step < 0 and self.tokens[i].raw == "|"):
                break  # a cue before a field boundary belongs to the field before ("IRF: No | PED: Yes")
            if self.negation_stops is not None and self.negation_stops[i]:
                crossed_stop = True
            # "and" with an indefinite article opens a finding of its own ("no subretinal or intraretinal fluid and a
            # stable fibrotic scar"): a denial before it does not reach past it, a hedge still does ("There may be
            # subtle RPE irregularity and a few small hyperreflective foci")
            if (
                step < 0
                and self.tokens[i].norm in self._opener_words
                and i > 0
                and (self.tokens[i - 1].norm, self.tokens[i].norm) in self.item_openers
            ):
                crossed_stop = True
            token = self.tokens[i]
            if (
                start_eye
                and token.raw in ("-", "–", "—")
                and 0 < i < len(self.tokens) - 1
                and self.tokens[i - 1].end < token.start
                and token.end < self.tokens[i + 1].start
            ):
                crossed_dash = True
            if step > 0 and (token.raw == "," or (token.raw == "/" and self._spaced(i))):
                # "multiple large drusen, DLS absent"; a spaced slash between fields too ("PED FLAT / IRF ABSENT")
                own_item = own_item or own_words
                crossed_comma = True
            if step < 0 and not own_item:
                if token.raw == "," or (token.raw == "/" and self._spaced(i)):
                    # "no SRF, stable fibrosis", "no SRF, fibrosis at the fovea"
                    own_item = (i != start and item_words > 0 and not disjunct) or own_words or self._opens_item(i)
                elif token.is_word and not self.target_mask[i] and token.norm not in self.list_joiners:
                    item_words += 1
            if token.raw == opening and i != start:
                depth += 1
            elif token.raw == closing and depth > 0:
                depth -= 1
            # a slash or "&" joins findings inside one item ("SRF/IRF -")
            crossed_punctuation = crossed_punctuation or not (
                token.is_word or self.target_mask[i] or token.raw in _ITEM_JOINERS
            )
            if self.target_counts[i] or (
                not self.target_mask[i] and token.is_word and token.norm not in self.list_words
            ):
                distance += 1
            i += step
        return cues

    def _spaced(self, k: int) -> bool:
        """Token k stands apart from both neighbours ("SRF ABSENT / PED FLAT"), not inside "SRF/IRF"."""
        return 0 < k < len(self.tokens) - 1 and (
            self.tokens[k - 1].end < self.tokens[k].start and self.tokens[k].end < self.tokens[k + 1].start
        )

    def _opens_finding(self, k: int) -> bool:
        """A finding starts at token k, right after a trigger ("nil fluid"): the trigger is that finding's."""
        return k < len(self.tokens) and (
            self.target_mask[k] or (self.negation_stops is not None and self.negation_stops[k])
        )

    def _after_opener(self, k: int) -> bool:
        """The two words before token k open a new item ("and a possible small area of iRORA")."""
        return k >= 2 and (self.tokens[k - 2].norm, self.tokens[k - 1].norm) in self.item_openers

    def _opens_item(self, comma: int) -> bool:
        """The two words after a comma open a new item ("no fluid, and an atrophic patch temporally")."""
        if comma + 2 >= len(self.tokens):
            return False
        return (self.tokens[comma + 1].norm, self.tokens[comma + 2].norm) in self.item_openers

    def _own_words(self, start: int, end: int) -> int:
        """Ordinary words in [start, end): not list words, not findings, not part of a trigger."""
        return sum(
            1
            for k in range(start, end)
            if self.tokens[k].is_word
            and self.tokens[k].norm not in self.list_words
            and not self.target_mask[k]
            and k not in self.trigger_words
        )

    def _tail_cues(self, start: int, end: int, sentence: tuple[int, int]) -> list[Cue]:
        """In "label: value", the value's triggers reach every target of the label."""
        seps = self.separators
        n = bisect.bisect_left(seps, end)
        if n == len(seps) or seps[n] >= sentence[1]:
            return []
        sep = label_end = seps[n]
        if any(self.tokens[k].raw in _ITEM_ENDS for k in range(end, sep)):
            return []  # the separator belongs to a later item's label ("Yes (SRF) | IRF: No")
        brackets = [self.tokens[k].raw for k in range(end, sep) if self.tokens[k].raw in "()"]
        if brackets.count("(") > brackets.count(")"):
            return []  # a label inside a bracket opened after the target ("Drusen present (SRF: no)") is its own
        if self.tokens[sep].raw in ("?", "??") and n + 1 < len(seps) and seps[n + 1] == sep + 1:
            n += 1  # a dash after a question introduces its answer ("neurosensory detachment? - no")
            sep = seps[n]
        next_field = n + 1 < len(seps) and seps[n + 1] < sentence[1]
        tail_end = seps[n + 1] if next_field else sentence[1]
        # the value is the first item after the separator ("Yes, a small amount ...", "No | PED: Yes"), a
        # parenthesis after it a comment on it ("Fibrosis: NO (no scar seen)")
        tail_end = next(
            (
                k
                for k in range(sep + 1, tail_end)
                if self.tokens[k].raw in _ITEM_ENDS or (k > sep + 1 and self.tokens[k].raw == "(")
            ),
            tail_end,
        )
        if next_field and tail_end == seps[n + 1]:
            # fields run together ("SRF: ? IRF: N"): the value ends where the next field's label begins
            tail_end = next((k for k in range(sep + 1, tail_end) if self.target_mask[k]), tail_end)
        if tail_end - sep - 1 > 8 or any(self.target_mask[sep + 1 : tail_end]):
            return []
        if self.negation_stops is not None and any(self.negation_stops[sep + 1 : tail_end]):
            return []  # "Disease inactive: no SRF": the value speaks about its own findings
        # the label is the finding itself plus at most a few words ("Is there IRF? No"), no triggers,
        # from the previous separator or item on ("SRF=absent, IRF=absent")
        p = bisect.bisect_left(seps, start)
        head_start = max(sentence[0], seps[p - 1] + 1 if p else 0)
        head_start = next(
            (k + 1 for k in range(start - 1, head_start - 1, -1) if self.tokens[k].raw in _ITEM_ENDS), head_start
        )
        if label_end - head_start > 12:
            return []
        head_words = sum(1 for k in range(head_start, label_end) if not self.target_mask[k] and self.tokens[k].is_word)
        # a value of the previous field that reaches back only ("SRF: ? IRF: N") is not part of this label
        head_triggers = [
            self.by_start[k]
            for k in range(head_start, label_end)
            if k in self.by_start
            and any(r.direction != "backward" for r in self.by_start[k].rules)
            and self.tokens[k].raw not in ("?", "??")  # a queried label ("?IRF - no") is answered by its value
        ]
        # a question may be longer than a label ("Is there a whisper of SRF at its margin? I cannot be certain")
        # a label that asks whether the finding is there ("Presence of SRF: No", "Any evidence of MNV: No") is answered
        # by its value: only a denial or hedge in the label makes it a statement of its own
        if head_words > (8 if self.tokens[label_end].raw in ("?", "??") else 3) or any(
            r.category in _EXISTENCE and r.category != "affirmed" for t in head_triggers for r in t.rules
        ):
            return []
        tail = [self.by_start[k] for k in range(sep + 1, tail_end) if k in self.by_start]
        first_word = next(
            (
                k
                for k in range(sep + 1, tail_end)
                if self.tokens[k].is_word
                and self.tokens[k].norm not in self.list_words
                # an answer marker ("Any SRF? Answer: No") is no clause of its own
                and not (k + 1 < tail_end and self.tokens[k + 1].raw == ":")
            ),
            None,
        )
        if first_word is not None and not any(t.start <= first_word < t.end for t in tail):
            return []  # a clause of its own ("Macula healthy - OCT shows no abnormality") is no value
        cues = []
        for i, trigger in enumerate(tail):
            # a forward cue followed by a new clause ("Early AMD - no need to refer") or by an object of
            # its own ("Early AMD - not my area") is not a value
            clause_follows = any(t.terminates for t in tail[i + 1 :]) or self._own_words(trigger.end, tail_end) >= 2
            cues += [
                Cue(rule.category, trigger, 0)
                for rule in trigger.rules
                if not (clause_follows and rule.direction == "forward")
            ]
        return cues


def _decide(cues: list[Cue]) -> Assertion:
    existence = [c for c in cues if c.category in _EXISTENCE]
    best = min(existence, key=lambda c: (c.distance, _EXISTENCE[c.category][0]), default=None)
    by_category: dict[str, list[Cue]] = {}
    for cue in cues:
        by_category.setdefault(cue.category, []).append(cue)
    if "other_eye" in by_category:
        return Assertion(None, tuple(by_category["other_eye"]), "about the other eye")
    if "other_person" in by_category:
        return Assertion(None, tuple(by_category["other_person"]), "about another person")
    if "other_condition" in by_category:
        return Assertion(None, tuple(by_category["other_condition"]), "about another condition")
    if "hypothetical" in by_category:
        nearest = min(c.distance for c in by_category["hypothetical"])
        if best is None or best.distance > nearest:
            return Assertion(None, tuple(by_category["hypothetical"]), "hypothetical")
    if "historical" in by_category:
        # kept when it says what happened since ("SRF, now resolved") or a "now" is closer
        nearest_past = min(c.distance for c in by_category["historical"])
        current = by_category.get("current", [])
        speaks_now = best is not None and any(c.trigger is best.trigger for c in current)
        if not speaks_now and not any(c.distance < nearest_past for c in current):
            return Assertion(None, tuple(by_category["historical"]), "historical")
    if best is None:
        return Assertion("present", ())
    return Assertion(_EXISTENCE[best.category][1], (best,))
