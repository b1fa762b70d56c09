"""Scans in and out: readers, quality gate, synthetic renderer, cohorts as datasets, augmentation."""
