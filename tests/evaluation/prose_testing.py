"""What the clinical-prose property tests share: one extractor, its labels, and the three cases a note is written in."""

import functools

from hypothesis import strategies as st

from retinavlm.evaluation.extract import FindingsExtractor

CASES = st.sampled_from(["as written", "lower", "upper"])


@functools.lru_cache(maxsize=1)
def extractor() -> FindingsExtractor:
    return FindingsExtractor()


def labels(text: str) -> dict:
    return extractor().extract(text).labels()


def cased(text: str, case: str) -> str:
    return {"as written": text, "lower": text.lower(), "upper": text.upper()}[case]
