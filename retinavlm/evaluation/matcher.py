"""Leftmost-longest phrase matching over tokens (a word trie): the target and trigger finder."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass

from retinavlm.evaluation.text import Token

_END = object()  # trie key under which a node keeps the payloads of the phrase ending there
NUMBER = "#"  # a phrase word that matches any number written in digits ("review # months": "review 6 months"),
# also run into the next word ("# monthly review": "6-monthly review")
# or spelled out ("within the next two weeks"); not "a" or "an", which are articles far more often
NUMBER_WORDS = frozenset(
    ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
)


@dataclass(frozen=True, slots=True)
class Match:
    start: int  # token index
    end: int  # token index, exclusive
    payloads: tuple[Hashable, ...]


class PhraseTable:
    """Phrases (token tuples) -> payloads. Lower-case phrases match folded tokens; case-sensitive
    ones (abbreviations such as "GA", "PED") match the tokens as written, or in lower case in a
    text written without capitals (`caseless`: "ga temporal to fovea"). A "#" in a phrase matches any
    number written in digits or as a word up to twelve."""

    def __init__(self) -> None:
        self._folded: dict = {}
        self._exact: dict = {}
        self._exact_lower: dict = {}

    def add(self, words: tuple[str, ...], payload: Hashable, case_sensitive: bool = False) -> None:
        if not words:
            return
        if case_sensitive:
            _insert(self._exact, words, payload)
            _insert(self._exact_lower, tuple(w.lower() for w in words), payload)
        else:
            _insert(self._folded, words, payload)

    def may_match(self, norms: frozenset[str], written: frozenset[str], caseless: bool = False) -> bool:
        """Whether a text with these folded words and these words as written (lower-cased when `caseless`)
        can hold a phrase: a look once per report spares scanning every sentence for a phrase it lacks."""
        exact = self._exact_lower if caseless else self._exact
        # keys().isdisjoint(a set) looks up the report's few words; set.isdisjoint(a dict) would walk the table
        return NUMBER in self._folded or not (
            self._folded.keys().isdisjoint(norms) and exact.keys().isdisjoint(written)
        )

    def get(self, words: tuple[str, ...]) -> tuple[Hashable, ...]:
        """Payloads of exactly this lower-case phrase (empty if unknown)."""
        node = self._folded
        for word in words:
            node = node.get(word)
            if node is None:
                return ()
        return tuple(node.get(_END, ()))

    def match_at(self, tokens: list[Token], i: int, end: int | None = None, caseless: bool = False) -> Match | None:
        """The longest phrase starting at token i (and ending by `end`), or None."""
        end = len(tokens) if end is None else end
        if i >= end:
            return None
        best_end, node = self._longest(tokens, i, end, caseless)
        return None if node is None else Match(i, best_end, tuple(node[_END]))

    def scan(
        self, tokens: list[Token], start: int = 0, end: int | None = None, caseless: bool = False
    ) -> Iterator[Match]:
        """Non-overlapping leftmost-longest matches in tokens[start:end]."""
        end = len(tokens) if end is None else end
        folded = self._folded
        exact = self._exact_lower if caseless else self._exact
        numbers = NUMBER in folded  # a phrase starts with a number ("# monthly review")
        i = start
        while i < end:
            token = tokens[i]
            # most words start no phrase: a look at the roots first spares the walk's call
            if (
                token.norm in folded
                or (token.raw.lower() if caseless else token.raw) in exact
                or (numbers and (token.norm[:1].isdigit() or token.norm in NUMBER_WORDS))
            ):
                best_end, node = self._longest(tokens, i, end, caseless)
                if node is not None:
                    yield Match(i, best_end, tuple(node[_END]))
                    i = best_end
                    continue
            i += 1

    def _longest(self, tokens: list[Token], i: int, end: int, caseless: bool) -> tuple[int, dict | None]:
        """(end, trie node) of the longest phrase from token i; the node is None where none starts. A root is
        walked only when it holds the first word (or a number phrase and the word is a number)."""
        token = tokens[i]
        best: tuple[int, dict | None] = (i, None)
        if _starts(self._folded, token.norm):
            best = _walk(self._folded, tokens, i, end, False, caseless, best)
        exact = self._exact_lower if caseless else self._exact
        if exact and _starts(exact, token.raw.lower() if caseless else token.raw):
            best = _walk(exact, tokens, i, end, True, caseless, best)
        return best


def _starts(root: dict, word: str) -> bool:
    """Whether a phrase of this trie root can start with the word."""
    return word in root or (NUMBER in root and (word[:1].isdigit() or word in NUMBER_WORDS))


def _insert(root: dict, words: tuple[str, ...], payload: Hashable) -> None:
    node = root
    for word in words:
        node = node.setdefault(word, {})
    payloads = node.setdefault(_END, [])
    if payload not in payloads:
        payloads.append(payload)


def _walk(node: dict, tokens: list[Token], k: int, end: int, as_written: bool, caseless: bool, best: tuple) -> tuple:
    """The longest phrase end along the trie from token k: (end, node) if longer than `best`. A number token
    follows both its own word and "#" where the trie has both ("within 1 day" when "within 1 week" is a phrase
    too), so a literal number never hides a "#" phrase."""
    while k < end:
        raw = tokens[k].raw
        word = (raw.lower() if caseless else raw) if as_written else tokens[k].norm
        step = node.get(word)
        number = None
        if NUMBER in node and word in NUMBER_WORDS:
            number = node[NUMBER]
        elif NUMBER in node and word[:1].isdigit():
            number = node[NUMBER]
            rest = word.lstrip("0123456789")
            if rest[1:].isdigit() and rest[:1] in ("-", "–"):  # a range ("4-6 weeks") is a number too
                rest = ""
            if number is not None and rest:  # "6monthly" (from "6-monthly") is "#" then "monthly"
                number = number.get(rest)
        if step is None:
            step, number = number, None
        elif number is not None:  # the word's own phrases first: at equal length they win over "#" ones
            if _END in step and k + 1 > best[0]:
                best = (k + 1, step)
            best = _walk(step, tokens, k + 1, end, as_written, caseless, best)
            step = number
        node = step
        if node is None:
            break
        k += 1
        if _END in node and k > best[0]:
            best = (k, node)
    return best


def variants(terms) -> list[str]:
    """Each term, plus its spaced form when it is hyphenated ("double-layer" also as "double layer")
    and its singular when it ends in a plural ("pigmentary changes" also as "pigmentary change")."""
    out = []
    for term in terms:
        for form in [term, term.replace("-", " ")] if "-" in term else [term]:
            out.append(form)
            if len(form) > 4 and form.endswith("s") and not form.endswith(("ss", "us", "is")):
                out.append(form[:-1])
    return out
