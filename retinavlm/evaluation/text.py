"""Tokens, sentences and sections of a free-text report, with character offsets kept for spans.

Matching works on tokens, not characters, so that spelling variants, typos and hyphenation can
be folded without losing where in the original text a finding came from.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A sign or "?" alone in parentheses ("IRF (-)", "DLS (?)"); "+ve"/"-ve"; a prefix left hanging
# before a conjunction ("sub- or intraretinal"); words (hyphenated and apostrophe'd parts kept
# together); a sign after a finding, stuck to it or one space away, that ends its item ("SRF+",
# "IRF -,", "GA ++ (", "SRF +/-", "srf - / irf -") or comes before the next finding's sign ("irf - shrm +"); a sign
# as the value of a field ("SRF: -", "PED=+ |"); any other single non-space character. A quoted sign is a JSON field's value ("srf": "-"). The minus sign (U+2212) is a
# "-"; a sign stuck before a finding after a comma or colon ("OS: +drusen, +SIRE, -SRF") reads forward like
# "(+) drusen"; a bracketed answer is a sign ("subretinal fluid (no)"); a check box ("[x]", "[ ]", "[?]") is one token, "[x]", "[ ]" or "[?]".
_SIGN = r"\+/-|±|\+{1,3}|-|−"
_ITEM_END = r"(?=[ \t]*(?:[,.;)(|/\n]|$))"  # "/" too: "srf - / irf - / shrm -"
# a spaced sign before the next finding's own sign, in a run of pairs with no punctuation ("srf ++ irf - shrm +")
_ENDS_ITEM = re.compile(_ITEM_END)
_NEXT_SIGNED = r"(?=[ \t]+[^\W\d_][\w-]*[ \t]*(?:\+{1,3}|-|−)(?:[ \t,.;)(|/\n]|$))"
_TOKEN_RE = re.compile(
    rf"\((?P<enclosed>[+-]ve|{_SIGN}|\?{{1,2}})\)"
    r"|\((?P<answered>(?i:yes|no))\)"
    r"|[+-]ve\b|-+>|=>"
    r"|\w+-(?=[ \t]+(?i:or|and|nor|&)\b)"
    r"|\w+(?:[-'’]\w+)*"
    rf"|(?<=\w)(?P<stuck>{_SIGN})(?=[\s,.;:)(/|]|$)"
    # a spaced sign before a word is read as a sign only inside a run of finding-sign pairs ("srf ++ irf - ped bigger")
    rf"|(?<=\w[ \t])(?:(?P<spaced>{_SIGN})(?:{_ITEM_END}|{_NEXT_SIGNED})|(?P<run>{_SIGN})(?=[ \t]+[^\W\d_]))"
    rf"|(?:(?<=[:=])|(?<=[:=][ \t]))(?P<valued>{_SIGN}){_ITEM_END}"
    rf"|(?:(?<=[:=][\"'])|(?<=[:=][ \t][\"']))(?P<quoted>{_SIGN})(?=[\"']|[ \t]*[,;)(|\n]|$)"
    r"|(?:(?<=[,;:])|(?<=[,;:][ \t]))(?P<prefixed>\+{1,3}|-|−)(?=[^\W\d_])"
    r"|\[[ xX✓✔?]?\]"
    r"|\+/-|\S",
    re.UNICODE,
)
_SIGN_WORDS = {"-": "-ve", "−": "-ve", "+/-": "+/-", "±": "+/-"}  # any run of "+" reads "+ve"
SENTENCE_END = frozenset({".", "!", ";"})
# "label: value" separators; arrows ("->") are not, they read as "therefore".
SEPARATORS = frozenset({":", "-", "–", "—", "="})
_WRAP_MIN_CHARS = 50  # shorter lines are items of a list or template, not wrapped prose
# "Dr." or "e.g." do not end a sentence.
# words whose full stop abbreviates them, not ends a sentence ("Dr. Cohen", "Int. AMD")
NO_SPLIT_AFTER = frozenset(
    {"dr", "mr", "mrs", "ms", "prof", "approx", "vs", "fig", "ref", "eg", "ie", "cf", "st", "int"}
)


@dataclass(slots=True)  # not frozen: built by the hundred per report and never changed; a frozen
class Token:  # dataclass's __init__ (object.__setattr__ per field) cost about 3 % of grading
    start: int
    end: int
    raw: str  # as written (hyphens removed), for case-sensitive abbreviations
    norm: str  # lower-cased, spelling folded, typo corrected
    is_word: bool


# scare quotes around one to three words inside running prose ("the 'wet' macular degeneration"): not
# tokens, so the phrase they sit in still matches; a quoted field name or value ("PED": "absent") is
# followed by punctuation, not a word, and keeps its quotes
_SCARE_QUOTES = re.compile(r"(?:(?<=\s)|^)['‘\"“](?=[^\W\d_][\w-]*(?:[ \t][\w-]+){0,2}(['’\"”])[ \t]+[^\W\d_])")


def _scare_quote_positions(text: str) -> set[int]:
    out = set()
    for m in _SCARE_QUOTES.finditer(text):
        out.update((m.start(), m.start(1)))
    return out


def raw_tokens(text: str) -> list[tuple[int, int, str]]:
    """(start, end, surface form) of each token; a sign after a finding becomes "+ve", "-ve" or "+/-"."""
    out = []
    quotes = _scare_quote_positions(text) if "'" in text or '"' in text or "‘" in text or "“" in text else ()
    for m in _TOKEN_RE.finditer(text):
        if m.start() in quotes:
            continue
        surface = m.group()
        sign = m.lastgroup  # the named group that matched, if any: only the sign alternatives have one
        if sign is None:
            if surface.endswith(">") and surface.startswith("-"):
                surface = "->"
            elif surface[0] == "[" and len(surface) > 1:  # a check box
                inner = surface[1:-1].strip()
                surface = "[ ]" if not inner else "[?]" if inner == "?" else "[x]"
        elif sign == "answered":  # a form's answer in brackets: "subretinal fluid (no)", "IRF (yes)"
            surface = "-ve" if m.group("answered").lower() == "no" else "+ve"
        elif sign == "enclosed":
            inner = m.group("enclosed")
            surface = "?" if inner.startswith("?") else inner if inner.endswith("ve") else _SIGN_WORDS.get(inner, "+ve")
        elif sign == "spaced" and not _ENDS_ITEM.match(text, m.end()) and not _in_sign_run(text, out):
            pass  # "active nAMD - SRF +": a dash before a signed finding, unless the run of signs began before it
        elif sign == "run" and not (
            len(out) >= 3 and out[-2][2] in _RUN_SIGNS and text[out[-2][0] : out[-2][1]] != "+"
        ):
            pass  # "early AMD - no need to refer": a dash, unless a sign ends the pair before ("srf ++ irf - ped"; not
            # "drusen + PED - stable", where "+" is "and")
        else:  # stuck, spaced, valued, quoted or prefixed
            surface = _SIGN_WORDS.get(surface, "+ve")
        out.append((m.start(), m.end(), surface))
    return out


_RUN_MARKS = frozenset({"+ve", "-ve", "+/-", ":", "+", "++", "+++", "-", "−"})  # a sign read or left as written
_RUN_SIGNS = frozenset({"+ve", "-ve", "+/-"})  # a sign read as one: the pair before ended with its sign


def _in_sign_run(text: str, out: list[tuple[int, int, str]]) -> bool:
    """The finding before a spaced sign opens the note, a line or a sentence or follows a sign or a heading's colon
    ("srf ++ irf - shrm +", "le: irf - shrm +", "OD srf ++ irf - shrm +", "le. srf ++ irf - ped bigger"): the sign
    continues a run of finding-sign pairs."""
    if len(out) == 1:
        return True
    return len(out) >= 2 and (
        out[-2][2] in _RUN_MARKS or out[-2][2] in SENTENCE_END or "\n" in text[out[-2][1] : out[-1][0]]
    )


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# an underscore between letters joins the words of a field name ("subretinal_fluid": "absent")
_FIELD_UNDERSCORE = re.compile(r"(?<=[^\W\d_])_(?=[^\W\d_])")


def clean_text(text: str) -> str:
    """NFC-normalise and blank control, format and surrogate characters, which would otherwise
    break matching or the UTF-8 output, and read a field name's underscores as spaces (one character
    for one, so offsets survive)."""
    if "_" in text:
        text = _FIELD_UNDERSCORE.sub(" ", text)
    if text.isascii():
        return _ASCII_CONTROL.sub(" ", text)
    text = unicodedata.normalize("NFC", text)
    return "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text)


def is_word(surface: str) -> bool:
    return surface[:1].isalnum() or surface[:1] == "_"


def sentence_spans(text: str, tokens: list[Token]) -> list[tuple[int, int]]:
    """Token index ranges [start, end) of sentences: split at . ; ! }, and at line breaks that do not
    look like a wrapped line of prose (previous line ends mid-sentence, next starts lower-case)."""
    spans = []
    start = 0
    n = len(tokens)
    for i, tok in enumerate(tokens):
        boundary_after = False
        if tok.raw in SENTENCE_END:
            boundary_after = not _is_inline_period(tokens, i)
        elif tok.raw == "}":
            boundary_after = True  # a JSON object ends its statement ("OD": {"stage": ...} is about that eye only)
        elif i + 1 < n and "\n" in text[tok.end : tokens[i + 1].start]:
            boundary_after = not _wrapped_line(text, tok, tokens[i + 1])
        if boundary_after:
            if i + 1 > start:
                spans.append((start, i + 1))
            start = i + 1
    if start < n:
        spans.append((start, n))
    return spans


def _wrapped_line(text: str, last: Token, first: Token) -> bool:
    """A line break inside prose: a long line ending mid-sentence, the next one starting lower-case
    (template lines such as "drusen: large" are short and end at the break)."""
    line_start = text.rfind("\n", 0, last.start) + 1
    long_line = last.end - line_start >= _WRAP_MIN_CHARS
    # a field line ends at its break however long its label ("subretinal hyperreflective material :   equivocal")
    _, colon, value = text[line_start : last.end].rpartition(":")
    field = bool(colon) and len(value.split()) <= 2
    return long_line and not field and (last.is_word or last.raw == ",") and first.raw[:1].islower()


def _is_inline_period(tokens: list[Token], i: int) -> bool:
    if tokens[i].raw != ".":
        return False
    prev = tokens[i - 1] if i > 0 else None
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    if prev is None or prev.end != tokens[i].start:
        return False
    if nxt is not None and nxt.start == tokens[i].end and prev.raw.isdigit() and nxt.raw.isdigit():
        return True  # 2.5
    word = prev.norm
    if len(word) == 1 and i >= 2 and tokens[i - 2].raw in (":", "=", "/"):
        # a one-letter field value ends its sentence ("SRF: N. IRF: Y."), and so does an eye ("iAMD L/E. R/E GA"),
        # unlike an initial
        return False
    if word in ("l", "r") and i >= 2 and any(c.isupper() for c in tokens[i - 2].raw[1:]):
        return False  # an eye after an abbreviation ends its sentence ("Early AMD L. Already under MR for the right
        # eye"), unlike an initial after a title or a name ("Mr R. Dhillon")
    return prev.is_word and (len(word) == 1 and word.isalpha() or word in NO_SPLIT_AFTER) and nxt is not None
