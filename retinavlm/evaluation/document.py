"""Report structure: how a report's text becomes the Document every extraction pass reads (extract.py):
headings and their sections, sentences and answered questions, the ConText cue triggers of each sentence, and which
sentences and clauses speak of the fellow eye.

The words come from eval/context_rules.yaml (sections, eyes, modifiers, undecided stage phrases)."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace

from retinavlm.evaluation.context import Trigger
from retinavlm.evaluation.context_rules import ContextRules
from retinavlm.evaluation.matcher import Match, PhraseTable, variants
from retinavlm.evaluation.normalize import Normalizer
from retinavlm.evaluation.text import SEPARATORS, Token, sentence_spans

_BULLETS = frozenset({"-", "*", "•", "#", "·", "+", ">", "–", "|"})  # "|" opens a table row
# a JSON key's quotes and its object's brace around a heading ('{"amd_stage": "intermediate"')
_KEY_QUOTES = frozenset({'"', "{"})
# a heading may follow these as well as a line break ("Model output -> stage: early; referral: none")
# "|" between a form's fields on one line ("Drusen: yes, large | GA: questionable | Severity: intermediate"): each
# field opens after it, as after a full stop
_FIELD_BREAKS = frozenset({".", "!", ";", "->", "=>", "→", "|"})
# "=" as a key's ("stage=early; referral=none")
_HEADING_MARKS = (":", "-", "–", "—", "=")
# eye phrases that name no eye themselves: "this" (the report's eye, named beside it), "not" ("referring OD")
_NO_EYE = frozenset({"this", "not"})
# the words after "both" that make it the two eyes ("look at both at her next visit", "review both eyes"), not two
# findings ("both SRF and IRF")
_BOTH_EYES_AFTER = frozenset({"at", "eyes", "in", "on", "together"})
_CLAUSE_BREAKS = frozenset({",", "-", "–", "—", "|"})  # clauses of a sentence that names both eyes
_SIGN_TOKENS = frozenset({"+ve", "-ve", "+/-"})  # signs as the tokenizer writes them
_ITEM_OPENERS = frozenset({",", ";", "|", ":"})


@dataclass
class Document:
    """A report as the extraction passes read it: tokens, sections, sentences, cue triggers and eye scope."""

    text: str
    tokens: list[Token]
    sentences: list[tuple[int, int]]
    section_of: list[int | None]  # section index per token
    triggers: list[Trigger]
    separators: list[int]
    caseless: bool  # written without capitals: abbreviations match in lower case
    other_eye: set[tuple[int, int]]  # sentences that name only the fellow eye
    trigger_ends: frozenset[int] = frozenset()  # single-word triggers, by token index
    quoted_history: frozenset[int] = frozenset()  # tokens quoted from an earlier reading ("Tech flagged 'new SHRM'")
    other_eye_clauses: frozenset[int] = frozenset()  # tokens of clauses about the fellow eye in a both-eye sentence
    leaves_stage_open: bool = False  # the writer leaves the stage open ("activity uncertain", "I can't decide between")
    norms: frozenset[str] = frozenset()  # every word, folded: PhraseTable.may_match
    raws: frozenset[str] = frozenset()  # every token as written
    written: frozenset[str] = frozenset()  # as targets match them: lower-cased when caseless
    named_eye_clauses: frozenset[int] = frozenset()  # tokens of dash-set clauses that name an eye ("OS new SRF - ...")
    stages_set_against: bool = False  # two stages set against each other ("Inactive vs early reactivation")


class DocumentReader:
    """Reads report texts into Documents against one set of context rules (built once, reused).

    `findings` and `qualifiers` are the extractor's phrase tables: a finding's field left open ("Fluid: cannot be
    determined") does not leave the stage open."""

    def __init__(self, rules: ContextRules, norm: Normalizer, findings: PhraseTable, qualifiers: PhraseTable):
        self.rules, self._norm = rules, norm
        self._findings, self._qualifiers = findings, qualifiers
        self._undecided = PhraseTable()
        for term in variants(rules.undecided_stage):
            self._undecided.add(norm.phrase(term), "undecided")
        self._eyes = PhraseTable()
        self._caseless_eyes = PhraseTable()  # the eyes a note written without capitals names (`caseless_eyes`)
        for eye, terms in rules.eyes.items():
            for term in terms:
                if term.lower() == term:
                    self._eyes.add(norm.phrase(term), eye)
                    self._caseless_eyes.add(norm.phrase(term), eye)
                else:
                    self._eyes.add(norm.as_written(term), eye, case_sensitive=True)
                    if term.lower() in rules.caseless_eyes:
                        self._caseless_eyes.add(norm.as_written(term), eye, case_sensitive=True)
        self._modifiers = PhraseTable()
        for term, modifier_rules in rules.modifiers.items():
            for rule in modifier_rules:
                self._modifiers.add(norm.phrase(term), rule)
        for term in rules.terminators:
            self._modifiers.add(norm.phrase(term), "terminate")
        self._headings = PhraseTable()
        for index, section in enumerate(rules.sections):
            for term in variants(section.headings):
                self._headings.add(norm.phrase(term), index)
        section_index = {section.id: index for index, section in enumerate(rules.sections)}
        self._letter_schemes = [
            (tuple(norm.phrase(x)[0] for x in scheme.letters), tuple(section_index[s] for s in scheme.sections))
            for scheme in rules.letter_headings
        ]
        ids = [section.id for section in rules.sections]
        if rules.dated_section is not None and rules.dated_section not in ids:
            raise ValueError(f"context rules: dated_lines names unknown section {rules.dated_section!r}")
        self._dated_section = ids.index(rules.dated_section) if rules.dated_section is not None else None
        self._findings_section = next((n for n, sec in enumerate(rules.sections) if sec.role == "findings"), None)

    def read(self, text: str) -> Document:
        """The structure of one cleaned report text (`Normalizer.punctuate(clean_text(...))`)."""
        tokens = self._norm.tokens(text)
        caseless = not any(c.isupper() for c in text)
        norms = frozenset(t.norm for t in tokens)
        raws = frozenset(t.raw for t in tokens)
        headings: list[tuple[int, int, int]] = []  # (first token, end token incl. colon, section)
        line_start = True
        prev_end_sentence = True
        for i, tok in enumerate(tokens):
            if i > 0:
                line_start = "\n" in text[tokens[i - 1].end : tok.start]
                prev_end_sentence = tokens[i - 1].raw in _FIELD_BREAKS
            if not (line_start or prev_end_sentence):
                continue
            j = i
            while j < len(tokens) and (tokens[j].raw in _BULLETS or tokens[j].raw in _KEY_QUOTES):  # "- ", "**", "#"
                j += 1
            if j >= len(tokens):
                break
            if (
                line_start
                and self._dated_section is not None
                and (dated := self._dated_line(text, tokens, j, caseless))
            ):
                headings.append((i, dated, self._dated_section))
                line_end = text.find("\n", tokens[dated - 1].end)
                following = next((n for n in range(dated, len(tokens)) if tokens[n].start > line_end), None)
                if line_end >= 0 and following is not None:
                    headings.append((following, following, None))  # the dated visit ends with its line
                continue
            found = self._headings.match_at(tokens, j) or self._eye_heading(tokens, j, caseless)
            if found is None and line_start and self._findings_section is not None:
                eye = self._eyes.match_at(tokens, j, caseless=caseless)
                if eye is not None and eye.payloads[0] not in _NO_EYE and eye.end < len(tokens):
                    if tokens[eye.end].raw == ":":  # "OS: multiple large soft drusen": the eye's findings
                        headings.append((i, i, self._findings_section))
                continue
            if found is None:
                continue
            after = self._heading_end(tokens, found.end, caseless)
            if after < len(tokens) and tokens[after].raw in _HEADING_MARKS:
                headings.append((i, after + 1, found.payloads[0]))
                if self.rules.sections[found.payloads[0]].line_field:
                    self._end_with_line(text, tokens, after + 1, headings)
            elif tokens[after - 1].raw == "?" and after < len(tokens):
                headings.append((i, after, found.payloads[0]))  # a heading asked as a question ("Refer? No.")
            elif line_start and (after == len(tokens) or "\n" in text[tokens[after - 1].end : tokens[after].start]):
                headings.append((i, after, found.payloads[0]))

        # the words of headings that may name an eye ("RE OCT:-"; not a letter heading: the "R:" of SBAR)
        named_heading = [False] * len(tokens)
        for first, end, _ in headings:
            named_heading[first:end] = [True] * (end - first)
        headings = sorted(headings + self._letter_headings(text, tokens))
        section_of: list[int | None] = [None] * len(tokens)
        heading_mask = [False] * len(tokens)
        breaks: set[int] = set()
        for n, (first, end, section) in enumerate(headings):
            stop = headings[n + 1][0] if n + 1 < len(headings) else len(tokens)
            for k in range(first, stop):
                section_of[k] = section
            for k in range(first, end):
                heading_mask[k] = True
            breaks.add(first)
            breaks.add(end)

        sentences = []
        for start, end in self._answered(sentence_spans(text, tokens), tokens):
            piece_start = start
            for k in range(start, end + 1):
                if k == end or k in breaks or heading_mask[k]:
                    if k > piece_start:
                        sentences.append((piece_start, k))
                    piece_start = k + 1 if (k < end and heading_mask[k]) else k
        sentences = [(s, e) for s, e in sentences if s < e and not heading_mask[s]]

        triggers: list[Trigger] = []
        separators: list[int] = []
        questions = set()
        modifiers = self._modifiers.may_match(norms, raws)
        for s, e in sentences:
            first_separator = len(separators)
            for k in range(s, e):
                tok = tokens[k]
                if tok.raw == ":" and self._answer_marker(tokens, k, s):
                    continue
                # ">=" compares (">=250 um"), it separates no field
                compares = tok.raw == "=" and k > s and tokens[k - 1].raw in "<>" and tokens[k - 1].end == tok.start
                if tok.raw in SEPARATORS and not compares and not _opens_query(tokens, k, e):
                    separators.append(k)
                elif (
                    tok.raw == "?"
                    and k + 1 < e
                    and k > s
                    and tokens[k - 1].end == tok.start
                    and tokens[k + 1].start > tok.end
                ):
                    separators.append(k)
                    questions.add(k)
            sentence_separators = {k for k in separators[first_separator:] if k not in questions}
            for found in self._modifiers.scan(tokens, s, e) if modifiers else ():
                if found.start in questions or (found.start == s and tokens[s].raw in _BULLETS):
                    continue  # a list mark opening a line ("> SRF present") is no cue
                if tokens[found.start].raw == ">" and not _ranks_words(tokens, found.start, s, e):
                    continue  # a measure (">50% of lesion"), not a ranking of diagnoses ("PCV > nAMD")
                rules = tuple(p for p in found.payloads if p != "terminate")
                if (tokens[found.start].raw in _SIGN_TOKENS and _opens_item(tokens, found, s, e)) or _glued_query(
                    tokens, found, s, e
                ):
                    # a sign before its finding ("(+) drusen, (-) SRF") and a query mark stuck to the next word only
                    # ("irregular rpe elevation ?dls") read forward
                    rules = tuple(replace(r, direction="forward") for r in rules)
                terminates = "terminate" in found.payloads
                if (
                    triggers
                    and negates_forward(triggers[-1])
                    and self._only_list_words(tokens, triggers[-1].end, found.start)
                ):
                    # "no signs of", "I do not see any evidence of", "not clear whether there is": the
                    # negation or hedge reaches through an assertion right after it, clause opener or not
                    kept = tuple(r for r in rules if not (r.category == "affirmed" and r.direction == "forward"))
                    terminates = terminates and kept == rules
                    rules = kept
                if found.start > s and found.start - 1 in sentence_separators:
                    # a value standing alone after a label ("SRF: ? IRF: N", "DLS=No, drusen=+") answers
                    # that label only: a whole item reaches back only, a spaced sign does not reach on
                    item = found.end >= e or tokens[found.end].raw in (",", "|")
                    if item or _stands_apart(tokens, found, e):
                        # not a fellow-eye cue opening a clause of its own ("OS new SRF - the fellow eye has GA")
                        rules = tuple(
                            replace(r, direction="backward")
                            if item or (r.direction == "bidirectional" and r.category != "other_eye")
                            else r
                            for r in rules
                        )
                triggers.append(Trigger(found.start, found.end, rules, terminates))
        named_eye_clauses = (
            self._named_eye_clauses(tokens, sentences, triggers, named_heading)
            if self._eyes.may_match(norms, raws)
            else frozenset()
        )
        other_eye, other_eye_clauses = (
            self._other_eye(tokens, sentences, triggers, named_heading, named_eye_clauses, caseless)
            if (self._caseless_eyes if caseless else self._eyes).may_match(norms, raws, caseless)
            else (set(), frozenset())
        )
        return Document(
            text,
            tokens,
            sentences,
            section_of,
            triggers,
            separators,
            caseless,
            other_eye,
            frozenset(t.start for t in triggers if t.end - t.start == 1),
            _quoted_history(text, tokens, triggers),
            other_eye_clauses,
            # over the whole text, so a field's heading joins its value ("Activity: uncertain"); one denied right
            # before it ("No adjudication needed") leaves nothing open
            self._undecided.may_match(norms, raws)
            and any(
                not any(t.end == m.start and any(r.category == "negated" for r in t.rules) for t in triggers)
                and not self._finding_field(tokens, m.start)
                for m in self._undecided.scan(tokens, 0, len(tokens))
            ),
            norms,
            raws,
            frozenset(raw.lower() for raw in raws) if caseless else raws,
            named_eye_clauses,
        )

    def _finding_field(self, tokens: list[Token], start: int) -> bool:
        """Whether token `start` is the value of a finding's field ("Fluid: cannot be determined (motion artefact)"):
        the doubt is that finding's, not the stage left open. A label that also qualifies a stage ("Activity: inactive
        vs active", activity being fluid's group word too) stays the stage's."""
        colon = start - 1
        if colon < 1 or tokens[colon].raw != ":":
            return False
        for j in range(max(0, colon - 4), colon):
            found = self._findings.match_at(tokens, j, colon)
            if found is not None and found.end == colon and found.payloads[0][0] in ("biomarker", "group"):
                return self._qualifiers.match_at(tokens, j, colon) is None
        return False

    @staticmethod
    def _end_with_line(text: str, tokens: list[Token], value: int, headings: list[tuple[int, int, int | None]]) -> None:
        """A field whose value stands on the heading's line ("Fellow eye: GA, stable.") ends with that line: the next
        line is no longer the field's. A heading alone on its line keeps the lines under it."""
        if value >= len(tokens) or "\n" in text[tokens[value - 1].end : tokens[value].start]:
            return
        line_end = text.find("\n", tokens[value].start)
        following = next((n for n in range(value, len(tokens)) if tokens[n].start > line_end), None)
        if line_end >= 0 and following is not None:
            headings.append((following, following, None))

    def _dated_line(self, text: str, tokens: list[Token], j: int, caseless: bool) -> int | None:
        """The end of a date heading a line ("2022-05:", "01/2023 -", "2018:"), or None; a line that says it is
        today's ("2024-05 (today):") has none."""
        k = j + 3 if j + 2 < len(tokens) and tokens[j + 1].raw == "/" and _YEAR.fullmatch(tokens[j + 2].raw) else j + 1
        if k == j + 1 and not _YEAR.fullmatch(tokens[j].raw):
            k = _day_month_end(tokens, j)
            # the last line of a day-dated timeline is today's entry ("05/12/24 OD: dry ... 16/01/25 OD: dry.
            # Disease inactive. Extend to 8/52.")
            if k is None or "\n" not in text[tokens[k - 1].end :].rstrip():
                return None
            # a copy-forward entry names its eye after the date ("10/10/24 OD: SRF++ IRF+ - inject")
            eye = self._eyes.match_at(tokens, k, caseless=caseless) if k < len(tokens) else None
            if eye is not None and eye.payloads[0] not in _NO_EYE and tokens[eye.end - 1].raw != ":":
                k = eye.end
        if k >= len(tokens) or tokens[k].raw not in _HEADING_MARKS:
            return None
        line_end = text.find("\n", tokens[k].end)
        line_end = len(text) if line_end < 0 else line_end
        if any(t.norm in self.rules.dated_current for t in tokens[k + 1 :] if t.start < line_end):
            return None
        return k + 1

    def _eye_heading(self, tokens: list[Token], j: int, caseless: bool) -> Match | None:
        """A heading after the eye it is about ("LE OCT today: ..."): the eye does not hide the heading."""
        eye = self._eyes.match_at(tokens, j, caseless=caseless)
        if eye is None or eye.payloads[0] in _NO_EYE or tokens[eye.end - 1].raw == ":":
            return None
        return self._headings.match_at(tokens, eye.end)

    def _heading_end(self, tokens: list[Token], end: int, caseless: bool) -> int:
        """Where a heading's words stop: past an aside in parentheses or an eye named before the colon
        ("OCT (Topcon Maestro) R:", "OCT R:", "Findings (OD):"), which do not hide the heading either."""
        k = end
        if k < len(tokens) and tokens[k].raw in _KEY_QUOTES:
            k += 1
        if k < len(tokens) and tokens[k].raw == "(":
            k = next((n + 1 for n in range(k + 1, min(k + 8, len(tokens))) if tokens[n].raw == ")"), k)
        eye = self._eyes.match_at(tokens, k, caseless=caseless) if k < len(tokens) else None
        if eye is not None and eye.payloads[0] not in _NO_EYE:
            k = eye.end - 1 if tokens[eye.end - 1].raw == ":" else eye.end
        return k if k > end and k < len(tokens) and tokens[k].raw in _HEADING_MARKS else end

    def _letter_headings(self, text: str, tokens: list[Token]) -> list[tuple[int, int, int]]:
        """Single-letter headings ("S:", "B:", "A:", "R:" of an SBAR handover), read only when every letter
        of a scheme starts a line, followed by ":" or "-", in the scheme's order."""
        at_line_start = [
            i
            for i in range(len(tokens) - 1)
            if tokens[i + 1].raw in (":", "-", "–") and (i == 0 or "\n" in text[tokens[i - 1].end : tokens[i].start])
        ]
        for letters, sections in self._letter_schemes:
            firsts = {}
            for i in at_line_start:
                firsts.setdefault(tokens[i].norm, i)
            if all(letter in firsts for letter in letters) and sorted(firsts[x] for x in letters) == [
                firsts[x] for x in letters
            ]:
                return [
                    (i, i + 2, sections[letters.index(tokens[i].norm)])
                    for i in at_line_start
                    if tokens[i].norm in letters
                ]
        return []

    def _answer_marker(self, tokens: list[Token], k: int, start: int) -> bool:
        """The ":" of an answer marker right after a question mark ("Any IRF? A: No")."""
        return (
            tokens[k].raw == ":"
            and k - 2 >= start
            and self.is_answer_marker(tokens[k - 1])
            and tokens[k - 2].raw in ("?", "??")
        )

    def is_answer_marker(self, token: Token) -> bool:
        """ "A", "Answer", or a numbered one ("A2")."""
        return token.norm.rstrip("0123456789") in self.rules.answer_markers

    def _answered(self, spans: list[tuple[int, int]], tokens: list[Token]) -> list[tuple[int, int]]:
        """A line holding an answer ("A: No") joins the question line before it."""
        out: list[tuple[int, int]] = []
        for start, end in spans:
            if (
                out
                and tokens[out[-1][1] - 1].raw in ("?", "??")
                and start + 1 < end
                and self.is_answer_marker(tokens[start])
                and tokens[start + 1].raw == ":"
            ):
                out[-1] = (out[-1][0], end)
            else:
                out.append((start, end))
        return out

    def _only_list_words(self, tokens: list[Token], start: int, end: int) -> bool:
        return all(tokens[k].norm in self.rules.list_words for k in range(start, end))

    def _other_eye(
        self,
        tokens: list[Token],
        sentences,
        triggers: list[Trigger],
        named_heading: list[bool],
        named_eye_clauses: frozenset[int] = frozenset(),
        caseless: bool = False,
    ) -> tuple[set[tuple[int, int]], frozenset[int]]:
        """Sentences that name only the fellow eye, and the tokens of clauses about the fellow eye in a
        sentence that names both ("Left eye: large drusen, right eye: GA"; a clause naming no eye belongs to
        the one before it). This report's eye is the one named with a this-eye phrase ("Study eye OS"), else
        the opposite of one named next to a fellow-eye cue ("the right eye, not the subject of this
        referral"), else the first single eye it names."""
        # a forward-only cue ("OD (fellow eye of OS nAMD)") says the eye it names is the fellow of another: this eye
        cue_starts = sorted(
            t.start for t in triggers if any(r.category == "other_eye" and r.direction != "forward" for r in t.rules)
        )
        named, fellow, first, declared = [], None, None, None
        for sentence in sentences:
            # the heading right before a sentence names its eye too ("RE OCT:- Large drusenoid PED")
            start = sentence[0]
            while start > 0 and named_heading[start - 1]:
                start -= 1
            found = list((self._caseless_eyes if caseless else self._eyes).scan(tokens, start, sentence[1], caseless))
            eyes = {m.payloads[0] for m in found}
            # "the left eye being assessed" names this eye; "the right eye (not being assessed)" does not
            this = any(m.payloads[0] == "this" and not (m.start and tokens[m.start - 1].norm == "not") for m in found)
            # an eye named next to today's word ("Today LEFT eye imaged", "RE today:") is the eye examined today
            this = this or any(
                m.payloads[0] not in _NO_EYE and self._todays_eye(tokens, m, start, sentence[1]) for m in found
            )
            eyes -= _NO_EYE
            if eyes and self._both_eyes_plan(tokens, sentence):
                eyes.add("both")
            named.append((sentence, eyes))
            if len(eyes) == 1 and "both" not in eyes:
                k = bisect.bisect_left(cue_starts, sentence[0])
                if this:
                    declared = declared or min(eyes)
                elif (
                    k < len(cue_starts)
                    and cue_starts[k] < sentence[1]
                    and self._cue_names_eye(cue_starts, k, sentence, named_eye_clauses)
                ):
                    fellow = fellow or min(eyes)
                elif tokens[sentence[0]].raw != "(":  # a sentence in brackets is an aside ("(L eye: drusen only.)")
                    first = first or min(eyes)
        this_eye = declared or ({"right": "left", "left": "right"}[fellow] if fellow else first)
        if this_eye is None:
            return set(), frozenset()
        clauses: set[int] = set()
        for sentence, eyes in named:
            if eyes == {"right", "left"}:
                clauses.update(self._fellow_clauses(tokens, sentence, this_eye, caseless))
        other = {sentence for sentence, eyes in named if eyes and this_eye not in eyes and "both" not in eyes}
        return other, frozenset(clauses)

    def _todays_eye(self, tokens: list[Token], m: Match, start: int, end: int) -> bool:
        """The word right after the eye is one of today's ("RE today", "left eye imaged"), or opens the sentence right
        before it ("Today LEFT eye"; not "referral sent today for the LEFT eye", which says when)."""
        words = self.rules.todays_eye
        return (m.start == start + 1 and tokens[start].norm in words) or (m.end < end and tokens[m.end].norm in words)

    @staticmethod
    def _cue_names_eye(cue_starts: list[int], k: int, sentence, named_eye_clauses: frozenset[int]) -> bool:
        """A fellow-eye cue of the sentence stands in the clause that names the eye ("the right eye, not the subject
        of this referral"), not in a clause of its own after a dash ("OS new SRF - the fellow eye has GA")."""
        return any(c in named_eye_clauses for c in cue_starts[k:] if c < sentence[1])

    def _named_eye_clauses(
        self, tokens: list[Token], sentences, triggers: list[Trigger], named_heading: list[bool]
    ) -> frozenset[int]:
        """In a sentence with a fellow-eye cue, the tokens of each clause set off by a spaced dash that names an eye
        ("OS new SRF - the fellow eye has GA"; the first clause also by the heading before it, "OS: drusen - fellow
        eye has nAMD"): the cue of another clause does not reach them."""
        cues = sorted(t.start for t in triggers if any(r.category == "other_eye" for r in t.rules))
        out: set[int] = set()
        for start, end in sentences:
            k = bisect.bisect_left(cues, start)
            if k == len(cues) or cues[k] >= end:
                continue
            head = start
            while head > 0 and named_heading[head - 1]:
                head -= 1
            named = {m.start for m in self._eyes.scan(tokens, head, end) if m.payloads[0] not in _NO_EYE}
            if any(k < start for k in named):
                named.add(start)  # the heading's eye is the first clause's
            clause: list[int] = []
            before_named = False  # the clause before names the eye
            for n in range(start, end + 1):
                if n == end or _clause_dash(tokens, n):
                    # a clause that names no eye and states the eye's status ("R eye: wet AMD under treatment - not
                    # assessed today") is the named clause's, unlike one that names the fellow eye ("- the fellow eye
                    # has GA")
                    if named.intersection(clause) or (before_named and clause and tokens[clause[0]].norm == "not"):
                        out.update(clause)
                        before_named = True
                    else:
                        before_named = False
                    clause = []
                else:
                    clause.append(n)
        return frozenset(out)

    @staticmethod
    def _both_eyes_at(tokens: list[Token], k: int, end: int) -> bool:
        """ "both" at k stands for the two eyes ("look at both at her next visit", "review both eyes")."""
        return tokens[k].norm == "both" and k + 1 < end and tokens[k + 1].norm in _BOTH_EYES_AFTER

    def _both_eyes_plan(self, tokens: list[Token], sentence: tuple[int, int]) -> bool:
        """A sentence that names one eye and then both ("she remains under our care for the right eye and we will look
        at both at her next visit") speaks of this eye too."""
        return any(self._both_eyes_at(tokens, k, sentence[1]) for k in range(*sentence))

    def _fellow_clauses(
        self, tokens: list[Token], sentence: tuple[int, int], this_eye: str, caseless: bool = False
    ) -> list[int]:
        """Tokens of the clauses (split at "," and dashes) that name the other eye, or follow one that does."""
        table = self._caseless_eyes if caseless else self._eyes
        named = {
            m.start: m.payloads[0] for m in table.scan(tokens, *sentence, caseless) if m.payloads[0] not in _NO_EYE
        }
        out, eye, clause = [], None, []
        depth = 0  # an eye named in a parenthesis is an aside ("OD (fellow eye of treated nAMD OS): OCT normal")
        for k in range(*sentence):
            depth += (tokens[k].raw == "(") - (tokens[k].raw == ")" and depth > 0)
            if tokens[k].raw in _CLAUSE_BREAKS:
                if eye is not None and eye != this_eye:
                    out.extend(clause)
                clause = []
                continue
            clause.append(k)
            eye = named.get(k, eye) if depth == 0 else eye
            # a plan for both eyes after the other eye's words includes this eye: the clause is not the other eye's
            if eye is not None and self._both_eyes_at(tokens, k, sentence[1]):
                eye = None
        if eye is not None and eye != this_eye:
            out.extend(clause)
        return out


# a year heading a line ("2018", "2022-05" read as "202205"), or a date's year after a slash ("01/2023")
_YEAR = re.compile(r"(?:19|20)\d\d(?:[01]\d)?")
_DAY_OR_MONTH = re.compile(r"\d{1,2}")
_SHORT_YEAR = re.compile(r"\d\d|(?:19|20)\d\d")


def _clause_dash(tokens: list[Token], k: int) -> bool:
    """A dash with a space on both sides sets off a clause ("OS new SRF - the fellow eye has GA"), unlike a hyphen."""
    return (
        tokens[k].raw in ("-", "–", "—")
        and 0 < k < len(tokens) - 1
        and tokens[k - 1].end < tokens[k].start
        and tokens[k].end < tokens[k + 1].start
    )


def _day_month_end(tokens: list[Token], j: int) -> int | None:
    """The end of a day-month date at tokens[j] ("14/01", "27.02", "10/10/24", "05/12/2024": a
    copy-forward note's earlier entries are dated so), or None: a day up to 31 and a month up to 12, either way
    round, so an acuity ("6/60") or a count is no date."""
    if j + 2 >= len(tokens) or tokens[j + 1].raw not in ("/", "."):
        return None
    first, second = tokens[j].raw, tokens[j + 2].raw
    if not (_DAY_OR_MONTH.fullmatch(first) and _DAY_OR_MONTH.fullmatch(second)):
        return None
    a, b = int(first), int(second)
    if not (1 <= a <= 31 and 1 <= b <= 31 and min(a, b) <= 12):
        return None
    k = j + 3
    if k + 1 < len(tokens) and tokens[k].raw == tokens[j + 1].raw and _SHORT_YEAR.fullmatch(tokens[k + 1].raw):
        k += 2
    return k


# a quotation: an opening mark after a space, "(" or ":" (not an apostrophe inside a word), its closing mark
# not followed by a letter
_QUOTATION = re.compile(r"""(?:(?<=[\s(:])|^)(['‘"“])(?=\S)(.{1,300}?)(?<=\S)['’"”](?![^\W\d_])""", re.DOTALL)
_QUOTE_REACH = 5  # tokens allowed between a historical cue and the quotation it introduces


def _quoted_history(text: str, tokens: list[Token], triggers: list[Trigger]) -> frozenset[int]:
    """Tokens inside a quotation introduced by a historical cue ("Previous report (2022): 'Left eye: intraretinal
    cysts, active CNV.'", "Tech flagged 'new SHRM'", "First reader reported 'SRF, active nAMD, urgent'"): the
    quoted reading is history as a whole, so a "new" or "active" inside it does not make it speak of now."""
    if not any(c in text for c in "'‘\"“"):
        return frozenset()
    ends = sorted(t.end for t in triggers if any(r.category == "historical" for r in t.rules))
    if not ends:
        return frozenset()
    starts = [t.start for t in tokens]
    out: set[int] = set()
    for m in _QUOTATION.finditer(text):
        first = bisect.bisect_left(starts, m.start(2))
        last = bisect.bisect_left(starts, m.end(2))
        k = bisect.bisect_right(ends, first) - 1
        if (
            k >= 0
            and first - ends[k] <= _QUOTE_REACH
            and not any(tokens[j].raw in (".", "!", ";") for j in range(ends[k], first))
        ):
            out.update(range(first, last))
    return frozenset(out)


def _stands_apart(tokens: list[Token], found: Match, end: int) -> bool:
    """The phrase is followed by a space or ends the sentence (not "?CNV")."""
    return found.end >= end or tokens[found.end].start > tokens[found.end - 1].end


def _opens_item(tokens: list[Token], found: Match, start: int, end: int) -> bool:
    """A sign standing first in its item, before a word ("(+) drusen", "OS: (-) SRF") that is no label of a field
    run on after it ("IRF: -ve PED: +ve")."""
    return (
        found.end - found.start == 1
        and tokens[found.start].raw in _SIGN_TOKENS
        and found.end < end
        and tokens[found.end].is_word
        and (found.start == start or tokens[found.start - 1].raw in _ITEM_OPENERS)
        and not (found.end + 1 < end and tokens[found.end + 1].raw in (":", "="))
    )


def _ranks_words(tokens: list[Token], k: int, start: int, end: int) -> bool:
    """The mark at k stands spaced between two words ("PCV > nAMD"), not before a number (">50%") or closing a
    markup tag ("No <b>SRF</b>")."""
    return (
        start < k < end - 1
        and tokens[k - 1].is_word
        and tokens[k + 1].raw[:1].isalpha()
        and tokens[k - 1].end < tokens[k].start
        and tokens[k].end < tokens[k + 1].start
    )


def _glued_query(tokens: list[Token], found: Match, start: int, end: int) -> bool:
    """A query mark spaced from the word before it and stuck to the word after it ("elevation ?dls")."""
    k = found.start
    return (
        tokens[k].raw in ("?", "??")
        and start < k
        and found.end < end
        and tokens[k - 1].end < tokens[k].start
        and tokens[found.end - 1].end == tokens[found.end].start
        and tokens[found.end].is_word
    )


def _opens_query(tokens: list[Token], k: int, end: int) -> bool:
    """A dash before a query mark and a word ("elevation - ? non-exudative MNV") opens a new query,
    not a field's value."""
    return (
        tokens[k].raw != ":"
        and k + 2 < end
        and tokens[k + 1].raw in ("?", "??")
        and tokens[k + 2].is_word
        and tokens[k + 1].start > tokens[k].end
    )


def negates_forward(trigger: Trigger) -> bool:
    """The trigger denies or hedges what follows it."""
    return any(r.category in ("negated", "uncertain") and r.direction == "forward" for r in trigger.rules)
