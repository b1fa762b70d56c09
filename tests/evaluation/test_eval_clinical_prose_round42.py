"""Rules from the forty-third writer's round (round 42: styles_dev43.jsonl): referral first: time frames "in the next"
and a service's target, the outpatient department named by its specialty, the referral that brought the patient
with its sender inside, a discharge dated in the past, the patient's local ophthalmologist "at"."""

from hypothesis import given, settings
from hypothesis import strategies as st
from prose_testing import CASES, cased, labels

SETTINGS = settings(max_examples=40, deadline=None)


@SETTINGS
@given(
    st.sampled_from(
        [
            "For OCTA and ICG in the next 2 weeks.",
            "OCTA in the next 1 week.",
            "He has been referred to the macular treatment clinic with a target of two weeks.",
            "Referred to MR clinic with a target of 10 days.",
        ]
    ),
    CASES,
)
def test_a_short_time_frame_in_the_next_or_as_a_target_is_urgent(plan, case):
    """ "in the next 2 weeks" and "a target of two weeks" are time frames read by their length: two weeks or less is
    urgent (round 14's test within an urgent time frame)."""
    text = cased(f"R eye: shallow SRF over a flat PED. No IRF. {plan}", case)
    assert labels(text)["referral"] == "urgent", text


def test_a_long_time_frame_in_the_next_is_routine():
    """Negative: the same words with a longer interval are a routine review."""
    assert labels("Intermediate AMD, no fluid. Review in MR clinic in the next 6 months.")["referral"] == "routine"
    assert labels("Intermediate AMD. Referred to MR clinic with a target of 12 weeks.")["referral"] == "routine"


@SETTINGS
@given(st.sampled_from(["retina OPD", "the retina OPD", "MR OPD", "medical retina OPD"]), CASES)
def test_the_outpatient_department_by_its_specialty_is_a_routine_referral(service, case):
    """Convention (a): a referral to a named hospital service with no level, here the outpatient department named by
    its specialty ("Refer to retina OPD at base hospital for detailed evaluation"), is routine."""
    text = cased(
        f"OCT OS: soft drusen. Impression: intermediate AMD. Advice: Refer to {service} for detailed evaluation.", case
    )
    assert labels(text)["referral"] == "routine", text


def test_a_referral_naming_no_service_stays_undecided():
    """Negative: "refer for detailed evaluation" names no service (convention (a))."""
    assert (
        labels("OCT OS: soft drusen. Impression: intermediate AMD. Advice: refer for detailed evaluation.")["referral"]
        is None
    )


@SETTINGS
@given(st.sampled_from(["optometry", "optometrist", "GP"]), st.sampled_from(["urgent", "routine"]), CASES)
def test_the_referral_that_brought_the_patient_with_its_sender_is_no_plan(sender, level, case):
    """The referral received, with its sender between the level and "referral" ("seen today following an urgent
    optometry referral"), is the sender's level, not this report's plan: today's injection states no referral."""
    article = "an" if level == "urgent" else "a"
    text = cased(
        f"Mr Allen was seen today following {article} {level} {sender} referral. The left macula shows SRF and IRF. "
        "Active wet AMD. He was given his first aflibercept injection today.",
        case,
    )
    assert labels(text)["referral"] is None, text


def test_this_reports_own_urgent_referral_stays():
    """Negative: the writer's own urgent referral is read."""
    assert labels("OCT: new SRF. I have made an urgent optometry referral to the MR clinic.")["referral"] == "urgent"
    assert labels("OCT: new SRF. Urgent referral to MR clinic.")["referral"] == "urgent"


@SETTINGS
@given(
    st.sampled_from(["was discharged in 2021", "had been discharged in 2019", "was discharged in March 2022"]), CASES
)
def test_a_discharge_dated_in_the_past_is_history(discharge, case):
    """A discharge dated in the past ("treated at another unit ... and was discharged in 2021") is the care's history:
    the letter's own time frame stands."""
    text = cased(
        f"Please see Mr Delaney within 1-2 weeks. He was treated for wet AMD in 2019 and {discharge}. "
        "OCT today shows new intraretinal fluid.",
        case,
    )
    assert labels(text)["referral"] == "urgent", text


def test_a_discharge_today_stays_none():
    """Negative: a discharge stated as the plan is none."""
    assert labels("Early AMD, no fluid. She was discharged to her optometrist.")["referral"] == "none"
    assert labels("Early AMD, no fluid. Discharged today.")["referral"] == "none"


@SETTINGS
@given(st.sampled_from(["your local ophthalmologist", "your ophthalmologist", "her local ophthalmologist"]), CASES)
def test_follow_up_at_the_patients_own_ophthalmologist_is_none(who, case):
    """Convention (h): a follow-up at the patient's own or local ophthalmologist ("Further controls at your local
    ophthalmologist every 6 months") is a discharge, none, as "with your local ophthalmologist"."""
    text = cased(f"Geographic atrophy, no fluid. Further controls at {who} every 6 months.", case)
    assert labels(text)["referral"] == "none", text


def test_follow_up_at_the_ophthalmologist_stays_routine():
    """Negative: convention (m): "controls at the ophthalmologist" names no one's own, routine."""
    text = "Geographic atrophy, no fluid. Further controls at the ophthalmologist every 6 months."
    assert labels(text)["referral"] == "routine"


@SETTINGS
@given(st.sampled_from(["2022", "2019"]), st.sampled_from(["by her optometrist with", "with", "for"]), CASES)
def test_a_referral_dated_in_the_past_is_history(year, rest, case):
    """The referral dated before its sender and reason ("Referred in 2022 by her optometrist with suspected wet AMD")
    is the referrer's question, history like "referred by": the stated diagnosis stands."""
    text = cased(
        f"Diagnosis: early AMD.\nClinical course: Referred in {year} {rest} suspected wet AMD. Stable since.\n"
        "Today's OCT: small and medium drusen, no SRF, no IRF.",
        case,
    )
    assert labels(text)["stage"] == "early", text


def test_a_suspicion_of_today_still_opens_the_stage():
    """Negative: today's suspicion beside a stated stage still leaves it open (round 3's open stage)."""
    assert labels("Diagnosis: early AMD. Today: suspected wet AMD, ?SRF.")["stage"] is None


@SETTINGS
@given(
    st.sampled_from([("R", "L"), ("L", "R")]),
    st.sampled_from(["not subject", "not referred", "fellow"]),
    st.sampled_from(["as written", "lower", "upper"]),
)
def test_the_one_letter_side_marked_as_not_the_subject_is_the_fellow(sides, mark, case):
    """A one-letter side before its bracket ("R (NOT SUBJECT): ACTIVE NAMD UNDER TREATMENT") names the eye, and the
    bracket marks it as the fellow: its stage is not this report's, in any case."""
    other, this = sides
    text = cased(
        f"Both eyes scanned. {this}: medium drusen, pigmentary changes, no PED, no fluid. "
        f"{other} ({mark}): active nAMD under treatment, disciform scar.",
        case,
    )
    got = labels(text)
    assert got["stage"] is None, text
    assert "fibrosis" not in got["biomarkers"], text


def test_the_one_letter_side_without_a_mark_is_not_an_eye():
    """Negative: the same note with the disease stated for this eye keeps it."""
    text = "Both eyes scanned. L: active nAMD, SRF present. R (not subject): medium drusen."
    assert labels(text)["stage"] == "late_wet_active"


@SETTINGS
@given(st.sampled_from([("right", "left"), ("left", "right")]), st.sampled_from(["as written", "upper"]))
def test_a_subject_field_names_this_eye(sides, case):
    """A subject field with its side ("SUBJECT: LEFT", "Subject eye: right") names this report's eye, as a form's
    "Eye: left": the other eye's GA, told after it, is not this report's."""
    this, other = sides
    text = cased(
        f"Subject eye: {this} ({other} eye has established GA, monitored separately).\n"
        f"{this.capitalize()} OCT: drusenoid PED with overlying HRF; no fluid.\nConsensus: intermediate AMD.",
        case,
    )
    got = labels(text)
    assert got["stage"] == "intermediate", text
    assert got["biomarkers"].get("ped") == "present", text


@SETTINGS
@given(st.sampled_from([("r", "l"), ("l", "r")]))
def test_the_one_letter_side_with_its_colon_is_an_eye_in_a_lower_case_note(sides):
    """In a note written without capitals "l:" and "r:" name eyes (`caseless_eyes`), so "l: normal" is the other
    eye's, not a healthy stage of this one."""
    this, other = sides
    text = f"{this} eye (referred): ga, non-foveal, hypertransmission. no srf. {other}: normal. rv 12/12."
    assert labels(text)["stage"] == "late_dry", text


def test_a_lower_case_note_of_one_eye_reads_normal():
    """Negative: the eye named alone and normal is healthy."""
    assert labels("r eye: normal macula. no drusen. rv 12/12.")["stage"] == "healthy"


@SETTINGS
@given(st.sampled_from(["Intravitreal bevacizumab", "Aflibercept 2 mg", "Faricimab"]), CASES)
def test_a_dose_administered_today_is_treatment_now(drug, case):
    """A dose "administered today" is round 18's treatment given now, as "given today": active wet AMD when no stage
    is named."""
    text = cased(
        f"OS: persistent IRF, less than at last visit. SRF none. {drug} administered today. RTC 4 weeks.", case
    )
    assert labels(text)["stage"] == "late_wet_active", text


def test_a_dose_administered_beside_an_activity_word_yields():
    """Negative: an activity word stated beside it wins, as for "given"."""
    text = "OD: no fluid. Aflibercept administered today. Inactive, extend to 10 weeks."
    assert labels(text)["stage"] == "late_wet_inactive"


@SETTINGS
@given(
    st.sampled_from([("right", "left"), ("left", "right")]),
    st.sampled_from(["which I will report separately", "reported separately", "monitored separately"]),
    st.sampled_from(["This letter is about her {this} eye.", "This letter concerns the {this} eye."]),
    st.sampled_from(["as written", "upper"]),
)
def test_the_other_eye_reported_separately_and_the_letters_eye(sides, elsewhere, about, case):
    """The other eye reported or monitored elsewhere ("neovascular AMD in her left eye, which I will report
    separately") is the fellow, and the eye a letter says it is about ("This letter is about her right eye") is this
    report's: its GA is read, and its review at the other eye's injection visits is routine (round 31 (b))."""
    this, other = sides
    text = cased(
        f"Mrs Murray continues on injections for neovascular AMD in her {other} eye, {elsewhere}. "
        f"{about.format(this=this)}\nHer {this} OCT shows extensive geographic atrophy. There is no fluid.\n"
        f"We will review the {this} eye at her {other} eye injection visits.",
        case,
    )
    got = labels(text)
    assert got["stage"] == "late_dry", text
    assert got["referral"] == "routine", text


def test_a_letter_about_one_eye_with_its_disease_keeps_it():
    """Negative: the letter's own eye with wet AMD keeps its stage."""
    text = "This letter is about her left eye. Her left OCT shows new SRF: active neovascular AMD."
    assert labels(text)["stage"] == "late_wet_active"


@SETTINGS
@given(
    st.sampled_from(["quiescent since January", "inactive since March", "dry since the spring"]),
    st.sampled_from(["Reactivated. Inject today.", "Active nAMD. Inject today.", "Reactivation. Inject today."]),
    CASES,
)
def test_a_history_of_inactivity_gives_way_to_todays_stated_activity(history, verdict, case):
    """A history of inactivity ("Known R nAMD, quiescent since January") beside today's fluid present and an active
    stage stated ("Today: new SRF ... Reactivated. Inject today") is active: the inactivity lasted until today."""
    text = cased(
        f"Known R nAMD, {history} on 12-weekly. Today: new SRF temporal to fovea and a small IRC. {verdict}", case
    )
    assert labels(text)["stage"] == "late_wet_active", text


def test_a_history_of_inactivity_stands_without_fluid_and_opens_with_hedged_fluid():
    """Negatives: with no fluid the inactivity stands, and with today's hedged fluid the stage is open (round 38
    (i))."""
    assert labels("Known R nAMD, quiescent since January. Today: no SRF, no IRF. Extend to 14 weeks.")["stage"] == (
        "late_wet_inactive"
    )
    text = "Known R nAMD, inactive since March. Today: could be a small SRF pocket or just an artefact. No IRF."
    assert labels(text)["stage"] is None


@SETTINGS
@given(
    st.sampled_from(["Intermediate AMD probably", "known iAMD", "Early AMD", "Known GA"]),
    st.sampled_from(["?conversion", "? conversion", "query conversion", "??conversion"]),
    CASES,
)
def test_a_bare_conversion_queried_opens_the_stated_stage(stage, query, case):
    """Convention (o): a bare "?conversion" (no target stage named) beside a stated stage opens it, no stage, as
    "?conversion to nAMD" does (round 31; dev42 w42-128, dev18 w18-108)."""
    text = cased(f"RE: equivocal small IRF temporal to fovea; SRF nil. {stage}; {query}. Repeat OCT in 2 weeks.", case)
    assert labels(text)["stage"] is None, text


def test_conversion_not_queried_keeps_the_stage():
    """Negative: conversion denied or watched for is no query of it: the stated stage stands."""
    assert labels("Intermediate AMD. No signs of conversion. Review 6/12.")["stage"] == "intermediate"
    assert labels("Intermediate AMD. Watch for conversion.")["stage"] == "intermediate"


def test_the_history_join_gap_is_data(tmp_path):
    """The `with`-joined history's settings are data (context_rules.yaml `joined_history`, the lead's decision 3 of
    round 41): the file sets them, and a gap of 0 no longer lets "Previous iAMD with DLS" share its history."""
    import dataclasses

    from retinavlm.evaluation.context_rules import default_rules_path, load_rules
    from retinavlm.evaluation.extract import FindingsExtractor

    shipped = load_rules()
    assert shipped.history_joiners == frozenset({"with"})
    text = "Previous iAMD with DLS. Today: no fluid."
    assert "double_layer_sign" not in labels(text)["biomarkers"]
    narrow = FindingsExtractor(rules=dataclasses.replace(shipped, history_join_gap=0))
    assert narrow.extract(text).labels()["biomarkers"].get("double_layer_sign") == "present"
    # the key is checked like every other: an unknown setting is an error
    bad = tmp_path / "rules.yaml"
    bad.write_text(default_rules_path().read_text().replace("joined_history:\n", "joined_history:\n  gap: 1\n", 1))
    try:
        load_rules(bad)
    except Exception as error:  # RulesError
        assert "joined_history" in str(error)
    else:
        raise AssertionError("an unknown joined_history key was accepted")


@SETTINGS
@given(
    st.sampled_from(["was treated in 2022 for", "was treated in 2019 for", "had been treated for", "Previous"]),
    st.sampled_from(["neovascular AMD", "wet AMD", "nAMD"]),
    CASES,
)
def test_a_finding_joined_by_with_to_a_disease_of_the_history_shares_it(history, disease, case):
    """A finding joined by "with" to a disease named as history, up to five words after the history cue ("was
    treated in 2022 for neovascular AMD with subretinal fluid"), is history too; what is denied today ("has not
    returned") is absent."""
    text = cased(
        f"His left eye {history} {disease} with subretinal fluid. Today's OCT shows new intraretinal fluid. "
        "The subretinal fluid has not returned.",
        case,
    )
    got = labels(text)["biomarkers"]
    assert got.get("srf") == "absent", text
    assert got.get("irf") == "present", text


def test_a_finding_joined_by_with_to_todays_disease_is_present():
    """Negative: a finding joined to a disease named plainly is today's, and a finding that has returned is present."""
    assert labels("Known neovascular AMD in the left eye with new subretinal fluid today.")["biomarkers"]["srf"] == (
        "present"
    )
    assert labels("Treated for nAMD in 2022. The subretinal fluid has returned.")["biomarkers"]["srf"] == "present"


@SETTINGS
@given(
    st.sampled_from(
        [
            ("PED", "ped", "serous", "drusenoid"),
            ("PED", "ped", "fibrovascular", "drusenoid"),
            ("pigment epithelial detachment", "ped", "drusenoid", "serous"),
            ("drusen", "drusen", "large", "medium"),
        ]
    ),
    st.sampled_from(["?", "query "]),
    CASES,
)
def test_a_query_of_the_findings_kind_leaves_it_present(finding, query, case):
    """The lead's decision on w42-030: a query of a finding's type or size right after it ("subfoveal PED ?serous vs
    drusenoid") leaves the finding present; only a query of the finding itself makes it uncertain."""
    words, bid, kind, other = finding
    text = cased(f"ARMD clinic RE: subfoveal {words} {query}{kind} vs {other}, equivocal trace SRF.", case)
    assert labels(text)["biomarkers"].get(bid) == "present", text


def test_a_query_of_the_finding_itself_stays_uncertain():
    """Negatives: the finding queried ("?PED"), or set against another finding ("PED vs shadowing artefact"), is
    uncertain."""
    assert labels("RE: subfoveal ?PED, no SRF.")["biomarkers"]["ped"] == "uncertain"
    assert labels("RE: query PED vs shadowing artefact, no SRF.")["biomarkers"]["ped"] == "uncertain"


@SETTINGS
@given(
    st.sampled_from(["persistent", "quite persistent", "residual", "recurrent"]),
    st.sampled_from(["subretinal fluid", "intraretinal fluid"]),
    CASES,
)
def test_a_lasting_finding_told_in_the_past_tense_is_history(lasting, finding, case):
    """ "Previously he had quite persistent subretinal fluid but that has been dry since the spring": "persistent" there
    is of then; today's denial decides."""
    key = "srf" if finding.startswith("sub") else "irf"
    text = cased(
        f"Previously he had {lasting} {finding} but that has been dry since the spring. Today there is no {finding}.",
        case,
    )
    assert labels(text)["biomarkers"].get(key) == "absent", text


def test_a_lasting_finding_of_today_is_present():
    """Negative: "persistent" of today's finding is current."""
    assert labels("Today there is persistent subretinal fluid.")["biomarkers"]["srf"] == "present"
    assert labels("He has persistent subretinal fluid despite monthly injections.")["biomarkers"]["srf"] == "present"


@SETTINGS
@given(
    st.sampled_from([("SRF", "srf"), ("IRF", "irf"), ("PED", "ped")]),
    st.sampled_from([("no definite {x}", "uncertain"), ("no {x}", "absent"), ("{x} not seen", "absent")]),
    CASES,
)
def test_a_field_label_restated_in_its_value_states_nothing(finding, value, case):
    """A finding's field label whose value names the finding again ("SRF: no definite SRF", "SRF: no SRF") states
    nothing itself: the value decides."""
    name, key = finding
    words, state = value
    text = cased(f"Reading centre report\nEye: OD\nFibrosis: present\n{name}: {words.format(x=name)}\n", case)
    assert labels(text)["biomarkers"].get(key) == state, text


def test_a_field_label_with_a_plain_value_stays_read():
    """Negative: a label with a value that names no finding is read as before."""
    assert labels("SRF: present\nIRF: none")["biomarkers"] == {"srf": "present", "irf": "absent"}
    assert labels("IRF: small cysts present")["biomarkers"]["irf"] == "present"


@SETTINGS
@given(
    st.sampled_from([("srf", "++"), ("srf", "+++"), ("irf", "-"), ("srf", "+/-")]),
    st.sampled_from(["ped bigger", "shrm new", "ped enlarging"]),
    st.sampled_from(["as written", "lower", "upper"]),
)
def test_a_spaced_sign_in_a_run_of_pairs_before_a_word_is_a_sign(first, after, case):
    """In a run of finding-sign pairs, a spaced sign before a finding with a word of its own ("srf ++ irf - ped
    bigger") is the sign of the finding before it, also after a sentence's start ("inj clinic. le. srf ++ irf -"); a
    single "+" before it may be "and" ("drusen + PED"), so it starts no run."""
    name, sign = first
    other = "irf" if name != "irf" else "srf"
    text = cased(f"inj clinic. le. {name} {sign} {other} - {after}. namd active. inject today.", case)
    got = labels(text)["biomarkers"]
    assert got.get(other) == "absent", text


def test_a_dash_outside_a_run_stays_a_dash():
    """Negatives: a dash after a stage or after "drusen + PED" (where "+" is "and") is no sign."""
    assert labels("Early AMD - no need to refer.")["referral"] == "none"
    assert labels("drusen + PED - stable")["biomarkers"]["ped"] == "present"


@SETTINGS
@given(
    st.sampled_from(["shorten to 10 wks", "shorten to 8/52", "interval shortened to 6 weeks", "reduce to 8 weeks"]),
    CASES,
)
def test_a_schedule_shortened_is_the_plan_and_the_earlier_extension_yields(plan, case):
    """A schedule shortened for activity ("Agreed: shorten to 10 wks") names no level (the treatment's own review), and
    a schedule lengthened earlier in the report ("extended to 14 wks") yields to it: no referral."""
    text = cased(
        "MR MDT: L eye, known nAMD, 22 injections, extended to 14 wks. Today a small intraretinal cyst, no SRF. "
        f"Activity uncertain - could be a degenerative cyst. Agreed: {plan}.",
        case,
    )
    assert labels(text)["referral"] is None, text


def test_a_schedule_kept_without_a_shortening_stays_routine():
    """Negative: the open-activity eye's schedule kept is its clinic's review, routine (round 18)."""
    text = "L eye, known nAMD. Today a small intraretinal cyst, no SRF. Activity uncertain. Keep interval at 8 weeks."
    assert labels(text)["referral"] == "routine"


@SETTINGS
@given(st.sampled_from(["optometrist", "optician"]), st.sampled_from(["geographic atrophy", "GA"]), CASES)
def test_the_referrers_possibility_is_history(who, finding, case):
    """The referrer's possibility ("Mr Webb's optometrist raised the possibility of geographic atrophy"), as
    "optometrist queried", is history: the writer's own reading ("this is not atrophy") decides."""
    text = cased(
        f"Mr Webb's {who} raised the possibility of {finding} in the right eye. On our scan this is not atrophy: the "
        "apparent defect is shadowing beneath a large drusenoid PED. Diagnosis: intermediate AMD.",
        case,
    )
    assert labels(text)["biomarkers"].get("rpe_atrophy") == "absent", text


def test_the_writers_own_possibility_stays_a_hedge():
    """Negative: the writer's own "possibility of" hedges the finding."""
    assert labels("OCT raises the possibility of geographic atrophy nasally.")["biomarkers"]["rpe_atrophy"] == (
        "uncertain"
    )


@SETTINGS
@given(
    st.permutations(["SRF ABSENT", "IRF ABSENT", "PED FLAT"]),
    st.sampled_from(["as written", "lower"]),
)
def test_a_spaced_slash_between_fields_ends_an_item_with_its_own_word(fields, case):
    """A spaced slash between fields ("SRF ABSENT / IRF ABSENT / PED FLAT") ends an item like a comma: the PED with its
    own word ("flat") is there, whatever order the fields come in."""
    text = cased("MACULAR TREATMENT CLINIC OUTCOME\nOCT: " + " / ".join(fields) + "\nACTIVITY: INACTIVE", case)
    got = labels(text)["biomarkers"]
    assert got == {"srf": "absent", "irf": "absent", "ped": "present"}, text


def test_a_slash_joining_findings_still_shares_the_denial():
    """Negative: a slash joining two findings ("SRF/IRF absent", "no SRF / IRF") shares the denial."""
    assert labels("OCT: SRF/IRF absent.")["biomarkers"] == {"srf": "absent", "irf": "absent"}
    assert labels("OCT: no SRF / IRF.")["biomarkers"] == {"srf": "absent", "irf": "absent"}


@SETTINGS
@given(st.sampled_from([("L", "right"), ("R", "left")]), st.sampled_from(["Early AMD", "iAMD", "GA"]))
def test_an_eye_letter_after_an_abbreviation_ends_its_sentence(sides, stage):
    """ "Early AMD L. Already under MR for the right eye": a one-letter eye after an abbreviation ends its sentence, so
    the next sentence's other eye does not take this eye's stage with it (an initial after a title does not)."""
    this, other = sides
    text = f"{this}: two small drusen, no fluid.\n{stage} {this}. Already under MR for the {other} eye."
    assert labels(text)["stage"] is not None, text


def test_an_initial_after_a_title_does_not_end_its_sentence():
    """Negative: "Mr R. Dhillon" is one name, one sentence."""
    from prose_testing import extractor

    assert len(extractor()._reader.read("Seen by Mr R. Dhillon today.").sentences) == 1
    assert len(extractor()._reader.read("Early AMD L. Already under MR.").sentences) == 2
