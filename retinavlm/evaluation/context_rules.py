"""Typed view of eval/context_rules.yaml: the language around findings (negation, hedging, history,
other eye, sections, spelling), validated on load so that a typo in the rules fails loudly."""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retinavlm.errors import ConfigError
from retinavlm.resources import eval_dir
from retinavlm.yaml_files import read_yaml_file

CATEGORIES = (
    "negated",
    "uncertain",
    "affirmed",
    "pseudo",
    "historical",
    "current",
    "hypothetical",
    "other_eye",
    "other_person",
    "other_condition",
)
DIRECTIONS = ("forward", "backward", "bidirectional")
SECTION_ROLES = ("findings", "conclusion", "plan")


class RulesError(ConfigError):
    """The context rules file breaks its schema."""


@dataclass(frozen=True)
class ModifierRule:
    category: str
    direction: str
    max_scope: int
    within_item: bool = False  # the cue does not cross punctuation ("?shallow PED", not "?, PED")
    # the cue reaches past terminators to the end of its sentence ("Thank you for referring Mrs G with ?wet AMD")
    across_terminators: bool = False


@dataclass(frozen=True)
class Section:
    id: str
    headings: tuple[str, ...]
    category: str | None
    role: str | None
    # a heading with its value on its own line ends there ("Fellow eye: GA, stable." then this eye's plan)
    line_field: bool = False


@dataclass(frozen=True)
class LetterHeadings:
    """A handover written under single-letter headings ("S: ... B: ... A: ... R: ..." for Situation,
    Background, Assessment, Recommendation): the letters are headings only when all of them start lines
    in this order, so a lone "R:" still names the right eye and "A:" still answers a question."""

    letters: tuple[str, ...]
    sections: tuple[str, ...]  # the section id each letter opens


@dataclass(frozen=True)
class StageFamily:
    """A stage word naming several stages ("wet AMD"); qualifiers or the report's findings pick one."""

    terms: tuple[str, ...]
    members: tuple[str, ...]
    qualifiers: dict[str, tuple[str, ...]]
    conclusion_only: bool
    weak: bool = False  # names the disease only through its care ("aflibercept"): a stated stage wins
    needs_qualifier: bool = False  # only a qualifier picks the member, never the report's findings
    treatment: bool = False  # its terms name a treatment: follow-up in such a report is its own review
    # qualifiers that pick a member only when no other qualifier stands next to the word: "Aflibercept given,
    # stable" is inactive (a treat-and-extend dose is given at every visit), "Vabysmo given" alone active
    yielding: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # a treatment of its own that the generic treatment words of its report then name ("Eligible for pegcetacoplan
    # ... Book first injection": the injection is the complement inhibitor's, no anti-VEGF for wet AMD)
    owns_treatment: bool = False


@dataclass(frozen=True)
class AnchoredTerms:
    """Words that name a finding only next to the structure they describe ("RPE – irregular",
    "the RPE is regular"): a term counts when an anchor word is within `window` words."""

    anchors: frozenset[str]
    window: int
    present: dict[str, tuple[str, ...]]  # biomarker id -> terms asserting it
    absent: dict[str, tuple[str, ...]]  # biomarker id -> terms denying it
    # words right after the anchor that place it ("the RPE over the drusen is irregular"): a finding inside that
    # phrase does not take the term from the anchor
    places: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Place:
    """Words that place an umbrella finding in a layer: "under" + "retina" make "fluid" subretinal."""

    biomarker: str
    words: tuple[str, ...]
    structures: tuple[str, ...]


@dataclass(frozen=True)
class PlacedFindings:
    """An umbrella term named by where it lies ("fluid under and within the retina", "fluid sub & intra")."""

    group: str
    window: int  # words allowed between the last place word and its structure ("under the neurosensory retina")
    places: tuple[Place, ...]
    prefixes: frozenset[str]  # place words that stand alone after the term ("fluid sub & intra")
    shapes: frozenset[str] = frozenset()  # nouns between the term and its place ("fluid pockets under the retina")
    additives: frozenset[str] = frozenset()  # words after "and" before a second place ("and also in the retina")


@dataclass(frozen=True)
class ContextRules:
    version: str
    fingerprint: str
    max_scope: int
    list_words: frozenset[str]
    list_joiners: frozenset[str]  # words that join list items without making one a statement of its own
    terminators: tuple[str, ...]
    modifiers: dict[str, tuple[ModifierRule, ...]]  # phrase -> rules
    sentence_wide: frozenset[str]  # categories not stopped by terminators
    sections: tuple[Section, ...]
    heading_values: dict[str, dict[str, tuple[str, ...]]]  # section role -> level id -> phrases
    spelling: tuple[tuple[str, str], ...]
    token_aliases: dict[str, str]
    typo_min_length: int
    typo_protected: frozenset[str]
    implied_absence: dict[str, tuple[str, ...]]
    not_findings: tuple[str, ...]
    stage_families: tuple[StageFamily, ...]
    anatomy_guard_terms: frozenset[str]
    anatomy_guard_words: frozenset[str]
    anatomy_guard_window: int
    anatomy_guard_partial: frozenset[str]  # "otherwise normal macula": the rest of a scan with a finding is normal
    # "right" / "left" / "both" -> phrases naming that eye; "this" -> the report's eye; "not" -> no eye ("referring OD")
    eyes: dict[str, tuple[str, ...]]
    anchored: tuple[AnchoredTerms, ...]
    stage_alternatives: frozenset[str]  # "vs", "or": two stages joined by one are left undecided
    stage_alternative_gap: int
    undecided_stage: tuple[str, ...]  # "activity uncertain": the report leaves its stage open
    hanging_prefixes: frozenset[str]  # "sub or intraretinal fluid": the prefix takes the rest of the next word
    stage_correlatives: frozenset[str] = frozenset()  # "either X ... or Y": alternatives at any distance
    stage_ranges: frozenset[str] = frozenset()  # "early-to-intermediate AMD": a range of stages is undecided
    not_stages: tuple[str, ...] = ()  # "wet AMD pathway": a service named after a stage, not a stage
    open_stage_hedges: tuple[str, ...] = ()  # "?wet AMD", "query GA": the hedged stage is left open
    weak_referrals: dict[str, tuple[str, ...]] = field(default_factory=dict)  # level -> follow-up phrases
    time_frames: dict[str, tuple[str, ...]] = field(default_factory=dict)  # level -> time frames beyond the kb's
    community_care: frozenset[str] = frozenset()  # "routine" next to one of these is community care: none
    community_window: int = 4
    own_care: frozenset[str] = frozenset()  # "at our practice": a community word after these is the writer's own
    # "review at the hospital AMD clinic in 6 months rather than in the community": a community word after one of
    # these is the care turned down
    set_aside_care: frozenset[str] = frozenset()
    # "refer to polyclinic eye clinic": a community word followed by one of these names the hospital clinic it hosts
    hosted_care: tuple[str, ...] = ()
    # "refer to polyclinic doctor for non-urgent eye referral": a level word that names a referral's level is the eye
    # referral's, whoever is asked to send it
    referred_care: frozenset[str] = frozenset()
    # "URGENT: CVI certificate to be completed": a sentence naming paperwork states no referral
    paperwork: tuple[str, ...] = ()
    # "2022-05: large drusen" / "01/2023 - iAMD": a line headed by a date is this section ("history"), unless one
    # of `dated_current` words follows the date on its line ("2024-05 (today): new SRF")
    dated_section: str | None = None
    dated_current: frozenset[str] = frozenset()
    letter_closings: tuple[str, ...] = ()
    # "If he develops new distortion, refer via the fast-track pathway": a sentence opened by one of these is a plan
    # for a condition, no referral today
    conditional_openers: frozenset[str] = (
        frozenset()
    )  # "Best wishes,": a clinic named after it signs the letter, no plan
    requested_visits: frozenset[str] = frozenset()  # "could be seen in the rapid access clinic": a visit asked for
    # "New control at the clinic in 12 months": an interval counts as a follow-up with a visit word a few words before
    # it in its clause (`visit_gap` words between at most), and not with a test between them ("follow-up with OCTA in 3
    # months")
    visit_intervals: tuple[str, ...] = ()
    visit_words: tuple[str, ...] = ()
    visit_tests: tuple[str, ...] = ()
    visit_gap: int = 0
    # "next visit in 3 months - no new referral needed": a referral declined after one of these words leaves the care
    # the patient has; it yields to any other referral statement of the report
    standing_care: frozenset[str] = frozenset()
    # "No retina referral at this time": a referral declined for now, after the words it names, stands like "no new
    # referral" beside a visit the report keeps ("RTC 6 months with OCT")
    standing_now: frozenset[str] = frozenset()
    # "continue his eye checks with his optometrist in the meantime": community care alongside a hospital review
    # is interim care, and yields to any other referral statement of the report like a referral declined
    interim_care: frozenset[str] = frozenset()
    # "Already under MR clinic with appointment in March - no HES referral sent": a referral declined in a sentence
    # naming care the patient already has yields to a visit kept in that sentence (the booked visit is the plan)
    standing_already: frozenset[str] = frozenset()
    # "Today LEFT eye imaged", "RE today: medium drusen": an eye named right next to one of these words is the eye
    # examined today, this report's eye, after a history of the other eye ("Known GA right eye ...")
    todays_eye: frozenset[str] = frozenset()
    # "od: ... os: disciform scar": the sides' abbreviations also read in a note written without capitals (not "re",
    # "le", which are words there: "re namd on active tx" is "regarding")
    caseless_eyes: frozenset[str] = frozenset()
    # "wet AMD, previously treated x14": treatment history after the disease names its care, not a disease of the past
    treated_history: tuple[str, ...] = ()
    # "Hx of wet AMD treated 2019-2021, inactive since" beside today's "could be a small SRF pocket": a history of
    # inactivity that today's hedged fluid leaves open (eval/README.md, round 38 (i))
    inactivity_history: tuple[str, ...] = ()
    # "more likely wet AMD than diabetic macular oedema", "possible wet AMD, but CSC cannot be excluded": a non-AMD
    # reading ranked below the stage or left open beside it in its sentence sets the two against each other (no
    # stage; eval/README.md, round 39 (k), (l)); `rival_ranked` and `rival_open` say how it is set
    rival_conditions: tuple[str, ...] = ()
    rival_ranked: tuple[str, ...] = ()  # before the rival: "than", "than a"
    rival_open_after: tuple[str, ...] = ()  # after the rival: "cannot be excluded"
    rival_open_before: tuple[str, ...] = ()  # before the rival: "cannot exclude"
    rival_rejected: tuple[str, ...] = ()  # before the rival, setting it aside: "rather than CSC" keeps the stage
    # "discharged from our injection service; referral letter to the Glasgow MR service": a discharge beside a
    # transfer of care yields to the transfer (routine), like a new referral declined beside a visit
    transfer_of_care: tuple[str, ...] = ()
    # "Referral: routine, given fellow-eye nAMD": a fellow-eye cue right after one of these gives the referral's reason
    reason_words: frozenset[str] = frozenset()
    # "review in 1 week": a follow-up interval's length in days, to tell an urgent one from a routine one
    interval_units: dict[str, int] = field(default_factory=dict)  # "weeks" -> 7, "52" (of "2/52") -> 7
    interval_numbers: dict[str, int] = field(default_factory=dict)  # "two" -> 2, "a" (week) -> 1
    interval_urgent_days: int = 14  # a follow-up interval this short or shorter is urgent
    interval_weekdays: frozenset[str] = frozenset()  # "review on Friday": within the week, urgent
    hospital_care: tuple[str, ...] = ()  # care named without a level: negated, it is no referral
    placed: PlacedFindings | None = None  # "fluid under the retina" is subretinal fluid
    queries: tuple[str, ...] = ()  # "?SRF ... no SRF": a query answered later in the report
    answer_markers: frozenset[str] = frozenset()  # "Q: Any IRF? A: No": "A" marks the answer, not a label
    affirmative_answers: frozenset[str] = frozenset()  # "Q: Is this GA? A: Yes": the asked stage is stated
    negative_answers: frozenset[str] = frozenset()  # "Q: Any sign of MNV? A: No": the asked stage is denied
    speech_min_length: int = 6  # shortest split or unknown word read by its sound
    spoken_punctuation: dict[str, str] = field(default_factory=dict)  # "full stop" -> "."
    spoken_noun_after: frozenset[str] = frozenset()  # "a period of": after these a punctuation word is a word
    spoken_numbers: dict[str, str] = field(default_factory=dict)  # "within to weeks": "to" -> "2"
    spoken_number_units: tuple[str, ...] = ()
    joined_fields: tuple[str, ...] = ()
    # "no SRF/IRF, PED flat": a word of these right after a finding makes its item a statement of its own
    item_predicates: frozenset[str] = frozenset()
    # a hedge that is a whole list item after a comma ("cystic spaces in the INL, equivocal") hedges the item before it
    item_verdicts: tuple[tuple[str, ...], ...] = ()
    # "persistent SRF since loading, stable height ... injected today": a stability word right after a present finding or
    # before its measure describes the finding, not the disease's activity, so a treatment given still states active
    finding_stability: frozenset[str] = frozenset()
    finding_measures: frozenset[str] = frozenset()
    finding_stability_reach: int = 0
    # "no fluid, and an atrophic patch": two words after a comma that open a new item of the list, a statement of its own
    item_openers: frozenset[tuple[str, str]] = frozenset()
    # "Previous iAMD with DLS": a finding joined by one of these words to a disease named as history shares its history,
    # when at most `history_join_gap` words stand between the history cue and the joining word (`joined_history`)
    history_joiners: frozenset[str] = frozenset({"with"})
    history_join_gap: int = 3
    # "No SRF, IRF, double-layer sign or HRF is seen in the left eye": a finding joined by one of these is a member of
    # the negated list, whatever words follow the list
    disjunctions: frozenset[str] = frozenset()  # "AREDS category: 3" reads "AREDS category 3"
    # a JSON key holding a list of findings that are absent ("biomarkers_absent": [...]) or present
    finding_list_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    speech_sounds: tuple[tuple[str, str], ...] = ()  # letters that sound alike ("ph" -> "f")
    verdict_markers: tuple[str, ...] = ()
    letter_headings: tuple[LetterHeadings, ...] = ()  # SBAR handovers
    field_leaders: tuple[str, ...] = ()  # "Drusen ........ none": a run of 4+ of these is the field's ":"
    table_label_words: int = 0  # "SRF | no | +": a table row's first cell of up to this many words is a label
    zero_units: tuple[str, ...] = ()  # "Drusen volume: 0.00 mm³": a measured zero in one of these units is "-"
    verdict_sentences: tuple[tuple[str, str], ...] = ()  # (stage id, phrase): "Inactive." alone states it
    verdict_spans: frozenset[str] = frozenset()  # "Inactive for 3 consecutive visits": the verdict with its duration
    not_referrals: tuple[str, ...] = ()  # "urgent reconsideration of this claim": urgency of paperwork, not care
    # a treatment schedule kept or lengthened ("extend to 12 weeks") is this referral level, in a report whose
    # stage is one of `schedule_stages`
    schedule_level: str | None = None
    schedule_stages: frozenset[str] = frozenset()
    # stages whose schedule counts only while the eye is under treatment ("GA ... Continue injections every 60 days")
    schedule_treated_stages: frozenset[str] = frozenset()
    # a treated eye with no stage named whose report holds none of these present or hedged keeps its schedule too
    schedule_activity: frozenset[str] = frozenset()
    schedule_phrases: tuple[str, ...] = ()
    # "keep interval at 8 weeks": a treatment interval shows the eye is under treatment, naming no stage
    schedule_treated: tuple[str, ...] = ()
    # "Next injection in 8 weeks": the next dose at an interval is a kept schedule only for a stage of `schedule_stages`
    schedule_next_doses: tuple[str, ...] = ()
    # "Agreed: shorten to 10 wks": a schedule shortened for activity is the plan, no level, and a schedule kept or
    # lengthened elsewhere in the report ("extended to 14 wks" before today's finding) yields to it
    schedule_shortened: tuple[str, ...] = ()
    service_words: frozenset[str] = frozenset()  # "wet AMD clinic": a stage word naming a service is no stage
    service_modifiers: frozenset[str] = frozenset()  # "nAMD treatment clinic": may stand before the service word
    visit_places: frozenset[str] = frozenset()  # "seen in the rapid access clinic": where a visit was, no referral
    # "Activity: none (dry)": an activity field's values -> stage id (and "headings": the field names)
    activity_fields: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # "no AMD of note" beside AMD findings: a qualified "no AMD" states no stage (the words right after it)
    healthy_qualifiers: frozenset[str] = frozenset()
    # "not required" states a referral only about one ("Adjudication: not required" does not); copulas may stand
    # between the subject and the predicate
    referral_predicates: tuple[str, ...] = ()
    referral_copulas: frozenset[str] = frozenset()
    referral_alternatives: frozenset[str] = frozenset()  # "routine or 2ww?": two levels set against each other
    referral_alternative_gap: int = 3
    probability_present: float = 1.0  # "P(SRF)=0.97": a probability at or above this is present
    probability_absent: float = 0.0  # at or below this absent, uncertain between
    probability_words: tuple[str, ...] = ()  # "SRF: 0.02 absent": a state word after a score is the value
    corrections: tuple[str, ...] = ()  # "ADDENDUM", "[corrected: ...]": restated findings supersede earlier ones
    definite_words: frozenset[str] = frozenset()  # "the serous PED ... has resolved": that lesion is gone
    # "no drusen >63 µm": a size threshold after a denied finding denies only the larger ones
    size_thresholds: tuple[str, ...] = ()
    size_units: frozenset[str] = frozenset()
    # "Known exudative AMD": a word before a disease named with its activity that makes the name the standing diagnosis
    standing_diagnosis: tuple[str, ...] = ()


def _finding_list_keys(spec, path: Path) -> dict[str, tuple[str, ...]]:
    spec = _mapping(spec, path, "finding_list_keys")
    _keys(spec, {"absent", "present"}, path, "finding_list_keys")
    return {str(k): tuple(w.lower() for w in _strings(v, path, f"finding_list_keys {k}")) for k, v in spec.items()}


def default_rules_path() -> Path:
    return eval_dir() / "context_rules.yaml"


def load_rules(path: str | os.PathLike | None = None) -> ContextRules:
    """Load and validate the context rules (default: eval/context_rules.yaml). Cached per file."""
    return _load_cached(Path(path or default_rules_path()).resolve())


@functools.lru_cache(maxsize=4)
def _load_cached(path: Path) -> ContextRules:
    doc, raw = read_yaml_file(path, RulesError, "context rules file")
    allowed = {
        "version",
        "max_scope",
        "list_words",
        "list_joiners",
        "terminators",
        "rules",
        "sections",
        "spelling",
        "token_aliases",
        "typos",
        "implied_absence",
        "not_findings",
        "not_stages",
        "stage_families",
        "stage_anatomy_guard",
        "sentence_wide",
        "heading_values",
        "eyes",
        "anchored_findings",
        "stage_alternatives",
        "undecided_stage",
        "hanging_prefixes",
        "open_stage_hedges",
        "weak_referrals",
        "time_frames",
        "placed_findings",
        "verdict_markers",
        "answer_markers",
        "affirmative_answers",
        "negative_answers",
        "queries",
        "speech",
        "service_words",
        "service_modifiers",
        "visit_places",
        "healthy_qualifiers",
        "activity_fields",
        "community_care",
        "follow_up_intervals",
        "hospital_care",
        "letter_headings",
        "not_referrals",
        "paperwork",
        "letter_closings",
        "dated_lines",
        "conditional_openers",
        "requested_visits",
        "visit_intervals",
        "standing_care",
        "standing_now",
        "interim_care",
        "standing_already",
        "todays_eye",
        "caseless_eyes",
        "treated_history",
        "inactivity_history",
        "rival_conditions",
        "rival_ranked",
        "rival_open_after",
        "rival_open_before",
        "rival_rejected",
        "transfer_of_care",
        "reason_words",
        "verdict_sentences",
        "verdict_spans",
        "field_leaders",
        "table_label_words",
        "zero_units",
        "treatment_schedule",
        "referral_predicates",
        "referral_alternatives",
        "probabilities",
        "corrections",
        "definite_words",
        "size_thresholds",
        "standing_diagnosis",
        "joined_fields",
        "item_predicates",
        "item_verdicts",
        "finding_stability",
        "item_openers",
        "disjunctions",
        "finding_list_keys",
        "joined_history",
    }
    _keys(doc, allowed, path, "top level")
    modifiers: dict[str, list[ModifierRule]] = {}
    default_scope = _int(doc.get("max_scope", 6), path, "max_scope")
    for i, rule in enumerate(doc.get("rules") or []):
        where = f"rules[{i}]"
        _keys(rule, {"category", "direction", "terms", "max_scope", "within_item", "across_terminators"}, path, where)
        category, direction = rule.get("category"), rule.get("direction")
        if category not in CATEGORIES:
            raise RulesError(f"{path}: {where} category {category!r} is not one of {', '.join(CATEGORIES)}")
        if direction not in DIRECTIONS:
            raise RulesError(f"{path}: {where} direction {direction!r} is not one of {', '.join(DIRECTIONS)}")
        scope = _int(rule.get("max_scope", default_scope), path, f"{where} max_scope")
        within_item = rule.get("within_item", scope == 0)
        across = rule.get("across_terminators", False)
        if not isinstance(within_item, bool) or not isinstance(across, bool):
            raise RulesError(f"{path}: {where} within_item and across_terminators must be true or false")
        for term in _strings(rule.get("terms"), path, f"{where} terms"):
            modifiers.setdefault(term, []).append(ModifierRule(category, direction, scope, within_item, across))
    sections = []
    for sid, spec in (doc.get("sections") or {}).items():
        _keys(spec, {"headings", "category", "role", "line_field"}, path, f"section {sid!r}")
        category, role = spec.get("category"), spec.get("role")
        line_field = spec.get("line_field", False)
        if not isinstance(line_field, bool):
            raise RulesError(f"{path}: section {sid!r} line_field must be true or false")
        if category is not None and category not in CATEGORIES:
            raise RulesError(f"{path}: section {sid!r} category {category!r} is not one of {', '.join(CATEGORIES)}")
        if role is not None and role not in SECTION_ROLES:
            raise RulesError(f"{path}: section {sid!r} role {role!r} is not one of {', '.join(SECTION_ROLES)}")
        sections.append(
            Section(
                str(sid), _strings(spec.get("headings"), path, f"section {sid!r} headings"), category, role, line_field
            )
        )
    spelling = []
    for pair in doc.get("spelling") or []:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) and p for p in pair)):
            raise RulesError(f"{path}: each spelling entry must be a pair [british, american], got {pair!r}")
        spelling.append((pair[0].lower(), pair[1].lower()))
    typos = doc.get("typos") or {}
    speech = doc.get("speech") or {}
    _keys(speech, {"min_length", "sounds", "punctuation", "noun_after", "numbers", "number_units"}, path, "speech")
    spoken_numbers = _mapping(speech.get("numbers"), path, "speech numbers")
    if any(not str(v).isdigit() or len(str(v)) > len(str(k)) for k, v in spoken_numbers.items()):
        raise RulesError(f"{path}: speech numbers values must be numbers no longer than their words")
    spoken = _mapping(speech.get("punctuation"), path, "speech punctuation")
    if any(not isinstance(v, str) or not 0 < len(v) <= len(str(k)) for k, v in spoken.items()):
        raise RulesError(f"{path}: speech punctuation values must be marks no longer than their words")
    _keys(typos, {"min_length", "words"}, path, "typos")
    families = []
    for i, spec in enumerate(doc.get("stage_families") or []):
        where = f"stage_families[{i}]"
        _keys(
            spec,
            {
                "terms",
                "members",
                "qualifiers",
                "conclusion_only",
                "weak",
                "needs_qualifier",
                "treatment",
                "yielding",
                "owns_treatment",
            },
            path,
            where,
        )
        qualifiers = _mapping(spec.get("qualifiers"), path, f"{where} qualifiers")
        yielding = _mapping(spec.get("yielding"), path, f"{where} yielding")
        families.append(
            StageFamily(
                terms=_strings(spec.get("terms"), path, f"{where} terms"),
                members=_strings(spec.get("members"), path, f"{where} members"),
                qualifiers={str(k): _strings(v, path, f"{where} qualifiers {k}") for k, v in qualifiers.items()},
                conclusion_only=bool(spec.get("conclusion_only", False)),
                weak=bool(spec.get("weak", False)),
                needs_qualifier=bool(spec.get("needs_qualifier", False)),
                treatment=bool(spec.get("treatment", False)),
                yielding={str(k): _strings(v, path, f"{where} yielding {k}") for k, v in yielding.items()},
                owns_treatment=bool(spec.get("owns_treatment", False)),
            )
        )
    sentence_wide = _strings(doc.get("sentence_wide"), path, "sentence_wide")
    bad = [c for c in sentence_wide if c not in CATEGORIES]
    if bad:
        raise RulesError(f"{path}: sentence_wide names unknown categories {bad}")
    heading_values: dict[str, dict[str, tuple[str, ...]]] = {}
    for role, values in _mapping(doc.get("heading_values"), path, "heading_values").items():
        if role not in SECTION_ROLES:
            raise RulesError(f"{path}: heading_values role {role!r} is not one of {', '.join(SECTION_ROLES)}")
        heading_values[role] = {
            str(level): _strings(terms, path, f"heading_values {role} {level}")
            for level, terms in _mapping(values, path, f"heading_values {role}").items()
        }
    eyes = _mapping(doc.get("eyes"), path, "eyes")
    _keys(eyes, {"right", "left", "both", "this", "not"}, path, "eyes")
    anchored = []
    for i, spec in enumerate(doc.get("anchored_findings") or []):
        where = f"anchored_findings[{i}]"
        _keys(spec, {"anchors", "window", "present", "absent", "places"}, path, where)
        anchored.append(
            AnchoredTerms(
                anchors=frozenset(w.lower() for w in _strings(spec.get("anchors"), path, f"{where} anchors")),
                window=_int(spec.get("window", 4), path, f"{where} window"),
                places=frozenset(w.lower() for w in _strings(spec.get("places", []), path, f"{where} places")),
                present={
                    str(k): _strings(v, path, f"{where} present {k}")
                    for k, v in _mapping(spec.get("present"), path, f"{where} present").items()
                },
                absent={
                    str(k): _strings(v, path, f"{where} absent {k}")
                    for k, v in _mapping(spec.get("absent"), path, f"{where} absent").items()
                },
            )
        )
    alternatives = doc.get("stage_alternatives") or {}
    _keys(alternatives, {"words", "max_gap", "correlatives", "ranges"}, path, "stage_alternatives")
    community = doc.get("community_care") or {}
    dated = _mapping(doc.get("dated_lines") or {}, path, "dated_lines")
    _keys(dated, {"section", "current"}, path, "dated_lines")
    _keys(community, {"words", "window", "own", "set_aside", "referred", "hosted"}, path, "community_care")
    weak_referrals = _mapping(doc.get("weak_referrals"), path, "weak_referrals")
    time_frames = _mapping(doc.get("time_frames"), path, "time_frames")
    intervals = doc.get("follow_up_intervals") or {}
    _keys(intervals, {"units", "numbers", "urgent_days", "weekdays"}, path, "follow_up_intervals")
    schedule = doc.get("treatment_schedule") or {}
    sizes = doc.get("size_thresholds") or {}
    _keys(sizes, {"words", "units"}, path, "size_thresholds")
    _keys(
        schedule,
        {"level", "stages", "treated_stages", "phrases", "treated", "activity", "next_doses", "shortened"},
        path,
        "treatment_schedule",
    )
    guard = doc.get("stage_anatomy_guard") or {}
    _keys(guard, {"terms", "window", "anatomy", "partial"}, path, "stage_anatomy_guard")
    stability = doc.get("finding_stability") or {}
    _keys(stability, {"words", "measures", "reach"}, path, "finding_stability")
    joined_history = doc.get("joined_history") or {}
    _keys(joined_history, {"joiners", "max_gap"}, path, "joined_history")
    visits = doc.get("visit_intervals") or {}
    _keys(visits, {"intervals", "visits", "tests", "gap"}, path, "visit_intervals")
    predicates = doc.get("referral_predicates") or {}
    _keys(predicates, {"phrases", "copulas"}, path, "referral_predicates")
    referral_alternatives = doc.get("referral_alternatives") or {}
    _keys(referral_alternatives, {"words", "max_gap"}, path, "referral_alternatives")
    probabilities = doc.get("probabilities") or {}
    _keys(probabilities, {"present", "absent", "words"}, path, "probabilities")
    probability_present = _probability(probabilities.get("present", 1.0), path, "probabilities present")
    probability_absent = _probability(probabilities.get("absent", 0.0), path, "probabilities absent")
    if probability_absent >= probability_present:
        raise RulesError(f"{path}: probabilities absent must be below present")
    absence = _mapping(doc.get("implied_absence"), path, "implied_absence")
    aliases = _mapping(doc.get("token_aliases"), path, "token_aliases")
    return ContextRules(
        version=str(doc.get("version", "0")),
        fingerprint=hashlib.sha256(raw).hexdigest()[:12],
        max_scope=default_scope,
        list_words=frozenset(w.lower() for w in _strings(doc.get("list_words"), path, "list_words")),
        list_joiners=frozenset(w.lower() for w in _strings(doc.get("list_joiners"), path, "list_joiners")),
        terminators=_strings(doc.get("terminators"), path, "terminators"),
        modifiers={term: tuple(rules) for term, rules in modifiers.items()},
        sentence_wide=frozenset(sentence_wide),
        sections=tuple(sections),
        heading_values=heading_values,
        spelling=tuple(spelling),
        token_aliases={str(k).lower(): str(v).lower() for k, v in aliases.items()},
        typo_min_length=_int(typos.get("min_length", 5), path, "typos min_length"),
        typo_protected=frozenset(w.lower() for w in _strings(typos.get("words"), path, "typos words")),
        implied_absence={str(k): _strings(v, path, f"implied_absence {k}") for k, v in absence.items()},
        not_findings=_strings(doc.get("not_findings"), path, "not_findings"),
        stage_families=tuple(families),
        anatomy_guard_terms=frozenset(
            w.lower() for w in _strings(guard.get("terms"), path, "stage_anatomy_guard terms")
        ),
        anatomy_guard_words=frozenset(
            w.lower() for w in _strings(guard.get("anatomy"), path, "stage_anatomy_guard anatomy")
        ),
        anatomy_guard_window=_int(guard.get("window", 2), path, "stage_anatomy_guard window"),
        anatomy_guard_partial=frozenset(
            w.lower() for w in _strings(guard.get("partial"), path, "stage_anatomy_guard partial")
        ),
        eyes={str(k): _strings(v, path, f"eyes {k}") for k, v in eyes.items()},
        anchored=tuple(anchored),
        stage_alternatives=frozenset(
            w.lower() for w in _strings(alternatives.get("words"), path, "stage_alternatives words")
        ),
        stage_alternative_gap=_int(alternatives.get("max_gap", 3), path, "stage_alternatives max_gap"),
        undecided_stage=_strings(doc.get("undecided_stage"), path, "undecided_stage"),
        hanging_prefixes=frozenset(w.lower() for w in _strings(doc.get("hanging_prefixes"), path, "hanging_prefixes")),
        stage_correlatives=frozenset(
            w.lower() for w in _strings(alternatives.get("correlatives"), path, "stage_alternatives correlatives")
        ),
        stage_ranges=frozenset(
            w.lower() for w in _strings(alternatives.get("ranges"), path, "stage_alternatives ranges")
        ),
        not_stages=_strings(doc.get("not_stages"), path, "not_stages"),
        open_stage_hedges=_strings(doc.get("open_stage_hedges"), path, "open_stage_hedges"),
        weak_referrals={str(k): _strings(v, path, f"weak_referrals {k}") for k, v in weak_referrals.items()},
        time_frames={str(k): _strings(v, path, f"time_frames {k}") for k, v in time_frames.items()},
        community_care=frozenset(w.lower() for w in _strings(community.get("words"), path, "community_care words")),
        community_window=_int(community.get("window", 4), path, "community_care window"),
        own_care=frozenset(w.lower() for w in _strings(community.get("own"), path, "community_care own")),
        referred_care=frozenset(
            w.lower() for w in _strings(community.get("referred"), path, "community_care referred")
        ),
        set_aside_care=frozenset(
            w.lower() for w in _strings(community.get("set_aside"), path, "community_care set_aside")
        ),
        hosted_care=tuple(w.lower() for w in _strings(community.get("hosted"), path, "community_care hosted")),
        paperwork=_strings(doc.get("paperwork"), path, "paperwork"),
        letter_closings=_strings(doc.get("letter_closings"), path, "letter_closings"),
        conditional_openers=frozenset(
            w.lower() for w in _strings(doc.get("conditional_openers"), path, "conditional_openers")
        ),
        dated_section=str(dated["section"]) if dated.get("section") is not None else None,
        dated_current=frozenset(w.lower() for w in _strings(dated.get("current"), path, "dated_lines current")),
        requested_visits=frozenset(w.lower() for w in _strings(doc.get("requested_visits"), path, "requested_visits")),
        visit_intervals=_strings(visits.get("intervals"), path, "visit_intervals intervals"),
        visit_words=_strings(visits.get("visits"), path, "visit_intervals visits"),
        visit_tests=_strings(visits.get("tests"), path, "visit_intervals tests"),
        visit_gap=_int(visits.get("gap", 0), path, "visit_intervals gap"),
        standing_care=frozenset(w.lower() for w in _strings(doc.get("standing_care"), path, "standing_care")),
        standing_now=frozenset(w.lower() for w in _strings(doc.get("standing_now"), path, "standing_now")),
        interim_care=frozenset(w.lower() for w in _strings(doc.get("interim_care"), path, "interim_care")),
        standing_already=frozenset(w.lower() for w in _strings(doc.get("standing_already"), path, "standing_already")),
        todays_eye=frozenset(w.lower() for w in _strings(doc.get("todays_eye"), path, "todays_eye")),
        caseless_eyes=frozenset(w.lower() for w in _strings(doc.get("caseless_eyes"), path, "caseless_eyes")),
        treated_history=tuple(_strings(doc.get("treated_history"), path, "treated_history")),
        inactivity_history=tuple(_strings(doc.get("inactivity_history"), path, "inactivity_history")),
        rival_conditions=tuple(_strings(doc.get("rival_conditions"), path, "rival_conditions")),
        rival_ranked=tuple(_strings(doc.get("rival_ranked"), path, "rival_ranked")),
        rival_open_after=tuple(_strings(doc.get("rival_open_after"), path, "rival_open_after")),
        rival_open_before=tuple(_strings(doc.get("rival_open_before"), path, "rival_open_before")),
        rival_rejected=tuple(_strings(doc.get("rival_rejected"), path, "rival_rejected")),
        transfer_of_care=tuple(_strings(doc.get("transfer_of_care"), path, "transfer_of_care")),
        reason_words=frozenset(w.lower() for w in _strings(doc.get("reason_words"), path, "reason_words")),
        interval_units={
            str(k).lower(): _int(v, path, f"follow_up_intervals units {k}")
            for k, v in _mapping(intervals.get("units"), path, "follow_up_intervals units").items()
        },
        interval_numbers={
            str(k).lower(): _int(v, path, f"follow_up_intervals numbers {k}")
            for k, v in _mapping(intervals.get("numbers"), path, "follow_up_intervals numbers").items()
        },
        interval_urgent_days=_int(intervals.get("urgent_days", 14), path, "follow_up_intervals urgent_days"),
        interval_weekdays=frozenset(w.lower() for w in _strings(intervals.get("weekdays"), path, "weekdays")),
        hospital_care=_strings(doc.get("hospital_care"), path, "hospital_care"),
        placed=_placed(doc.get("placed_findings"), path),
        verdict_markers=_strings(doc.get("verdict_markers"), path, "verdict_markers"),
        service_words=frozenset(w.lower() for w in _strings(doc.get("service_words"), path, "service_words")),
        service_modifiers=frozenset(
            w.lower() for w in _strings(doc.get("service_modifiers"), path, "service_modifiers")
        ),
        visit_places=frozenset(w.lower() for w in _strings(doc.get("visit_places"), path, "visit_places")),
        activity_fields={
            str(key): _strings(terms, path, f"activity_fields {key}")
            for key, terms in _mapping(doc.get("activity_fields"), path, "activity_fields").items()
        },
        healthy_qualifiers=frozenset(
            w.lower() for w in _strings(doc.get("healthy_qualifiers"), path, "healthy_qualifiers")
        ),
        queries=_strings(doc.get("queries"), path, "queries"),
        speech_min_length=_int(speech.get("min_length", 6), path, "speech min_length"),
        speech_sounds=_sound_pairs(speech.get("sounds"), path),
        spoken_punctuation={str(k).lower(): v for k, v in spoken.items()},
        spoken_noun_after=frozenset(w.lower() for w in _strings(speech.get("noun_after"), path, "speech noun_after")),
        spoken_numbers={str(k).lower(): str(v) for k, v in spoken_numbers.items()},
        spoken_number_units=_strings(speech.get("number_units"), path, "speech number_units"),
        joined_fields=_strings(doc.get("joined_fields"), path, "joined_fields"),
        item_predicates=frozenset(w.lower() for w in _strings(doc.get("item_predicates"), path, "item_predicates")),
        item_verdicts=tuple(
            tuple(v.lower().split()) for v in _strings(doc.get("item_verdicts"), path, "item_verdicts")
        ),
        finding_stability=frozenset(
            w.lower() for w in _strings(stability.get("words"), path, "finding_stability words")
        ),
        finding_measures=frozenset(
            w.lower() for w in _strings(stability.get("measures"), path, "finding_stability measures")
        ),
        finding_stability_reach=_int(stability.get("reach", 0), path, "finding_stability reach"),
        item_openers=frozenset(
            tuple(w.lower().split())
            for w in _strings(doc.get("item_openers"), path, "item_openers")
            if len(w.split()) == 2
        ),
        disjunctions=frozenset(w.lower() for w in _strings(doc.get("disjunctions"), path, "disjunctions")),
        history_joiners=frozenset(
            w.lower() for w in _strings(joined_history.get("joiners", ["with"]), path, "joined_history joiners")
        ),
        history_join_gap=_int(joined_history.get("max_gap", 3), path, "joined_history max_gap"),
        finding_list_keys=_finding_list_keys(doc.get("finding_list_keys"), path),
        answer_markers=frozenset(w.lower() for w in _strings(doc.get("answer_markers"), path, "answer_markers")),
        affirmative_answers=frozenset(
            w.lower() for w in _strings(doc.get("affirmative_answers"), path, "affirmative_answers")
        ),
        negative_answers=frozenset(w.lower() for w in _strings(doc.get("negative_answers"), path, "negative_answers")),
        letter_headings=_letter_headings(doc.get("letter_headings"), {s.id for s in sections}, path),
        not_referrals=_strings(doc.get("not_referrals"), path, "not_referrals"),
        schedule_level=str(schedule["level"]) if schedule.get("level") is not None else None,
        schedule_stages=frozenset(_strings(schedule.get("stages"), path, "treatment_schedule stages")),
        schedule_activity=frozenset(_strings(schedule.get("activity"), path, "treatment_schedule activity")),
        schedule_treated_stages=frozenset(
            _strings(schedule.get("treated_stages"), path, "treatment_schedule treated_stages")
        ),
        schedule_phrases=_strings(schedule.get("phrases"), path, "treatment_schedule phrases"),
        schedule_treated=_strings(schedule.get("treated"), path, "treatment_schedule treated"),
        schedule_next_doses=_strings(schedule.get("next_doses"), path, "treatment_schedule next_doses"),
        schedule_shortened=_strings(schedule.get("shortened"), path, "treatment_schedule shortened"),
        field_leaders=_strings(doc.get("field_leaders"), path, "field_leaders"),
        table_label_words=_int(doc.get("table_label_words", 0), path, "table_label_words"),
        zero_units=_strings(doc.get("zero_units"), path, "zero_units"),
        referral_predicates=_strings(predicates.get("phrases"), path, "referral_predicates phrases"),
        referral_copulas=frozenset(
            w.lower() for w in _strings(predicates.get("copulas"), path, "referral_predicates copulas")
        ),
        referral_alternatives=frozenset(
            w.lower() for w in _strings(referral_alternatives.get("words"), path, "referral_alternatives words")
        ),
        referral_alternative_gap=_int(referral_alternatives.get("max_gap", 3), path, "referral_alternatives max_gap"),
        probability_present=probability_present,
        probability_absent=probability_absent,
        probability_words=_strings(probabilities.get("words"), path, "probabilities words"),
        corrections=_strings(doc.get("corrections"), path, "corrections"),
        definite_words=frozenset(w.lower() for w in _strings(doc.get("definite_words"), path, "definite_words")),
        size_thresholds=_strings(sizes.get("words"), path, "size_thresholds words"),
        size_units=frozenset(w.lower() for w in _strings(sizes.get("units"), path, "size_thresholds units")),
        standing_diagnosis=_strings(doc.get("standing_diagnosis"), path, "standing_diagnosis"),
        verdict_spans=frozenset(w.lower() for w in _strings(doc.get("verdict_spans"), path, "verdict_spans")),
        verdict_sentences=tuple(
            (str(level), term)
            for level, terms in _mapping(doc.get("verdict_sentences"), path, "verdict_sentences").items()
            for term in _strings(terms, path, f"verdict_sentences {level}")
        ),
    )


def _letter_headings(value: Any, section_ids: set[str], path: Path) -> tuple[LetterHeadings, ...]:
    schemes = []
    for i, spec in enumerate(value or []):
        where = f"letter_headings[{i}]"
        _keys(spec, {"letters", "sections"}, path, where)
        letters = tuple(w.lower() for w in _strings(spec.get("letters"), path, f"{where} letters"))
        sections = _strings(spec.get("sections"), path, f"{where} sections")
        if len(letters) < 2 or len(letters) != len(sections):
            raise RulesError(f"{path}: {where} needs two or more letters and one section per letter")
        if bad := [s for s in sections if s not in section_ids]:
            raise RulesError(f"{path}: {where} names unknown section(s) {bad}")
        schemes.append(LetterHeadings(letters, sections))
    return tuple(schemes)


def _sound_pairs(value: Any, path: Path) -> tuple[tuple[str, str], ...]:
    pairs = []
    for pair in value or []:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair) and pair[0]):
            raise RulesError(f"{path}: each speech sounds entry must be a pair [letters, sound], got {pair!r}")
        pairs.append((pair[0].lower(), pair[1].lower()))
    return tuple(pairs)


def _placed(spec: Any, path: Path) -> PlacedFindings | None:
    if spec is None:
        return None
    _keys(spec, {"group", "window", "places", "prefixes", "shapes", "additives"}, path, "placed_findings")
    places = []
    for i, place in enumerate(spec.get("places") or []):
        _keys(place, {"biomarker", "words", "structures"}, path, f"placed_findings places[{i}]")
        places.append(
            Place(
                str(place.get("biomarker")),
                tuple(w.lower() for w in _strings(place.get("words"), path, f"placed_findings places[{i}] words")),
                _strings(place.get("structures"), path, f"placed_findings places[{i}] structures"),
            )
        )
    return PlacedFindings(
        str(spec.get("group")),
        _int(spec.get("window", 3), path, "placed_findings window"),
        tuple(places),
        frozenset(w.lower() for w in _strings(spec.get("prefixes"), path, "placed_findings prefixes")),
        frozenset(w.lower() for w in _strings(spec.get("shapes"), path, "placed_findings shapes")),
        frozenset(w.lower() for w in _strings(spec.get("additives"), path, "placed_findings additives")),
    )


def _keys(obj: Any, allowed: set, path: Path, where: str) -> None:
    if not isinstance(obj, dict):
        raise RulesError(f"{path}: {where} must be a mapping, got {type(obj).__name__}")
    unknown = sorted(str(k) for k in set(obj) - allowed)
    if unknown:
        raise RulesError(f"{path}: unknown key(s) {', '.join(unknown)} in {where}")


def _mapping(value: Any, path: Path, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RulesError(f"{path}: {where} must be a mapping, got {type(value).__name__}")
    return value


def _strings(value: Any, path: Path, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
    ):
        # YAML reads a bare no/yes/on/off as a boolean: such words must be quoted
        raise RulesError(f'{path}: {where} must be a list of strings (quote words like "no" and "yes")')
    return tuple(str(v) for v in value)


def _probability(value: Any, path: Path, where: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise RulesError(f"{path}: {where} must be a number from 0 to 1, got {value!r}")
    return float(value)


def _int(value: Any, path: Path, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RulesError(f"{path}: {where} must be a non-negative integer, got {value!r}")
    return value
