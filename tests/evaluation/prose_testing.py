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


# the findings the round-9 to 11 tests name (round 8 keeps its own)
NAMES = {
    "srf": ["SRF", "subretinal fluid"],
    "irf": ["IRF", "intraretinal fluid"],
    "ped": ["PED", "pigment epithelial detachment"],
    "shrm": ["SHRM", "subretinal hyperreflective material"],
    "double_layer_sign": ["double-layer sign", "DLS"],
    "hyperreflective_foci": ["hyperreflective foci", "HRF"],
}
STAGE_TERMS = {
    "early": ["early AMD", "eAMD"],
    "intermediate": ["intermediate AMD", "iAMD"],
    "late_dry": ["geographic atrophy", "late dry AMD"],
    "late_wet_active": ["active nAMD", "active wet AMD"],
    "late_wet_inactive": ["inactive nAMD", "quiescent MNV"],
}


def named(names: dict):
    """A (biomarker id, a name of it) pair drawn from a test file's own names."""
    return st.sampled_from(sorted(names)).flatmap(lambda bid: st.tuples(st.just(bid), st.sampled_from(names[bid])))


def stage_term():
    """A (stage id, a name of it) pair."""
    return st.sampled_from(sorted(STAGE_TERMS)).flatmap(
        lambda sid: st.tuples(st.just(sid), st.sampled_from(STAGE_TERMS[sid]))
    )
