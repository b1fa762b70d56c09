"""`retinavlm deidentify`: no identifier survives anywhere (bytes, names, console), pixels and UID relations do."""

from __future__ import annotations

import contextlib
import csv
import io
import string
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, OphthalmicTomographyImageStorage, generate_uid
from scan_testing import IDENTIFIERS

from retinavlm.cli import main
from retinavlm.data.deidentify import UIDMap, deidentify_dataset, load_profile
from retinavlm.data.io import DICOM_TECHNICAL_TAGS, read_scan
from retinavlm.errors import ConfigError

# Beyond the reader's identifiers: values hidden in the places the profile must reach.
HIDDEN = {
    "private": "PRIVATE-MRN-4711",
    "nested_id": "OTHER-ID-5522",
    "nested_name": "Ratched^Mildred",
    "unlisted_name": "Evaluator^Eve",
    "overlay": "overlay note about Jane Doe",
    "study_date": "20240102",
    "frame_date": "20240103093000",
    "series_time": "103015",
    "description": "Retina clinic visit of Jane",
}
STUDY_FOLDER = "Doe^Jane_MRN-998877"  # a folder and file names that carry identifiers too


def identified_dataset(study: str, series: str, frame_of_reference: str, referenced: str | None, seed: int) -> Dataset:
    """One OCT image carrying identifiers at the top level, in private tags, in nested sequences and in an overlay."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = OphthalmicTomographyImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.SourceApplicationEntityTitle = "EYECLINIC7"
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = OphthalmicTomographyImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame_of_reference
    for keyword, value in IDENTIFIERS.items():
        setattr(ds, keyword, value)
    ds.StudyDate, ds.SeriesTime, ds.StudyDescription = (
        HIDDEN["study_date"],
        HIDDEN["series_time"],
        HIDDEN["description"],
    )
    ds.Modality, ds.Manufacturer, ds.ImageLaterality = "OPT", "Heidelberg Engineering", "R"
    other = Dataset()
    other.PatientID = HIDDEN["nested_id"]
    ds.OtherPatientIDsSequence = [other]
    request = Dataset()
    request.ScheduledPerformingPhysicianName = HIDDEN["nested_name"]
    ds.RequestAttributesSequence = [request]
    measures, group = Dataset(), Dataset()
    measures.PixelSpacing = [0.0039, 0.0113]
    group.PixelMeasuresSequence = [measures]
    group.EvaluatorName = HIDDEN["unlisted_name"]  # a person name the table does not list, in a kept sequence
    frame = Dataset()
    frame.FrameAcquisitionDateTime = HIDDEN["frame_date"]  # a date the table does not list
    group.FrameContentSequence = [frame]
    ds.SharedFunctionalGroupsSequence = [group]
    if referenced:
        reference = Dataset()
        reference.ReferencedSOPClassUID = OphthalmicTomographyImageStorage
        reference.ReferencedSOPInstanceUID = referenced
        ds.ReferencedImageSequence = [reference]
    block = ds.private_block(0x0099, "EYECLINIC PRIVATE", create=True)
    block.add_new(0x01, "LO", HIDDEN["private"])
    ds.add_new(0x60000010, "US", 8)
    ds.add_new(0x60000011, "US", 8)
    ds.add_new(0x60003000, "OW", b"\xff" * 8)
    ds.add_new(0x60004000, "LT", HIDDEN["overlay"])
    ds.Rows, ds.Columns, ds.NumberOfFrames, ds.SamplesPerPixel = 32, 40, 2, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    pixels = np.random.default_rng(seed).integers(0, 65535, size=(2, 32, 40), dtype=np.uint16)
    ds.add_new(0x7FE00010, "OW", pixels.tobytes())
    return ds


@pytest.fixture
def study(tmp_path: Path) -> tuple[Path, list[Path]]:
    """IN with three images of one study (two series; the third references the first) and two bad files."""
    root = tmp_path / "in"
    folder = root / STUDY_FOLDER
    folder.mkdir(parents=True)
    study_uid, frame_uid = generate_uid(), generate_uid()
    series = [generate_uid(), generate_uid()]
    first = identified_dataset(study_uid, series[0], frame_uid, None, seed=0)
    datasets = [
        first,
        identified_dataset(study_uid, series[0], frame_uid, None, seed=1),
        identified_dataset(study_uid, series[1], frame_uid, first.SOPInstanceUID, seed=2),
    ]
    paths = []
    for n, ds in enumerate(datasets):
        paths.append(folder / f"{IDENTIFIERS['PatientID']}_{n}.dcm")
        ds.save_as(paths[-1], enforce_file_format=True)
    (root / "notes.txt").write_text("not an image\n")
    (root / "cut.dcm").write_bytes(paths[0].read_bytes()[:-3000])
    return root, paths


def secrets_of(paths: list[Path]) -> list[str]:
    """Every value that must not survive: identifiers, hidden values, original UIDs, the source names."""
    values = [*IDENTIFIERS.values(), *HIDDEN.values(), "EYECLINIC7", STUDY_FOLDER]
    for path in paths:
        ds = pydicom.dcmread(path)
        values += [ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID, path.stem]
    return values


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["deidentify", *argv])
    return code, out.getvalue(), err.getvalue()


def test_no_identifier_survives_and_pixels_and_relations_do(study, tmp_path: Path) -> None:
    root, paths = study
    out, mapping = tmp_path / "out", tmp_path / "private" / "mapping.csv"
    for secret in secrets_of(paths)[:8]:
        assert any(secret.encode() in p.read_bytes() or secret in str(p) for p in paths)  # the fixture carries them
    code, stdout, stderr = run_cli(str(root), str(out), "--mapping", str(mapping))

    assert code == 1  # two files skipped
    assert f"{root / 'notes.txt'}: not a DICOM file" in stderr
    assert f"{root / 'cut.dcm'}: truncated DICOM file: the pixel data holds" in stderr
    assert "de-identified 3 of 5 file(s)" in stdout
    copies = sorted(out.rglob("*"))
    assert len(copies) == 3 and all(c.parent == out and c.suffix == ".dcm" for c in copies)  # flat, pseudonymous
    for secret in secrets_of(paths):
        assert secret not in stdout + stderr
        for copy in copies:
            assert secret not in copy.name
            assert secret.encode() not in copy.read_bytes()

    source_of = {row["copy"]: Path(row["source"]) for row in csv.DictReader(mapping.open())}
    assert set(source_of) == {c.name for c in copies}
    new = {source_of[c.name]: pydicom.dcmread(c) for c in copies}
    old = {p: pydicom.dcmread(p) for p in paths}
    for path, ds in new.items():
        np.testing.assert_array_equal(ds.pixel_array, old[path].pixel_array)
        assert ds.PixelData == old[path].PixelData
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.DeidentificationMethodCodeSequence[0].CodeValue == "113100"
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.PatientName == "" and ds.PatientID == "" and "InstitutionName" not in ds
        assert not any(elem.tag.is_private for elem in ds.iterall())
        assert not any(0x6000 <= elem.tag.group <= 0x60FF for elem in ds.iterall())
        assert ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].PixelSpacing == [0.0039, 0.0113]
        assert ds.SharedFunctionalGroupsSequence[0].EvaluatorName == ""
        np.testing.assert_array_equal(read_scan(out / f"{ds.SOPInstanceUID}.dcm").pixels, read_scan(path).pixels)
    a, b, c = (new[p] for p in paths)
    assert len({a.StudyInstanceUID, b.StudyInstanceUID, c.StudyInstanceUID}) == 1
    assert a.SeriesInstanceUID == b.SeriesInstanceUID != c.SeriesInstanceUID
    assert a.FrameOfReferenceUID == c.FrameOfReferenceUID
    assert c.ReferencedImageSequence[0].ReferencedSOPInstanceUID == a.SOPInstanceUID  # the reference still resolves
    assert c.ReferencedImageSequence[0].ReferencedSOPClassUID == OphthalmicTomographyImageStorage


def test_keep_source_names_keeps_the_layout(study, tmp_path: Path) -> None:
    root, paths = study
    code, _, _ = run_cli(str(root), str(tmp_path / "out"), "--keep-source-names")
    assert code == 1
    assert sorted(p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*.dcm")) == sorted(
        p.relative_to(root) for p in paths
    )


def test_a_single_file_and_nothing_usable(study, tmp_path: Path) -> None:
    root, paths = study
    code, stdout, _ = run_cli(str(paths[0]), str(tmp_path / "one"))
    assert code == 0 and "de-identified 1 of 1" in stdout
    code, _, stderr = run_cli(str(root / "notes.txt"), str(tmp_path / "none"))
    assert code == 2 and "not a DICOM file" in stderr


@pytest.mark.parametrize(
    "change, reason",
    [
        ("burned_in", "BurnedInAnnotation is YES: the pixels carry text"),
        ("no_pixels", "DICOM file has no pixel data"),
        ("random_after_marker", "DICOM file has no pixel data (not an image object, or cut short)"),
    ],
)
def test_dicom_files_that_cannot_be_made_safe_are_refused(tmp_path: Path, change: str, reason: str) -> None:
    ds = identified_dataset(generate_uid(), generate_uid(), generate_uid(), None, seed=0)
    path = tmp_path / "in" / "scan.dcm"
    path.parent.mkdir()
    if change == "burned_in":
        ds.BurnedInAnnotation = "YES"
    if change == "no_pixels":
        del ds.PixelData
    ds.save_as(path, enforce_file_format=True)
    if change == "random_after_marker":  # pydicom reads what it can of such a file without complaint
        path.write_bytes(path.read_bytes()[:132] + np.random.default_rng(0).bytes(300))
    code, stdout, stderr = run_cli(str(tmp_path / "in"), str(tmp_path / "out"))
    assert code == 2 and f"skipped: {path}: {reason}" in stderr
    assert not any(value in stdout + stderr for value in IDENTIFIERS.values())


@pytest.mark.parametrize(
    "where, problem",
    [
        ("inside", "OUT must lie outside IN"),
        ("not_empty", "not an empty folder"),
        ("mapping_inside", "the mapping re-identifies the copies; write it outside OUT"),
        ("missing", "no such file or folder"),
    ],
)
def test_arguments_that_cannot_work_are_one_line_errors(study, tmp_path: Path, where: str, problem: str) -> None:
    root, _ = study
    out = tmp_path / "out"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "earlier.dcm").write_bytes(b"")
    argv = {
        "inside": [str(root), str(root / "copies")],
        "not_empty": [str(root), str(tmp_path / "full")],
        "mapping_inside": [str(root), str(out), "--mapping", str(out / "map.csv")],
        "missing": [str(tmp_path / "absent"), str(out)],
    }[where]
    code, _, stderr = run_cli(*argv)
    assert code == 2 and problem in stderr and len(stderr.strip().splitlines()) == 1


def test_profile_covers_the_readers_identifiers_and_keeps_its_technical_tags() -> None:
    from pydicom.datadict import tag_for_keyword

    profile = load_profile()
    for keyword in IDENTIFIERS:  # what the reader's tests treat as identifiers is removed or blanked here
        assert profile.action(tag_for_keyword(keyword)) in ("X", "Z"), keyword
    for keyword in DICOM_TECHNICAL_TAGS:  # what the reader copies is never touched here
        assert profile.action(tag_for_keyword(keyword)) is None, keyword


def test_a_mistyped_keyword_in_the_profile_is_a_one_line_error(tmp_path: Path) -> None:
    text = (Path(load_profile().path)).read_text().replace("PatientName: Z", "PatientNmae: Z")
    (tmp_path / "profile.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"attributes.PatientNmae: 'PatientNmae' is not a DICOM keyword"):
        load_profile(tmp_path / "profile.yaml")


identifier = st.text(alphabet=string.ascii_letters, min_size=8, max_size=40)


def deidentified_bytes(**values: str) -> bytes:
    """The de-identified file of one fixture image whose identifiers are `values` (the fixture's otherwise)."""
    ds = identified_dataset(generate_uid(), generate_uid(), generate_uid(), None, seed=0)
    if values:
        ds.PatientName, ds.PatientID, ds.InstitutionName = values["name"], values["patient_id"], values["nested"]
        ds.private_block(0x0099, "EYECLINIC PRIVATE")[0x01].value = values["private"]
        ds.OtherPatientIDsSequence[0].PatientID = values["nested"]
        ds.SharedFunctionalGroupsSequence[0].EvaluatorName = values["name"]
        ds[0x60004000].value = values["overlay"]
    deidentify_dataset(ds, load_profile(), UIDMap())
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@settings(max_examples=30, deadline=None)
@given(name=identifier, patient_id=identifier, private=identifier, nested=identifier, overlay=identifier)
def test_random_identifiers_never_survive(name: str, patient_id: str, private: str, nested: str, overlay: str) -> None:
    values = {"name": name, "patient_id": patient_id, "private": private, "nested": nested, "overlay": overlay}
    # text the tool writes itself (e.g. "deidentify" in the method) or pixel bytes are no leak
    baseline = deidentified_bytes()
    assume(all(value.encode() not in baseline for value in values.values()))
    written = deidentified_bytes(**values)
    for value in values.values():
        assert value.encode() not in written
