"""Rules from the forty-second writer's round (round 41: styles_dev42.jsonl) and the lead's decisions on round 40's
open items: "s/o" as "suggestive of" (convention (n)), ..."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(st.sampled_from(["early dry AMD", "intermediate AMD", "active CNVM", "GA"]), CASES)
def test_a_stage_s_o_is_left_open(stage, case):
    """Convention (n): "s/o" is "suggestive of", an open hedge of the stage: no stage, in any case."""
    text = cased(f"LE OCT s/o {stage}. Review 6/12.", case)
    assert labels(text)["stage"] is None, text


def test_a_stage_stated_without_s_o_is_kept():
    """Negative: the stage stated plainly is read."""
    assert labels("LE OCT: early dry AMD. Review 6/12.")["stage"] == "early"


@SETTINGS
@given(st.sampled_from([("subfoveal neurosensory detachment", "srf"), ("intraretinal cysts", "irf")]), CASES)
def test_a_finding_s_o_is_hedged(finding, case):
    """Convention (n): a finding "s/o" is uncertain (dev22 w22-040)."""
    words, key = finding
    text = cased(f"LE OCT s/o {words}. Impression: CNVM LE.", case)
    assert labels(text)["biomarkers"].get(key) == "uncertain", text


def test_a_finding_stated_without_s_o_is_present():
    """Negative: "OCT shows subfoveal neurosensory detachment" is present; "s/p" (status post) is no hedge."""
    assert labels("LE OCT shows subfoveal neurosensory detachment.")["biomarkers"].get("srf") == "present"
    assert labels("LE s/p PDT. OCT: subretinal fluid.")["biomarkers"].get("srf") == "present"
