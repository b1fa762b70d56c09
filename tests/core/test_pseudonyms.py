"""Pseudonyms: one per distinct name, the same for the same set in any order, and nothing of the name kept."""

from hypothesis import given
from hypothesis import strategies as st

from retinavlm.pseudonyms import pseudonyms

names = st.lists(st.text(min_size=1, max_size=20), max_size=30)


@given(names)
def test_pseudonyms_are_distinct_stable_and_keep_nothing_of_the_names(values: list[str]) -> None:
    mapping = pseudonyms(values, "scan")
    assert set(mapping) == set(values)
    assert len(set(mapping.values())) == len(mapping)
    assert pseudonyms(reversed(values), "scan") == mapping  # order of the input does not matter
    assert all(p.startswith("scan-") and p[5:].isdigit() for p in mapping.values())


def test_numbers_do_not_follow_the_names_order() -> None:
    files = [f"{label}-{1000000 + n}-1" for label in ("CNV", "DME", "DRUSEN", "NORMAL") for n in range(10)]
    mapping = pseudonyms(files, "scan")
    assert sorted(files, key=mapping.get) != sorted(files)  # the class order of the file names is not kept
