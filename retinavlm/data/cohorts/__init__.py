"""Cohorts as Hugging Face datasets, split by patient.

Sources (`retinavlm dataset build SOURCE --kind ...`):
- synthetic: a `retinavlm synth` folder (images/, references.jsonl, annotations.csv, manifest.json);
- manifest: a CSV or JSONL file whose image paths are relative to its folder. JSONL rows use the
  references.jsonl keys; a CSV has one column per biomarker id (present/absent/uncertain, 1/0,
  empty = unknown) and `<biomarker>_<attribute>` columns (drusen_size, ped_type);
- kermany: class folders of CLASS-PATIENT-N images with a label map (curricula/label_maps/),
  cross-checked with the folder's manifest.csv (label, patient id, sha256) when there is one.

Bad rows (missing image, unreadable image, duplicate id, unknown stage/referral/biomarker id,
a label the findings contradict) are skipped and reported with their file and line; the build
goes on. Whole-source problems are fatal.

Schema of every split (one row per B-scan):
- id (string): unique scan id.
- patient_id (string); split_group (string): the unit kept within one split, the patient id
  unless the source says two ids are one person (the Kermany manifest's patient_group).
- image (datasets.Image): the scan's bytes embedded in the Arrow files, so the saved dataset is
  self-contained. Decodes to a greyscale PIL image whose grey levels are what
  `retinavlm.data.io.read_scan` reads from the source file (build.py says which bytes are kept).
- eye ("OD"/"OS"), visit (int32), domain (scanner domain), age (int32), sex: null when unknown.
- condition (string): a non-AMD diagnosis (e.g. "dme"); null for scans graded on the AMD scale.
- stage, referral (string): knowledge-base ids; given by the source and checked against the
  findings, or derived from the findings when the unknown ones cannot change them; else null.
  stage is always null when condition is set.
- one column per knowledge-base biomarker id: "present", "absent", "uncertain", or null when the
  source does not say (unknown is not absent).
- attributes (datasets.Json): {biomarker id: {attribute: value}} for labelled present biomarkers.
- report (string): free-text report, null when none.
- source (string): the image's path relative to the source folder (provenance).

Splits: "train", "validation", "test" by patient (no patient in two splits), stratified by
(stage, referral, condition), deterministic by seed. Saved with `save_to_disk` with a
`cohort.json` build record (kind, knowledge version, split sizes, skipped rows); load with
`datasets.load_from_disk(folder)`.
"""

from retinavlm.data.cohorts.build import BUILD_RECORD, BuildReport, cohort_features, read_cohort_source, write_cohort
from retinavlm.data.cohorts.label_map import LabelMap, LabelMapError, load_label_map
from retinavlm.data.cohorts.records import CohortRecord, RowProblem
from retinavlm.data.cohorts.sources import KINDS, CohortSourceError, SourceRows
from retinavlm.data.cohorts.splits import SPLIT_NAMES, SplitConfig, split_by_patient

__all__ = [
    "BUILD_RECORD",
    "KINDS",
    "SPLIT_NAMES",
    "BuildReport",
    "CohortRecord",
    "CohortSourceError",
    "LabelMap",
    "LabelMapError",
    "RowProblem",
    "SourceRows",
    "SplitConfig",
    "cohort_features",
    "load_label_map",
    "read_cohort_source",
    "split_by_patient",
    "write_cohort",
]
