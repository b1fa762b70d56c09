"""Rules from the fourteenth writer's referral-heavy set (round 16: styles_dev14.jsonl), as properties: a visit and its
interval apart, time frames in hours, fortnights and same-day add-ons, the optometrist's recall, safety nets, paperwork
of other health systems, a declined new referral beside a booked visit, suggested diagnoses and the findings' scope."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)
UNITS = {"days": 1, "weeks": 7, "months": 30}
IAMD = "Large drusen, no fluid. Intermediate AMD."
GA = "Geographic atrophy, no fluid."
ACTIVE = "Active nAMD: new SRF and SHRM."
VISITS = [
    "New control at the clinic in {n} {unit}",
    "Come back to see us in {n} {unit}",
    "To be seen by retina in {n} {unit}",
    "See him at the eye clinic in {n} {unit}",
    "Already under Dr Patel with next visit in {n} {unit}",
]


@SETTINGS
@given(st.sampled_from(VISITS), st.integers(1, 12), st.sampled_from(sorted(UNITS)), CASES)
def test_a_visit_and_its_interval_apart_are_read_by_length(visit, n, unit, case):
    """ "New control at the clinic in 12 months": a visit word a few words before the interval makes it a follow-up."""
    text = cased(f"{GA} {visit.format(n=n, unit=unit)}.", case)
    assert labels(text)["referral"] == ("urgent" if n * UNITS[unit] <= 14 else "routine"), text


@SETTINGS
@given(
    st.sampled_from(["Review at outreach next year.", "See at next clinic.", "Review at the clinic next year."]), CASES
)
def test_a_visit_at_the_next_clinic_or_next_year_is_routine(plan, case):
    assert labels(cased(f"{GA} {plan}", case))["referral"] == "routine"


@SETTINGS
@given(
    st.sampled_from(["Repeat OCT in {n} months.", "Follow-up with OCTA in {n} months.", "OCTA next visit."]),
    st.integers(2, 12),
    CASES,
)
def test_a_test_at_an_interval_stays_no_referral(plan, n, case):
    """A repeat scan names a test, not a referral (eval/README.md, round 14): no visit word, or a test between."""
    assert labels(cased(f"{IAMD} {plan.format(n=n)}", case))["referral"] is None


@SETTINGS
@given(st.integers(1, 14), st.sampled_from(["First dose booked in {n} days.", "Injection booked in {n} days."]), CASES)
def test_a_treatment_booked_within_two_weeks_is_urgent(n, plan, case):
    """A treatment within a time frame is urgent (eval/README.md), also when the time frame stands apart."""
    text = cased(f"{ACTIVE} Commence loading phase. {plan.format(n=n)}", case)
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(st.sampled_from(["appointment in a fortnight", "see in a fortnight", "review in a fortnight"]), CASES)
def test_a_fortnight_is_two_weeks(plan, case):
    assert (
        labels(cased(f"Small pocket of SRF under a PED. Referred to Dr Nguyen, {plan}.", case))["referral"] == "urgent"
    )


@SETTINGS
@given(st.integers(4, 24), st.integers(1, 48), st.sampled_from(["h", "hr", "hrs", "hours"]), CASES)
def test_a_time_frame_in_hours_is_urgent(lo, step, unit, case):
    text = cased(
        f"SRF and SHRM, concerning for new MNV. Recommend retina evaluation within {lo}-{lo + step} {unit}.", case
    )
    assert labels(text)["referral"] == "urgent", text


@SETTINGS
@given(
    st.sampled_from(
        [
            "Dr. Ramos wants pt seen today - added on to PM clinic.",
            "WANTS PT SEEN TODAY, ADD-ON TO AFTERNOON CLINIC.",
            "Needs to be seen today.",
        ]
    ),
    CASES,
)
def test_a_same_day_add_on_is_urgent(plan, case):
    assert (
        labels(cased(f"OCT OS: large subretinal haemorrhage with SHRM and SRF. {plan}", case))["referral"] == "urgent"
    )


def test_a_visit_that_was_today_is_no_plan():
    assert labels(f"Seen today in clinic. {IAMD} Review in 6 months.")["referral"] == "routine"


@SETTINGS
@given(
    st.sampled_from(
        ["Recall {n} years.", "RECALL {n} MO.", "Recall in {n} months.", "recall {n}/12.", "Recall {n}/52."]
    ),
    st.integers(6, 24),
    CASES,
)
def test_a_recall_is_the_optometrist_s(plan, n, case):
    """ "Recall 2 years": the sight-test recall, none (eval/README.md, round 16; round 11's and 12b's recall tests were
    narrowed to it)."""
    text = cased(f"Normal foveal profile, no drusen, RPE intact. Healthy macula. {plan.format(n=n)}", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(["distortion or drop in VA", "SRF confirmed", "any new symptoms", "she notices distortion"]),
    st.sampled_from(["refer urgently", "urgent referral", "refer"]),
    CASES,
)
def test_a_referral_with_its_condition_after_it_is_a_safety_net(condition, referral, case):
    text = cased(f"Medium drusen, no fluid. Early AMD. No referral required today; {referral} if {condition}.", case)
    assert labels(text)["referral"] == "none", text


@SETTINGS
@given(
    st.sampled_from(["Review in 6 months", "New control at the clinic in 12 months", "RTC 4 months"]),
    st.sampled_from(["sooner if vision worsens", "or sooner if new distortion", "earlier if needed"]),
    CASES,
)
def test_a_safety_net_that_brings_the_visit_forward_keeps_the_plan(plan, net, case):
    assert labels(cased(f"{GA} {plan}, {net}.", case))["referral"] == "routine"


@SETTINGS
@given(
    st.sampled_from(
        [
            "Please urgently complete the DMV vision form for this patient.",
            "PRIOR AUTHORIZATION REQUEST - URGENT.",
            "URGENT - insurance appeal.",
            "The denial of coverage must be reconsidered urgently.",
            "Urgent prior authorisation requested for faricimab.",
        ]
    ),
    CASES,
)
def test_urgency_of_paperwork_is_no_referral(paperwork, case):
    text = cased(f"{paperwork} OCT LE: stable GA, no fluid. Continue annual review in our clinic.", case)
    assert labels(text)["referral"] == "routine", text


@SETTINGS
@given(
    st.sampled_from(["Green pathway (community optometry monitoring).", "Optometry monitoring.", "Community review."]),
    CASES,
)
def test_monitoring_in_the_community_is_no_referral(plan, case):
    assert labels(cased(f"{plan} LE OCT: occasional small drusen.", case))["referral"] == "none"


@SETTINGS
@given(st.sampled_from(["no new referral needed", "no new referral required", "no new referral necessary"]), CASES)
def test_a_declined_new_referral_yields_to_the_visit_booked(declined, case):
    """Round 15's convention: the hospital's review goes ahead, so the visit stated is the referral."""
    text = f"Fibrotic scar, no fluid. Already under Dr. Patel with next visit in 3 months - {declined}."
    assert labels(cased(text, case))["referral"] == "routine"


@SETTINGS
@given(st.sampled_from(["no new referral needed", "No new referral required for the left"]), CASES)
def test_a_declined_new_referral_alone_is_none(declined, case):
    assert labels(cased(f"Small drusen, no fluid - early AMD. {declined}.", case))["referral"] == "none"


@SETTINGS
@given(
    st.sampled_from(["Diagnosis suggested: choroidal neovascularisation", "Suggested diagnosis: wet AMD"]),
    CASES,
)
def test_a_suggested_diagnosis_leaves_the_stage_open(diagnosis, case):
    text = cased(f"Automated triage. Detected: subretinal fluid (p=0.94). {diagnosis}.", case)
    assert labels(text)["stage"] is None


@SETTINGS
@given(st.sampled_from(["possible", "likely", "probable"]))
def test_non_exudative_dictated_apart_is_non_exudative(lean):
    text = (
        f"right eye OCT comma there is a double layer sign comma no fluid full stop {lean} non exudative MNV full stop"
    )
    assert labels(text)["stage"] == "late_wet_inactive"


@SETTINGS
@given(st.sampled_from(["yellow deposits under the retina called drusen", "deposits beneath the retina called drusen"]))
def test_a_name_after_lay_words_is_the_finding(lay):
    text = f"Your scan today showed that your left eye has some {lay}. There is no fluid."
    assert labels(text)["biomarkers"]["drusen"] == "present"


@SETTINGS
@given(st.sampled_from(["reads", "read", "notes"]), CASES)
def test_the_words_a_referral_reads_are_its_history(verb, case):
    text = (
        f"Optometrist referral {verb} 'SRF R eye'. Virtual review of the OCT: drusenoid PED, not subretinal - no SRF."
    )
    assert labels(cased(text, case))["biomarkers"]["srf"] == "absent"


@SETTINGS
@given(st.sampled_from(["a retinal vessel shadow", "a blood vessel shadow", "vessel shadowing"]), CASES)
def test_a_finding_explained_as_a_vessel_s_shadow_is_absent(shadow, case):
    text = f"Re-review of OCT RE: the 'IRF' was {shadow}. Large drusen only."
    assert labels(cased(text, case))["biomarkers"]["irf"] == "absent"


@SETTINGS
@given(st.sampled_from(["residual", "new", "persistent"]), CASES)
def test_a_descriptor_inside_an_alternative_does_not_assert_it(descriptor, case):
    text = f"LE: subfoveal lesion, could be fibrosis or {descriptor} SHRM; no fluid."
    assert labels(cased(text, case))["biomarkers"]["shrm"] == "uncertain"


@SETTINGS
@given(st.sampled_from(["last year for", "2 years ago for", "last month for"]), CASES)
def test_the_reason_of_a_past_referral_is_history(when, case):
    text = f"Referred urgently {when} SRF RE, treated with 6 injections. Today: small fibrotic scar, no IRF."
    assert "srf" not in labels(cased(text, case))["biomarkers"]
