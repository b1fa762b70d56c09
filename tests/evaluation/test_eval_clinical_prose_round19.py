"""Rules from the seventeenth writer's general set from outside the UK (round 19: styles_dev17.jsonl), as properties:
the soonest slot and a same-day visit in any words, follow-up shorthand in every unit, a yearly rhythm and a screening
programme's rescreen, treat-and-extend shorthand, the venue of a follow-up denied; JSON keys and "key=value" fields as
headings, the activity named with its lesion; a measured zero, a reading centre's adjudication, the RPE's
abnormalities, a finding's course or size after a denied item, fluid's shape before its place, a finding another image
raised and the writer refutes."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)
IAMD = "Large drusen, no fluid. Intermediate AMD."
ACTIVE = "Active nAMD: new SRF and SHRM."


@SETTINGS
@given(
    st.sampled_from(["Kindly see", "Inj anti-VEGF", "For ICGA", "Refer to retina", "Please review"]),
    st.sampled_from(
        [
            "at the earliest",
            "at the earliest opportunity",
            "at the next available slot",
            "at the first available appointment",
        ]
    ),
    CASES,
)
def test_the_soonest_slot_after_at_the_is_urgent(lead, slot, case):
    """Class: urgency as the soonest slot; "at the" is a time here, not the place a visit was."""
    text = cased(f"OCT: SRF at the fovea. {lead} {slot}.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(st.sampled_from(["dr", "the doctor", "a doctor", "the ophthalmologist"]), CASES)
def test_a_visit_wanted_today_is_urgent(who, case):
    text = cased(f"os oct - erm, mild cme. pt to see {who} today.", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(
    st.sampled_from(["fu", "f/u", "follow-up"]),
    st.integers(min_value=1, max_value=3),
    st.sampled_from(["yr", "yrs", "year", "years", "mo"]),
    CASES,
)
def test_follow_up_shorthand_takes_every_unit(verb, number, unit, case):
    """Class: follow-up shorthand without a preposition ("fu 1 yr"), as "fu 6 months" was."""
    text = cased(f"os: ga, now subfoveal. low vision referral sent. {verb} {number} {unit}.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(st.sampled_from(["Yearly follow-up", "Yearly check", "Annual visit"]), CASES)
def test_a_yearly_rhythm_is_a_follow_up(rhythm, case):
    """At the optometry clinic it is community care (none); in the writer's clinic routine."""
    early = "Multiple medium-sized drusen, no PED. Early AMD."
    assert labels(cased(f"{early} {rhythm} at the optometry clinic.", case))["referral"] == "none"
    assert labels(cased(f"{early} {rhythm} in the retina clinic.", case))["referral"] == "routine"


@SETTINGS
@given(
    st.sampled_from(["rescreen in 12 months", "Rescreen in 1 year", "re-screen in 2 years"]),
    st.sampled_from(["at the polyclinic", "", "with the optometrist"]),
    CASES,
)
def test_a_screening_programmes_rescreen_is_no_referral(rescreen, place, case):
    """Class: a screening programme's recall, like "Recall 2 years" (round 16)."""
    text = cased(f"Teleophthalmology grading: few small drusen. Grade: early AMD. Outcome: {rescreen} {place}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["ext 2w", "ext 2 weeks", "ext to 10 wks"]), CASES)
def test_treat_and_extend_shorthand_keeps_an_inactive_eyes_schedule(plan, case):
    """The round-7 convention: an inactive eye's schedule lengthened is routine."""
    text = cased(f"LE: wet AMD, dry today, {plan}", case)
    got = labels(text)
    assert (got["stage"], got["referral"]) == ("late_wet_inactive", "routine"), text


@SETTINGS
@given(
    st.sampled_from(["No follow-up needed", "Follow-up not needed", "No follow-up required"]),
    st.sampled_from(["in our clinic", "at the eye clinic", "in the retina clinic"]),
    CASES,
)
def test_a_follow_up_denied_with_its_venue_is_none(denial, venue, case):
    """Class: negation scope over a plan's venue; the clinic is where the follow-up denied would have been."""
    text = cased(f"Left eye: no drusen. Diagnosis: no AMD. {denial} {venue}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(st.sampled_from(["RTC 6 months in our clinic", "Review in the retina clinic in 6 months"]), CASES)
def test_a_venue_with_its_own_plan_after_a_denial_stays(plan, case):
    text = cased(f"{IAMD} No urgent referral needed. {plan}.", case)
    assert labels(text)["referral"] == "routine", text


STAGE_VALUES = {"early": "early", "intermediate": "intermediate", "late_dry": "late dry"}


@SETTINGS
@given(st.sampled_from(sorted(STAGE_VALUES)), st.sampled_from(["amd_stage", "stage", "AMD stage"]))
def test_a_json_key_heads_its_value(stage, key):
    """Class: structured AI outputs; a JSON object's keys are headings like a line's fields."""
    text = (
        f'{{"eye": "OS", "{key}": "{STAGE_VALUES[stage]}", "biomarkers": {{"srf": "absent"}}, "referral": "routine"}}'
    )
    got = labels(text)
    assert (got["stage"], got["referral"], got["biomarkers"]) == (stage, "routine", {"srf": "absent"}), text


def test_a_nested_json_object_stays_with_its_eye():
    """styles_dev7 b6-053: the fellow eye's object keeps its findings."""
    text = (
        '{"subject_eye": "OS", "OS": {"drusen": "present (large)", "stage": "intermediate AMD"}, '
        '"OD": {"stage": "late wet AMD, inactive", "fibrosis": "present"}, "referral_for_subject_eye": "routine"}'
    )
    got = labels(text)
    assert got["stage"] == "intermediate" and "fibrosis" not in got["biomarkers"], got


@SETTINGS
@given(st.sampled_from(sorted(STAGE_VALUES)), st.sampled_from(["=", " = "]), CASES)
def test_key_equals_value_heads_its_value(stage, mark, case):
    text = cased(f"stage{mark}{STAGE_VALUES[stage]}; referral{mark}none; srf{mark}absent", case)
    got = labels(text)
    assert (got["stage"], got["referral"]) == (stage, "none"), text


@SETTINGS
@given(
    st.sampled_from([("drusen", "Drusen volume"), ("irf", "IRF"), ("srf", "SRF volume"), ("ped", "PED height")]),
    st.sampled_from(["0.00 mm³", "0 mm3", "0.0 mm^3", "0 µm", "0 um"]),
    CASES,
)
def test_a_measured_zero_is_none_found(finding, zero, case):
    bid, field = finding
    text = cased(f"Automated OCT analysis (OS). {field}: {zero}.", case)
    assert labels(text)["biomarkers"].get(bid) == "absent", text


@SETTINGS
@given(st.sampled_from(["0.02 mm³", "0.10 mm3", "1.2 mm²"]), CASES)
def test_a_measured_amount_stays_present(amount, case):
    text = cased(f"Fluid segmentation: SRF {amount}, IRF 0.00 mm³", case)
    got = labels(text)["biomarkers"]
    assert (got.get("srf"), got.get("irf")) == ("present", "absent"), text


@SETTINGS
@given(
    st.sampled_from(["CNV", "MNV", "nAMD", "Lesion"]),
    st.sampled_from(["activity", "activity status"]),
    st.sampled_from([("inactive", "late_wet_inactive"), ("active", "late_wet_active")]),
    CASES,
)
def test_the_activity_named_with_its_lesion_is_a_field(lesion, field, value, case):
    """Class: the activity as a field ("CNV activity: inactive"); the lesion word is the field's, no stage of its own."""
    word, stage = value
    text = cased(f"Visit: Month 12. Study eye: OS.\n{lesion} {field}: {word}\nIRF: no\nSRF: no\nPED: yes", case)
    assert labels(text)["stage"] == stage, text


@SETTINGS
@given(
    st.sampled_from(["Adjudicated", "Adjudication", "Consensus", "Final grade"]),
    st.sampled_from([("present", "absent"), ("absent", "present")]),
    CASES,
)
def test_an_adjudication_supersedes_the_graders(marker, states, case):
    """Class: a reading centre's final reading after its graders, like a correction."""
    first, final = states
    said = {"present": "yes", "absent": "no"}
    text = cased(
        f"Grader 1: IRF yes, SRF {said[first]}.\nGrader 2: IRF yes, SRF equivocal.\n{marker}: IRF present, SRF {final}.",
        case,
    )
    assert labels(text)["biomarkers"]["srf"] == final, text


@SETTINGS
@given(
    st.sampled_from(
        [
            ("RPE abnormalities: none", "absent"),
            ("No RPE abnormalities", "absent"),
            ("RPE abnormalities present", "present"),
            ("RPE abnormality over the drusen", "present"),
        ]
    ),
    CASES,
)
def test_the_rpes_abnormalities_are_its_irregularity(phrase, case):
    sentence, state = phrase
    text = cased(f"OCT grading OD: Drusen: none. {sentence}. Fluid: none.", case)
    assert labels(text)["biomarkers"].get("rpe_irregularity") == state, text


@SETTINGS
@given(
    st.sampled_from(
        [("SHRM", "shrm"), ("subretinal hyperreflective material", "shrm"), ("drusen", "drusen"), ("PED", "ped")]
    ),
    st.sampled_from(["decreasing", "increasing", "large", "persistent", "regressing"]),
    CASES,
)
def test_a_course_or_size_after_a_denied_item_makes_it_a_statement(finding, predicate, case):
    """Class: list scope; "no SRF, SHRM decreasing" and "no fluid, drusen large" leave the second finding present."""
    name, bid = finding
    text = cased(f"OD: no subretinal fluid, {name} {predicate}.", case)
    got = labels(text)["biomarkers"]
    assert (got.get("srf"), got.get(bid)) == ("absent", "present"), text


@SETTINGS
@given(
    st.sampled_from(["bubble", "pocket", "pockets", "collection"]),
    st.sampled_from(["under the fovea", "beneath the retina", "under the neurosensory retina"]),
    CASES,
)
def test_fluids_shape_before_its_place(shape, place, case):
    text = cased(f"OCT OD today shows a new fluid {shape} {place}.", case)
    assert labels(text)["biomarkers"].get("srf") == "present", text


@SETTINGS
@given(
    st.sampled_from(["suspected on", "flagged on", "queried on"]),
    st.sampled_from(["the fundus photograph", "the screening photo", "colour photographs"]),
    CASES,
)
def test_a_finding_another_image_raised_and_the_writer_refutes_is_absent(cue, image, case):
    text = cased(f"Right eye: the geographic atrophy {cue} {image} is not atrophy on OCT. Intermediate AMD.", case)
    assert labels(text)["biomarkers"].get("rpe_atrophy") == "absent", text
