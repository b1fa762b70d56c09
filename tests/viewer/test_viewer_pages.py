"""Every page of the viewer through streamlit's AppTest, on a demo run built with the real tools."""

import io
import json

import numpy as np
import pytest
from conftest import APP
from PIL import Image
from streamlit.testing.v1 import AppTest
from viewer_testing import ALWAYS_HEALTHY, reference_ids

TIMEOUT = 60


def open_app(*, page: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def all_html(at: AppTest) -> str:
    return "\n".join(str(h.proto.body) for h in at.get("html"))


def all_text(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("markdown", "caption", "title", "subheader", "text", "warning", "error", "info", "success")
        for e in at.get(kind)
        if isinstance(getattr(e, "value", None), str)
    ]
    return "\n".join(parts) + all_html(at)


def test_cohort_page_lists_every_case_and_system(demo_run, view_args):
    view_args(demo_run)
    at = open_app()
    assert at.title[0].value == "Cohort · viewer-test-run"
    table = at.dataframe[0].value
    ids = reference_ids(demo_run)
    assert sorted(set(table["case"])) == sorted(ids)
    assert len(table) == 2 * len(ids)
    own = table[table["system"] == "reference_reports"]
    healthy = table[table["system"] == "always_healthy"]
    assert own["stage agrees"].all() and own["referral agrees"].all()  # the references' own reports
    assert (healthy["stage"] == "healthy").all()
    assert (healthy["stage agrees"] == (healthy["reference stage"] == "healthy")).all()


def test_cohort_filters_keep_only_disagreements(demo_run, view_args):
    view_args(demo_run)
    at = open_app()
    at.toggle(key="cohort-disagree").set_value(True).run()
    table = at.dataframe[0].value
    assert len(table) > 0
    assert set(table["system"]) == {"always_healthy"}
    at.multiselect(key="cohort-stages").set_value(["healthy"]).run()
    assert at.dataframe[0].value.empty or set(at.dataframe[0].value["reference stage"]) == {"healthy"}


def test_case_page_deep_link_shows_highlighted_findings(demo_run, view_args):
    view_args(demo_run)
    case_id = reference_ids(demo_run)[1]
    at = open_app(page="page_case.py", id=case_id)
    assert at.title[0].value == f"Case {case_id}"
    html = all_html(at)
    assert 'class="finding finding-present"' in html
    assert 'class="finding finding-absent"' in html  # the always-healthy report rules things out
    assert "No referral needed" in html or "referral needed" in html
    assert at.image, "the scan is shown"
    findings, rubric = at.table[0].value, at.table[1].value
    assert "present" in set(findings["state"])
    assert "consistency" in rubric.index and all(rubric["explanation"].str.len() > 0)


def test_case_page_previous_next_navigation(demo_run, view_args):
    view_args(demo_run)
    ids = reference_ids(demo_run)
    at = open_app(page="page_case.py", id=ids[0])
    at.button[1].click().run()  # Next
    assert at.title[0].value == f"Case {ids[1]}"
    assert at.query_params["id"] in (ids[1], [ids[1]])


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "no-such-case", "<script>alert(1)</script>"])
def test_case_page_refuses_unknown_or_malicious_ids(demo_run, view_args, bad_id):
    view_args(demo_run)
    at = open_app(page="page_case.py", id=bad_id)
    assert any("There is no case" in w.value for w in at.warning)
    assert at.title[0].value == f"Case {reference_ids(demo_run)[0]}"
    assert "<script>" not in all_html(at)


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_live_page_runs_the_quality_gate_on_an_upload(demo_run, view_args):
    view_args(demo_run)
    at = open_app(page="page_live.py")
    good = (demo_run / "images").glob("*.png").__next__().read_bytes()
    at.file_uploader(key="live-upload").upload("scan.png", good, "image/png").run()
    assert not at.exception
    assert any("Passed the quality gate" in s.value for s in at.success)
    assert any("No model checkpoint" in i.value for i in at.info)

    rng = np.random.default_rng(0)
    photo = (rng.random((300, 400, 3)) * 255).astype(np.uint8)  # a colour noise "photograph"
    at.file_uploader(key="live-upload").upload("holiday.png", png_bytes(photo), "image/png").run()
    assert any("Refused by the quality gate" in e.value for e in at.error), [e.value for e in at.error]


def test_live_page_refuses_bad_uploads_in_one_line(demo_run, view_args):
    view_args(demo_run)
    at = open_app(page="page_live.py")
    at.file_uploader(key="live-upload").upload("scan.png", b"\x89PNG\r\n\x1a\n not really", "image/png").run()
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Refused: scan.png:") and "\n" not in errors[0]


def dicom_with_patient(path, name: str) -> bytes:
    from pydicom import Dataset
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    pixels = np.asarray(Image.open(path).convert("L"))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.77.1.5.4"  # ophthalmic tomography
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = name, "MRN-4417-SECRET", "19400101"
    ds.Modality, ds.Manufacturer = "OPT", "TestVendor"
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = pixels.tobytes()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_live_page_never_shows_dicom_patient_fields(demo_run, view_args):
    view_args(demo_run)
    at = open_app(page="page_live.py")
    scan_png = next((demo_run / "images").glob("*.png"))
    at.file_uploader(key="live-upload").upload(
        "scan.dcm", dicom_with_patient(scan_png, "Doe^Jane"), "application/dicom"
    ).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = all_text(at) + "\n".join(
        json.dumps(j.value) if hasattr(j, "value") else str(j.proto) for j in at.get("json")
    )
    assert "TestVendor" in shown  # the technical header is there
    for secret in ("Doe", "Jane", "MRN-4417", "19400101"):
        assert secret not in shown


def test_broken_run_folder_shows_messages_and_the_rest(own_run, view_args):
    ids = reference_ids(own_run)
    refs = (own_run / "references.jsonl").read_text().splitlines()
    first, second = json.loads(refs[0]), json.loads(refs[1])
    first["image"] = "../../../../etc/passwd"
    (own_run / second["image"]).unlink()
    refs[0], refs[1] = json.dumps(first), json.dumps(second)
    refs.insert(3, "{not json")
    (own_run / "references.jsonl").write_text("\n".join(refs) + "\n")
    with (own_run / "predictions" / "always_healthy.jsonl").open("a") as handle:
        handle.write("]]]\n" + json.dumps({"id": "../../secret", "report": ALWAYS_HEALTHY}) + "\n")
    view_args(own_run)

    at = open_app()
    problems = "\n".join(m.value for m in at.markdown)
    assert "references.jsonl:4: malformed JSON" in problems
    assert "unknown case id '../../secret'" in problems
    assert len(set(at.dataframe[0].value["case"])) == len(ids)

    at = open_app(page="page_case.py", id=ids[0])
    assert any("outside the run folder and data roots" in w.value for w in at.warning)
    at = open_app(page="page_case.py", id=ids[1])
    assert any("no such file" in w.value for w in at.warning)
    at = open_app(page="page_case.py", id=ids[2])
    assert at.image and not at.warning


def test_missing_run_folder_is_one_clear_message(tmp_path, view_args):
    view_args(tmp_path / "nowhere")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [e.value for e in at.error] == [f"Cannot open the run: {tmp_path / 'nowhere'}: run folder not found"]
