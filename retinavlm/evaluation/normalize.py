"""Word normalisation: case, contractions, British/American spelling, typos and dictation slips, folded
the same way on the vocabulary side and the report side so that "sub-retinal fliud" and "sub retinal
flu id" meet "subretinal fluid"."""

from __future__ import annotations

import re

from retinavlm.evaluation.context_rules import ContextRules
from retinavlm.evaluation.text import Token, clean_text, is_word, raw_tokens

_NUMBER_RANGE = re.compile(r"\d+(?:-\d+)+")
_VOWEL_RUNS = re.compile(r"[aeiouw]+")
_MIN_CONSONANTS = 3  # a shorter skeleton ("early", "yearly") sounds like too many words
_QUOTES = frozenset("\"'")
_GLUED = re.compile(r"([a-z]{2,})([A-Z]{2,}s?)")  # "noSRF", "intermediateAMD", "noGA"
# a JSON key and its list of strings ("biomarkers absent": ["drusen", "subretinal fluid"]), after clean_text
_JSON_LIST = re.compile(r'"(?P<key>[^"\n]{1,60})"[ \t]*:[ \t]*\[(?P<items>[^\[\]\n]*)\]')
_JSON_ITEM = re.compile(r'"([^"\n]+)"')
# the same list written without quotes, as a model's loose JSON or YAML does ("{findings: [drusen], negatives: [SRF,
# IRF]}")
_BARE_LIST = re.compile(r"(?<![\w\"])(?P<key>[A-Za-z][A-Za-z _]{0,59}?)[ \t]*:[ \t]*\[(?P<items>[^\[\]\"\n]*)\]")
# a JSON object's comma before a key ({"amd_stage": "intermediate", "referral": ...}), quoted or not ({findings: [...],
# negatives: [...]}): each pair is a field
_JSON_KEY = re.compile(r',(?=[ \t]*(?:"[^"\n]{1,60}"|[A-Za-z][A-Za-z_ ]{0,59})[ \t]*:)')
_LIST_MARKS = {"absent": "✗", "present": "✓"}  # check marks, read as the item's value
# a dosing interval ("q12w", "Q8WK", "q10 weeks"): the "q" (every) is dropped and the text kept to the same
# length, so the interval reads as weeks (`_dosing`)
# a count after a finding's name in a row of pipe-separated cells ("SRF 0 | IRF 0 | PED 1"): 0 is none, 1 is one
_COUNT_CELL = re.compile(r"(?<=[A-Za-z)])([ \t]+)([01])(?=[ \t]*(?:\||$))", re.MULTILINE)
# a checklist's answer after its finding without a colon ("SRF no / IRF no / PED yes (flat)", "IRF yes, SRF no"),
# also closing a bracket ("Fluid: none (SRF no / IRF no)")
_ANSWERED_ITEM = re.compile(r"(?<=[A-Za-z])[ \t](?=(?:yes|no)\b[ \t]*(?:[,;/|.()\]]|$))", re.IGNORECASE | re.MULTILINE)
_DOSING = re.compile(r"(?<![\w/])q(\d{1,2}) ?(w|wk|wks|week|weeks)\b", re.IGNORECASE)
# an abbreviation dictated or typed letter by letter with full stops ("R.P.E.", "O.C.T.")
_DOTTED_LETTERS = re.compile(r"(?<![\w.])(?:[A-Za-z]\.){2,}(?!\w)")
# a model's probability for a finding: "P(SRF)=0.04", "p(GA) = 61%"
_PROBABILITY = re.compile(
    r"(?<!\w)[pP]\((?P<name>[^()=:\n]{1,40}?)\)[ \t]*[=:][ \t]*(?P<value>\d*\.?\d+)(?P<percent>[ \t]*%)?"
)


# a model's score for a finding, perhaps named ("p=0.12", "score 0.4", "0.05", "85%")
_SCORE_VALUE = r"(?:(?:p|prob|probability|score|conf|confidence)[ \t]*[=:]?[ \t]*)?(?:\d*\.\d+|\d+(?:\.\d+)?[ \t]*%)"

# a finding's nested answer object ('"shrm": {"detected": false}', '"srf": {"present": true, "volume_nl": 42}'): the
# detection key is blanked, so its boolean answers the finding's own key as '"shrm": false' does
_NESTED_ANSWER = re.compile(r'(?<=\{)[ \t]*"(?:detected|present)"[ \t]*:(?=[ \t]*(?:true|false)\b)')


# a key's integer zero in a model's JSON ('"fluid": {"srf": 0, "irf": 0}'): none found, the sign "-" as a measured zero
# reads (a score, "0.08", is no integer; a one is left as it reads)
_JSON_ZERO = re.compile(r'(?<=")([ \t]*:[ \t]*)0([,}])')

# a field's integer zero ("SRF: 0 | IRF: 0", "drusen: 0"): none found, the sign "-" as a
# table's count cell and a model's JSON zero read (a decimal, "VA: 0.3", is no integer zero)
_FIELD_ZERO = re.compile(r"(?<=[A-Za-z)])([ \t]*:[ \t]*)0(?=[ \t]*(?:[|,;\n]|\.(?!\d)|$))")

# a finding's answer key in a model's JSON ('"irf_present": false', '"srf_detected": true'): the finding's own state
# (its underscore may already be a space: clean_text splits field names at it)
_STATE_KEY = re.compile(r'"([A-Za-z][A-Za-z ]{0,30}?)[_ ](?:present|detected)"[ \t]*:[ \t]*(?:true|false)\b')


# a finding's state word in a model's states object ('"states": {"srf": "uncertain", "irf": "absent"}')
# or its thresholded booleans beside the scores ('"predictions": {"srf": 0.05}, "thresholded": {"srf": false}')
_STATES_OBJECT = re.compile(
    r'"(?:states|state|calls|decisions|thresholded|binary|binarized|binarised)"[ \t]*:[ \t]*\{(?P<pairs>[^{}]*)\}',
    re.IGNORECASE,
)
_STATE_PAIR = re.compile(
    r'"([A-Za-z][A-Za-z ]{0,30}?)"[ \t]*:[ \t]*(?:"(?:present|absent|uncertain|detected|not detected|equivocal)"|true\b|false\b)',
    re.IGNORECASE,
)
# a score before the answer key in a finding's nested object ('"srf": {"probability": 0.41, "present":
# false}'): the score gives way to the answer (convention (c)), which then answers the finding's own key
_NESTED_SCORE = re.compile(
    r'(?<=\{)[ \t]*"(?:probability|prob|score|p|confidence|conf)"[ \t]*:[ \t]*\d*\.?\d+[ \t]*,'
    r'(?=[ \t]*"(?:detected|present)"[ \t]*:[ \t]*(?:true|false)\b)'
)
# a score named with its finding and followed by the state the output derives from it ("irf_probability 0.12 -> IRF
# absent", its underscore already a space): the score and its arrow, so the stated state is the finding's value
_SCORE_ARROW = re.compile(
    r"(?<![\w])(?P<name>[A-Za-z]{2,12})[ \t]+(?:probability|prob|score|p)[ \t]*[=:]?[ \t]*\d*\.?\d+[ \t]*(?:->|→|=>)"
    r"(?=[ \t]*(?P=name)\b[ \t]+(?:present|absent|uncertain|detected|not detected|equivocal)\b)",
    re.IGNORECASE,
)


def _scores_giving_way(text: str) -> str:
    """A model's bare score for a finding ('"IRF": 0.08' in a scores object) gives way to the state the same output
    writes for it ('"irf_present": false', '"states": {"irf": "absent"}'): the score's pair is blanked, so the stated
    state is the finding's value (the lead's convention (c), eval/README.md round 36). A bare score with no state beside
    it stays as it reads."""
    names = {m.group(1).lower() for m in _STATE_KEY.finditer(text)}
    for states in _STATES_OBJECT.finditer(text):
        names.update(m.group(1).lower() for m in _STATE_PAIR.finditer(states.group("pairs")))
    if not names:
        return text
    pairs = re.compile(
        r'"(?:' + "|".join(re.escape(n) for n in sorted(names)) + r')"[ \t]*:[ \t]*\d*\.?\d+[ \t]*,?', re.IGNORECASE
    )
    return pairs.sub(lambda m: " " * len(m.group()), text)


def _json_fields(text: str) -> str:
    """A JSON object read as fields, same length: each top-level pair after a ";" ('{"eye": "OS", "amd_stage":
    "intermediate"}' -> '{"eye": "OS"; "amd_stage": "intermediate"}'), so a key that is a heading ("stage") heads its
    value as a line's field does; a nested object stays one statement with its key ('"OD": {"stage": ..., "fibrosis":
    ...}' is the other eye's)."""
    chars = list(text)
    depth, quoted = 0, False
    for n, c in enumerate(text):
        if c == '"':
            quoted = not quoted
        elif not quoted and c in "{[":
            depth += 1
        elif not quoted and c in "}]":
            depth -= 1
        elif c == "," and depth == 1 and not quoted and _JSON_KEY.match(text, n):
            chars[n] = ";"
    return "".join(chars)


class Normalizer:
    def __init__(self, rules: ContextRules):
        self._aliases = rules.token_aliases
        self._spelling = rules.spelling
        self._min_length = rules.typo_min_length
        self._protected = rules.typo_protected
        self._vocabulary: set[str] = set()
        self._deletes: dict[str, list[str]] = {}
        self._cache: dict[str, str] = {}
        self._prefixes = rules.hanging_prefixes
        self._spoken = _spoken_pattern(rules.spoken_punctuation)
        self._spoken_marks = rules.spoken_punctuation
        self._noun_after = rules.spoken_noun_after
        self._numbers = rules.spoken_numbers
        # a number dictated as a word that sounds like it, between "within" / "in" and a time unit ("within to weeks")
        self._spoken_number = (
            re.compile(
                r"(?i)(?<!\w)(?:within|in)[ \t]+(?P<word>"
                + "|".join(re.escape(w) for w in rules.spoken_numbers)
                + r")(?=[ \t]+(?:"
                + "|".join(re.escape(u) for u in rules.spoken_number_units)
                + r")(?!\w))"
            )
            if rules.spoken_numbers and rules.spoken_number_units
            else None
        )
        # a field whose value completes its name ("AREDS category: 3" is "AREDS category 3"), a table's cell too
        # ("AREDS category | 3", round 31)
        self._joined_field = (
            re.compile(
                r"(?i)(?<!\w)(?:"
                + "|".join(re.escape(f) for f in rules.joined_fields)
                + r")[ \t]*(?P<mark>[:=|])(?=[ \t]*\w)"
            )
            if rules.joined_fields
            else None
        )
        self._list_keys = rules.finding_list_keys
        # a dotted leader between a field and its value ("Drusen ........ none") is the field's ":"
        self._leader = (
            re.compile(rf"(?<=\S)[ \t]*(?:{'|'.join(re.escape(c) for c in rules.field_leaders)}){{4,}}[ \t]*(?=\S)")
            if rules.field_leaders
            else None
        )
        self._leader_marks = rules.field_leaders
        self._table_label_words = rules.table_label_words
        # an eye as a table's first column ("| RE | IRF | absent |"): the row's heading, the label is the next cell
        self._row_eyes = frozenset(
            phrase.lower()
            for side in ("right", "left", "both")
            for phrase in rules.eyes.get(side, ())
            if ":" not in phrase
        )
        # a measured zero ("Drusen volume: 0.00 mm³", "IRF 0.00 mm³") is the finding's "-": none was found
        self._zero = (
            re.compile(
                r"(?<![\w.,])0(?:[.,]0+)?[ \t]*(?:" + _longest_first(rules.zero_units) + r")(?![\w³²])",
                re.IGNORECASE,
            )
            if rules.zero_units
            else None
        )
        self._probability_present = rules.probability_present
        self._probability_absent = rules.probability_absent
        # a score between a field's colon, or its name, and the state word it explains ("SRF: 0.02 absent", "srf:
        # 0.05 (absent)", "SRF 0.03 (absent)"), also with its own name ("IRF p=0.12 (not detected)", "SRF score 0.4
        # (uncertain)", round 32)
        self._score = (
            re.compile(
                r"(?<=[:\w])(?P<score>[ \t]*"
                + _SCORE_VALUE
                + r")(?=[ \t]+\(?(?:"
                + _longest_first(rules.probability_words)
                + r")\b)",
                re.IGNORECASE,
            )
            if rules.probability_words
            else None
        )
        # the same score first in a bracket, the state word after a comma and closing it ("IRF (p=0.41, uncertain)",
        # "PED (0.12, absent)"): the score and its comma are left out, as "IRF (uncertain)" reads
        self._bracket_score = (
            re.compile(
                r"(?<=\()(?P<score>[ \t]*"
                + _SCORE_VALUE
                + r"[ \t]*,)(?=[ \t]*(?:"
                + _longest_first(rules.probability_words)
                + r")[ \t]*\))",
                re.IGNORECASE,
            )
            if rules.probability_words
            else None
        )
        self._speech_min = rules.speech_min_length
        self._sounds = rules.speech_sounds
        self._clinical: set[str] = set()  # single words of clinical terms, which a dictation slip may mean
        self._by_sound: dict[str, list[str]] = {}
        self._joins: dict[str, str | None] = {}

    def fold(self, word: str) -> str:
        """Lower-case, drop hyphens (not in a range of numbers: "1-2" is not "12"), expand contractions,
        fold spelling (no typo correction)."""
        word = word.lower().replace("’", "'")
        word = self._aliases.get(word, word)
        if "-" in word and word[:1].isalnum() and not _NUMBER_RANGE.fullmatch(word):
            word = word.replace("-", "")
        for british, american in self._spelling:
            if british in word:
                word = word.replace(british, american)
        return word

    def phrase(self, phrase: str, clinical: bool = False) -> tuple[str, ...]:
        """The folded token sequence of a vocabulary phrase; its words join the vocabulary (`clinical`:
        also the words a dictation slip may mean)."""
        surfaces = [s for _, _, s in raw_tokens(clean_text(phrase))]
        words = tuple(self.fold(s) for s in surfaces)
        self._vocabulary.update(words)
        self._vocabulary.update(self._lower(s) for s in surfaces)  # typos are corrected before folding
        if clinical:
            self._clinical.update(w for w in (self._lower(s) for s in surfaces) if w.isalpha())
        return words

    def _lower(self, surface: str) -> str:
        word = surface.lower().replace("’", "'")
        return word.replace("-", "") if word[:1].isalnum() else word

    def as_written(self, phrase: str, clinical: bool = False) -> tuple[str, ...]:
        """The token sequence of a case-sensitive phrase (an abbreviation), as report tokens carry it."""
        self.phrase(phrase, clinical)
        return tuple(s.replace("-", "") if is_word(s) else s for _, _, s in raw_tokens(phrase))

    def freeze(self) -> None:
        """Index the vocabulary for typo lookup; call once all phrases are registered."""
        self._deletes = {}
        for word in sorted(self._vocabulary):
            if len(word) >= self._min_length and word.isalpha():
                for variant in _deletes(word):
                    self._deletes.setdefault(variant, []).append(word)
        self._by_sound = {}
        for word in sorted(self._clinical):
            if len(word) >= self._speech_min - 1:
                self._by_sound.setdefault(self.sound(word), []).append(word)
        self._cache = {}
        self._joins = {}

    def sound(self, word: str) -> str:
        """A key shared by words that sound alike: "drewsin" and "drusen", "sists" and "cysts" (the first
        letter and doubled letters kept: "hyporeflective" is not "hyperreflective")."""
        for letters, sound in self._sounds:
            if letters in word:
                word = word.replace(letters, sound)
        return word[:1] + _VOWEL_RUNS.sub("a", word[1:])

    def _sounds_like(self, word: str) -> str | None:
        """The one clinical word that sounds like `word` and is about as long, if there is one."""
        key = self.sound(word)
        if sum(c != "a" for c in key[1:]) < _MIN_CONSONANTS:
            return None
        found = [w for w in self._by_sound.get(key, ()) if abs(len(w) - len(word)) <= 2]
        return found[0] if len(found) == 1 else None

    def word(self, surface: str) -> str:
        """The folded form of a report word, typo-corrected to a vocabulary word one edit away."""
        cached = self._cache.get(surface)
        if cached is not None:
            return cached
        result = self.fold(surface)
        lower = self._lower(surface)
        if len(lower) == 3 and surface.isupper() and result not in self._vocabulary:
            # an abbreviation with two letters swapped ("SFR", "IFR"), only into a clinical one ("INL" is not "nil")
            swapped = sorted(w for w in _swaps(lower) if w in self._clinical)
            result = swapped[0] if swapped else result
        elif (
            result not in self._vocabulary
            and lower not in self._vocabulary
            and len(lower) >= self._min_length - 1
            and lower.isalpha()
            and lower not in self._protected
        ):
            corrected = self._correct(lower)
            if corrected is None and len(lower) >= self._speech_min - 1:
                corrected = self._sounds_like(lower)  # a dictated word ("sists" = cysts)
            result = self.fold(corrected) if corrected else result
        if len(self._cache) < 200_000:
            self._cache[surface] = result
        return result

    def _correct(self, word: str) -> str | None:
        # Symmetric delete (SymSpell, distance 1): the word, or one deletion of it, equals a
        # vocabulary word or one of its deletions. Same first letter, deterministic choice.
        # two neighbouring letters swapped ("fcoi" -> "foci") is one slip, not two edits
        known = sorted(w for w in _swaps(word, 1) if w in self._vocabulary)
        if known:
            return known[0]
        # the first two letters swapped, only into a clinical word ("lfuid" -> "fluid")
        known = sorted(w for w in _swaps(word[:2]) if w + word[2:] in self._clinical)
        if known:
            return known[0] + word[2:]
        # a letter typed two places late or early, only into a clinical word ("fuild" -> "fluid")
        known = sorted(w for w in _shifts(word, 1) if w in self._clinical)
        if known:
            return known[0]
        candidates: set[str] = set()
        for variant in (word, *_deletes(word)):
            if variant in self._vocabulary:
                candidates.add(variant)
            candidates.update(self._deletes.get(variant, ()))
        # one letter shorter than the minimum: only a dropped letter is restored ("flud" -> "fluid")
        shortest = len(word) < self._min_length
        candidates = {
            c
            for c in candidates
            if c[0] == word[0] and (len(c) == len(word) + 1 if shortest else abs(len(c) - len(word)) <= 1)
        }
        # one edit away ("detatchment" -> "detachment") before two that share a deletion ("detachments")
        return (
            min(candidates, key=lambda c: (not _one_edit(word, c), abs(len(c) - len(word)), c)) if candidates else None
        )

    def punctuate(self, text: str) -> str:
        """Punctuation dictated as words becomes the mark, padded to the same length so offsets hold
        ("no fluid full stop" -> "no fluid .        "; "new line" -> ".\n      "), and a dotted leader
        of four or more marks between a field and its value is its colon ("Drusen ..... none"); a model's probability
        for a finding is its value as a sign ("P(SRF)=0.04" -> "SRF: -,")."""
        if self._list_keys and '"' in text and "[" in text:
            text = _JSON_LIST.sub(self._finding_list, text)
        if text.lstrip().startswith("{") and ":" in text:
            if '"detected"' in text or '"present"' in text:
                text = _NESTED_SCORE.sub(lambda m: " " * len(m.group()), text)
                text = _NESTED_ANSWER.sub(lambda m: " " * len(m.group()), text)
            if (
                'present"' in text
                or 'detected"' in text
                or "states" in text
                or "calls" in text
                or "decisions" in text
                or "thresholded" in text
                or "binar" in text
            ):
                text = _scores_giving_way(text)
            text = _json_fields(text)
            if "0" in text:  # after the fields, whose nesting the closing brace keeps: "0}" ends its item as "-,"
                text = _JSON_ZERO.sub(lambda m: m.group(1) + "-,", text)
        if ": 0" in text or ":0" in text:
            text = _FIELD_ZERO.sub(lambda m: m.group(1) + "-", text)
        if ("->" in text or "→" in text or "=>" in text) and _SCORE_ARROW.search(text):
            text = _SCORE_ARROW.sub(lambda m: " " * len(m.group()), text)
        if self._list_keys and ":" in text and "[" in text:  # after the fields, whose brackets it consumes
            text = _BARE_LIST.sub(self._bare_finding_list, text)
        if self._zero is not None and "0" in text:
            text = self._zero.sub(lambda m: "-".ljust(len(m.group())), text)
        if ("q" in text or "Q" in text) and _DOSING.search(text):
            text = _DOSING.sub(_dosing, text)
        if "." in text and _DOTTED_LETTERS.search(text):
            text = _DOTTED_LETTERS.sub(lambda m: m.group().replace(".", "").ljust(len(m.group())), text)
        if self._joined_field is not None:
            text = self._joined_field.sub(lambda m: m.group()[: m.start("mark") - m.start()] + " ", text)
        if ("P(" in text or "p(" in text) and _PROBABILITY.search(text):
            text = _PROBABILITY.sub(self._probability, text)
        if self._score is not None and ("." in text or "%" in text):
            text = self._score.sub(lambda m: " " * len(m.group()), text)
            if "(" in text and "," in text:
                text = self._bracket_score.sub(lambda m: " " * len(m.group()), text)
        if text.count("|") >= 2:
            text = "".join(_counted_cells(line) for line in text.splitlines(keepends=True))
        if _ANSWERED_ITEM.search(text):
            text = "".join(_answered_items(line) for line in text.splitlines(keepends=True))
        if self._table_label_words and "|" in text:
            text = "".join(self._table_row(line) for line in text.splitlines(keepends=True))
        if self._leader is not None and any(mark * 4 in text for mark in self._leader_marks):
            text = self._leader.sub(lambda m: " :".ljust(len(m.group())), text)
        if self._spoken_number is not None:
            text = self._spoken_number.sub(self._spoken_digits, text)
        if self._spoken is None:
            return text
        return self._spoken.sub(self._spoken_mark, text)

    def _spoken_digits(self, m: re.Match) -> str:
        word = m.group("word")
        return m.group()[: m.start("word") - m.start()] + self._numbers[word.lower()].ljust(len(word))

    def _spoken_mark(self, m: re.Match) -> str:
        """A dictated punctuation word is its mark, unless a word before it makes it a noun ("a period of")."""
        before = m.string[max(0, m.start() - 30) : m.start()].split()
        if before and before[-1].lower() in self._noun_after:
            return m.group()
        return self._spoken_marks[m.group().lower()].ljust(len(m.group()))

    def _finding_list(self, m: re.Match) -> str:
        """A JSON list under a key that says absent or present ("biomarkers absent": ["drusen", "subretinal fluid"])
        reads as each item followed by that value's check mark, same length."""
        state = self._list_state(m.group("key"))
        if state is None:
            return m.group()
        mark = _LIST_MARKS[state]
        start = m.start("items") - m.start()
        items = _JSON_ITEM.sub(lambda item: f" {item.group(1)}{mark}", m.group("items"))
        return m.group()[:start] + items + m.group()[m.end("items") - m.start() :]

    def _list_state(self, key: str) -> str | None:
        """The state a list's key says its items are in ("biomarkers absent", "negatives"): the first whose words the
        key holds, absent first ("findings not detected" is not "detected")."""
        key = " " + " ".join(key.lower().split()) + " "
        return next(
            (s for s in ("absent", "present") if any(f" {w} " in key for w in self._list_keys.get(s, ()))), None
        )

    def _bare_finding_list(self, m: re.Match) -> str:
        """An unquoted list under such a key ("negatives: [SRF, IRF]"): each item's comma, and the closing bracket,
        become its check mark, same length ("negatives: [SRF✗ IRF✗")."""
        state = self._list_state(m.group("key"))
        if state is None or not m.group("items").strip():
            return m.group()
        mark = _LIST_MARKS[state]
        start = m.start("items") - m.start()
        return m.group()[:start] + m.group("items").replace(",", mark) + mark

    def _probability(self, m: re.Match) -> str:
        value = float(m.group("value")) / (100 if m.group("percent") else 1)
        sign = "+" if value >= self._probability_present else "-" if value <= self._probability_absent else "?"
        # the comma ends the value's item, so a comment after it ("[flag: indeterminate]") is no clause of the field
        return f"{m.group('name')}: {sign},".ljust(len(m.group()))

    def _table_row(self, line: str) -> str:
        """A table row "finding | value | other columns" reads "finding : value ; other columns": the first
        value cell answers the label, later cells (earlier visits, comments) stand apart. A row whose first
        cell already holds a field ("SRF: N | IRF: Y") or is longer than a label is left alone."""
        cells = line.split("|")
        first = 1 if not cells[0].strip() and len(cells) > 2 else 0
        row = cells[first:-1] if not cells[-1].strip() else cells[first:]
        if len(row) == 3 and row[0].strip().lower() in self._row_eyes:
            first += 1  # "| RE | IRF | absent |": the eye heads an eye-finding-state row (not a wide row of fields)
        label = cells[first]
        if len(cells) - first < 2 or ":" in label or not 0 < len(label.split()) <= self._table_label_words:
            return line
        if not cells[first + 1].strip():
            return line
        value = cells[first + 1]
        if value.strip() == "0":  # a count of none
            value = value.replace("0", "-")
        out = "|".join(cells[: first + 1]) + ":" + value
        later = [";" + cell for cell in cells[first + 2 :]]
        # The row ends its statement, where a character is free for the mark (a closing pipe or a trailing
        # space): a last cell's "no" (an earlier visit's) must not negate the next row's finding.
        if later and not later[-1][1:].strip():
            later[-1] = "." + later[-1][1:]
        elif later and later[-1].rstrip("\n")[-1:].isspace():
            body = later[-1].rstrip("\n")
            later[-1] = body[:-1] + "." + later[-1][len(body) :]
        return out + "".join(later)

    def tokens(self, text: str) -> list[Token]:
        out = []
        cache = self._cache
        loose_object = text.lstrip().startswith("{")  # a model's object, its keys perhaps unquoted
        raw = raw_tokens(text)
        n = len(raw)
        i = 0
        while i < n:
            start, end, surface = raw[i]
            # a dictated word split in pieces: words one space apart
            if i + 1 < n and raw[i + 1][0] == end + 1 and surface.isalpha() and text[end] == " ":
                joined = self._split_word(text, raw, i)
                if joined is not None:
                    out.append(joined[0])
                    i += joined[1]
                    continue
            glued = self._glued(surface) if surface[:1].islower() and not surface.islower() else 0
            if glued:  # "noSRF", "intermediateAMD": a word run into an abbreviation without its space
                cut = start + glued
                out.append(Token(start, cut, surface[:glued], self.word(surface[:glued]), True))
                out.append(Token(cut, end, surface[glued:], self.word(surface[glued:]), True))
                i += 1
                continue
            word = is_word(surface)
            written = surface.replace("-", "") if word else surface
            if (
                word
                and start
                and (
                    (text[start - 1] in _QUOTES and _json_key(text, start, end, surface))
                    or (loose_object and _bare_json_key(text, start, end, surface))
                )
            ):
                written = surface.upper()  # a model's field name in lower case ("ga": "-") is still the abbreviation
            norm = cache.get(surface)  # most words were seen before: no call for them
            out.append(Token(start, end, written, self.word(surface) if norm is None else norm, word))
            i += 1
        return out

    def _glued(self, surface: str) -> int:
        """Where a lower-case word runs into an upper-case abbreviation ("noSRF", "intermediateAMD", "toMR"):
        both parts are vocabulary words and the whole is not ("hyperTD" stays); 0 when it is no such word. The
        caller has checked the word starts lower-case and has a capital."""
        m = _GLUED.fullmatch(surface)
        if m is None or surface.lower() in self._vocabulary:
            return 0
        head, tail = m.group(1), m.group(2)
        return len(head) if head in self._vocabulary and tail.lower() in self._vocabulary else 0

    def _split_word(self, text: str, raw, i: int) -> tuple[Token, int] | None:
        """A clinical word dictated in two or three pieces ("sub retinal", "anti veg F", "drew sin"), one
        of them a fragment: no vocabulary word, a hanging prefix or a single letter. The caller has checked
        that the first two pieces are words one space apart."""
        (a_start, _, a), (_, b_end, b) = raw[i], raw[i + 1]
        if not b.isalpha():
            return None
        candidates = [(2, f"{a} {b}".lower())]
        if i + 2 < len(raw) and len(b) <= 3 and len(a) <= 4:  # "anti veg F", "A M D": short pieces only
            c_start, _, c = raw[i + 2]
            if c_start == b_end + 1 and text[b_end] == " " and c.isalpha() and len(c) <= 3:
                candidates.insert(0, (3, f"{a} {b} {c}".lower()))
                # four letters spelled out ("S H R M"): single letters only
                if i + 3 < len(raw) and len(a) == len(b) == len(c) == 1:
                    d_start, _, d = raw[i + 3]
                    if d_start == raw[i + 2][1] + 1 and text[raw[i + 2][1]] == " " and d.isalpha() and len(d) == 1:
                        candidates.insert(0, (4, f"{a} {b} {c} {d}".lower()))
        for pieces, key in candidates:
            word = self._joins.get(key, "")
            if word == "":
                word = self._join(tuple(key.split(" "))) if len(self._joins) < 200_000 else None
                self._joins[key] = word
            if word is not None:
                last_end = raw[i + pieces - 1][1]
                surface = "".join(p[2] for p in raw[i : i + pieces])
                return Token(a_start, last_end, surface, self.fold(word), True), pieces
        return None

    def _join(self, pieces: tuple[str, ...]) -> str | None:
        # a fragment: a piece of three letters or more that is no vocabulary word, or a hanging prefix
        # ("sub"); single letters only when every piece is one ("A M D")
        letters = all(len(p) == 1 for p in pieces)
        if not (letters or any(p in self._prefixes or (len(p) >= 3 and p not in self._vocabulary) for p in pieces)):
            return None
        word = "".join(pieces)
        if word in self._clinical:
            return word
        if len(pieces) == 2 and len(word) >= self._speech_min:
            return self._sounds_like(word)
        return None


def _dosing(m: re.Match) -> str:
    """ "q14wk" -> "14w", "q10 weeks" -> "10 weeks", padded to the same length: the number with a short unit stays
    one token ("12w", not "12 w.", whose full stop would read as an abbreviation's)."""
    number, unit = m.group(1), m.group(2)
    reading = f"{number} {unit}" if unit.lower().startswith("week") else f"{number}w"
    return reading.ljust(len(m.group()))


def _longest_first(words) -> str:
    """A regex alternation of the words, longest first, so that a longer word wins over its own prefix."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _spoken_pattern(marks: dict[str, str]) -> re.Pattern | None:
    if not marks:
        return None
    return re.compile(r"(?<!\w)(?:" + _longest_first(marks) + r")(?!\w)", re.IGNORECASE)


def _swaps(word: str, first: int = 0) -> set[str]:
    """The word with two neighbouring letters swapped, from position `first` on."""
    return {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(first, len(word) - 1)}


def _shifts(word: str, first: int = 0) -> set[str]:
    """The word with one letter moved two places, from position `first` on (three neighbouring letters rotated)."""
    out = set()
    for i in range(first, len(word) - 2):
        a, b, c = word[i : i + 3]
        out.update((word[:i] + b + c + a + word[i + 3 :], word[:i] + c + a + b + word[i + 3 :]))
    return out


def _one_edit(word: str, other: str) -> bool:
    """One letter dropped, added or replaced."""
    if len(word) == len(other):
        return sum(a != b for a, b in zip(word, other)) == 1
    short, long = sorted((word, other), key=len)
    return len(long) - len(short) == 1 and short in _deletes(long)


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _bare_json_key(text: str, start: int, end: int, surface: str) -> bool:
    """The same field name unquoted in a model's loose object ("{eye: OS, ga: present}"): after "{", "," or ";"."""
    before = text[:start].rstrip()[-1:]
    return (
        before in ("{", ",", ";")
        and surface.isalpha()
        and surface.islower()
        and len(surface) <= 5
        and text[end : end + 2].lstrip()[:1] == ":"
    )


def _json_key(text: str, start: int, end: int, surface: str) -> bool:
    """A short lower-case word quoted as a field name ("ga": "-", 'srf': 'absent'); the caller has checked the
    opening quote."""
    if end >= len(text) or text[end] != text[start - 1]:
        return False
    return surface.isalpha() and surface.islower() and len(surface) <= 5 and text[end + 1 : end + 3].lstrip()[:1] == ":"


def _counted_cells(line: str) -> str:
    """A summary row of findings with counts ("SRF 0 | IRF 0 | PED 1 | GA 0", a grading tool's export) reads each
    count as its sign: 0 found is "-", 1 is "+" (same length), and the pipes end each cell's item, so no later
    table rule reads a cell as the first one's value. Only in a row of at least three cells, two of them counts."""
    if line.count("|") < 2:
        return line
    out, n = _COUNT_CELL.subn(lambda m: m.group(1) + ("-" if m.group(2) == "0" else "+"), line)
    return out.replace("|", ";") if n >= 2 else line


def _answered_items(line: str) -> str:
    """A checklist line answering its findings without colons ("OCT: SRF no / IRF no / PED yes (flat) / Haem no")
    reads each answer as its field's value ("SRF:no"), and a spaced slash between them ends an item, so no answer
    reaches its neighbour. Only where a line has at least two such answers, so prose ("say no.") is left alone."""
    if len(_ANSWERED_ITEM.findall(line)) < 2:
        return line
    return _ANSWERED_ITEM.sub(":", line).replace(" / ", " ; ")
