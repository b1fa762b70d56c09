"""Helpers for the scan I/O, quality gate and augmentation tests: every file is generated in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from retinavlm.resources import shared_data_dir

IDENTIFIERS = {
    "PatientName": "Doe^Jane",
    "PatientID": "MRN-998877",
    "PatientBirthDate": "19500506",
    "AccessionNumber": "ACC-445566",
    "InstitutionName": "St Elsewhere Eye Hospital",
    "ReferringPhysicianName": "Smith^John",
}


def kermany_dir() -> Path:
    root = shared_data_dir()
    folder = root / "kermany-oct2017" if root else None
    if folder is None or not folder.is_dir():
        pytest.skip(
            "real OCT scans not available: ../shared/data/kermany-oct2017 is absent (see shared/data/README.md)"
        )
    return folder


def layered_bscan(height: int = 248, width: int = 256, pit_column: float | None = None, seed: int = 0) -> np.ndarray:
    """A toy OCT-like B-scan: dark vitreous, bright bands with speckle, optional foveal pit at `pit_column`."""
    rng = np.random.default_rng(seed)
    columns = np.arange(width)
    top = np.full(width, 0.3 * height)
    if pit_column is not None:
        top = top + 0.12 * height * np.exp(-0.5 * ((columns - pit_column) / (0.05 * width)) ** 2)
    bottom = np.full(width, 0.62 * height)
    rows = np.arange(height)[:, None]
    image = np.full((height, width), 0.04, dtype=np.float32)
    inner = (rows >= top) & (rows < bottom)
    image[inner] = 0.35
    for depth, level in ((0.0, 0.7), (0.5, 0.25), (1.0, 0.95)):  # nerve fibre, nuclear, RPE bands
        band_row = top + depth * (bottom - top)
        image[np.abs(rows - band_row) < 4] = level
    image[(rows >= bottom + 4) & (rows < bottom + 0.15 * height)] = 0.3  # choroid
    speckle = rng.gamma(4.0, 0.25, size=image.shape).astype(np.float32)
    return np.clip(image * speckle, 0, 1).astype(np.float32)


def write_dicom(
    path: Path,
    *,
    frames: int = 5,
    rows: int = 64,
    columns: int = 80,
    with_pixels: bool = True,
    shared_spacing: bool = True,
    laterality: str = "L",
) -> np.ndarray | None:
    """A multi-frame ophthalmic tomography DICOM carrying patient identifiers; returns its frames."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, OphthalmicTomographyImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = OphthalmicTomographyImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = OphthalmicTomographyImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    for keyword, value in IDENTIFIERS.items():
        setattr(ds, keyword, value)
    ds.Modality = "OPT"
    ds.Manufacturer = "Heidelberg Engineering"
    ds.ManufacturerModelName = "Spectralis"
    ds.ImageLaterality = laterality
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, columns, frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    if shared_spacing:
        measures = Dataset()
        measures.PixelSpacing = [0.0039, 0.0113]
        group = Dataset()
        group.PixelMeasuresSequence = [measures]
        ds.SharedFunctionalGroupsSequence = [group]
    data = None
    if with_pixels:
        data = (np.arange(frames)[:, None, None] * 1000 + np.arange(columns)[None, None, :] * 10).astype(np.uint16)
        data = np.broadcast_to(data, (frames, rows, columns)).copy()
        ds.add_new(0x7FE00010, "OW", data.tobytes())
    ds.save_as(path, enforce_file_format=True)
    return data
