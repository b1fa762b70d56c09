"""Synthetic OCT B-scans and cohorts with exact labels, rendered from findings specifications."""

from retinavlm.data.synthetic.anatomy import Grid
from retinavlm.data.synthetic.cohort import (
    CohortSummary,
    PlannedScan,
    annotation_columns,
    plan_cohort,
    render_cohort,
    render_on_domain,
)
from retinavlm.data.synthetic.config import CohortConfig, CohortConfigError, ScannerDomain, load_cohort_config
from retinavlm.data.synthetic.lesions import LESIONS
from retinavlm.data.synthetic.render import RenderedScan, ScanSpec, render, render_scan
from retinavlm.data.synthetic.reports import ReportWriter, load_report_templates

__all__ = [
    "LESIONS",
    "CohortConfig",
    "CohortConfigError",
    "CohortSummary",
    "Grid",
    "PlannedScan",
    "RenderedScan",
    "ReportWriter",
    "ScanSpec",
    "ScannerDomain",
    "annotation_columns",
    "load_cohort_config",
    "load_report_templates",
    "plan_cohort",
    "render",
    "render_cohort",
    "render_on_domain",
    "render_scan",
]
