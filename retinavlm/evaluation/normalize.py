"""Word normalisation: case, contractions, British/American spelling and typos, folded the same way
on the vocabulary side and the report side so that "sub-retinal fliud" meets "subretinal fluid"."""

from __future__ import annotations

import re

from retinavlm.evaluation.context_rules import ContextRules
from retinavlm.evaluation.text import Token, clean_text, is_word, raw_tokens

_NUMBER_RANGE = re.compile(r"\d+(?:-\d+)+")


class Normalizer:
    def __init__(self, rules: ContextRules):
        self._aliases = rules.token_aliases
        self._spelling = rules.spelling
        self._min_length = rules.typo_min_length
        self._protected = rules.typo_protected
        self._vocabulary: set[str] = set()
        self._deletes: dict[str, list[str]] = {}
        self._cache: dict[str, str] = {}

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

    def phrase(self, phrase: str) -> tuple[str, ...]:
        """The folded token sequence of a vocabulary phrase; its words join the vocabulary."""
        surfaces = [s for _, _, s in raw_tokens(clean_text(phrase))]
        words = tuple(self.fold(s) for s in surfaces)
        self._vocabulary.update(words)
        self._vocabulary.update(self._lower(s) for s in surfaces)  # typos are corrected before folding
        return words

    def _lower(self, surface: str) -> str:
        word = surface.lower().replace("’", "'")
        return word.replace("-", "") if word[:1].isalnum() else word

    def as_written(self, phrase: str) -> tuple[str, ...]:
        """The token sequence of a case-sensitive phrase (an abbreviation), as report tokens carry it."""
        self.phrase(phrase)
        return tuple(s.replace("-", "") if is_word(s) else s for _, _, s in raw_tokens(phrase))

    def freeze(self) -> None:
        """Index the vocabulary for typo lookup; call once all phrases are registered."""
        self._deletes = {}
        for word in sorted(self._vocabulary):
            if len(word) >= self._min_length and word.isalpha():
                for variant in _deletes(word):
                    self._deletes.setdefault(variant, []).append(word)
        self._cache = {}

    def word(self, surface: str) -> str:
        """The folded form of a report word, typo-corrected to a vocabulary word one edit away."""
        cached = self._cache.get(surface)
        if cached is not None:
            return cached
        result = self.fold(surface)
        lower = self._lower(surface)
        if (
            result not in self._vocabulary
            and lower not in self._vocabulary
            and len(lower) >= self._min_length - 1
            and lower.isalpha()
            and lower not in self._protected
        ):
            corrected = self._correct(lower)
            result = self.fold(corrected) if corrected else result
        if len(self._cache) < 200_000:
            self._cache[surface] = result
        return result

    def _correct(self, word: str) -> str | None:
        # Symmetric delete (SymSpell, distance 1): the word, or one deletion of it, equals a
        # vocabulary word or one of its deletions. Same first letter, deterministic choice.
        # two neighbouring letters swapped ("fcoi" -> "foci") is one slip, not two edits
        swaps = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(1, len(word) - 1)}
        known = sorted(w for w in swaps if w in self._vocabulary)
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
        return min(candidates, key=lambda c: (abs(len(c) - len(word)), c)) if candidates else None

    def tokens(self, text: str) -> list[Token]:
        out = []
        for start, end, surface in raw_tokens(text):
            word = is_word(surface)
            out.append(Token(start, end, surface.replace("-", "") if word else surface, self.word(surface), word))
        return out


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}
