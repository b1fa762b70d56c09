"""The plain supervised scan classifier: classes from known label signatures, learning, determinism, reports."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from retinavlm.data.augment import encoder_square
from retinavlm.evaluation.extract import FindingsExtractor
from retinavlm.train.records import ScanRecord
from retinavlm.train.scan_classifier import (
    ClassifierConfig,
    ClassifierError,
    class_report,
    class_table,
    label_signature,
    load_classifier,
    save_classifier,
    train_scan_classifier,
    write_predictions,
)

TOY = ClassifierConfig(image_size=32, epochs=6, patience=6, batch_size=8, lr=3e-3, augment=False)
HEALTHY = {"stage": "healthy", "referral": "none", "biomarkers": {"drusen": "absent", "irf": "absent"}}
DME = {"stage": None, "referral": "urgent", "biomarkers": {"drusen": None, "irf": "present"}, "condition": "dme"}


def toy_records(folder, n_per_class: int, offset: int = 0) -> list[ScanRecord]:
    """Healthy scans with a bright band high in the frame, DME scans with it low: separable by eye."""
    rng = np.random.default_rng(offset)
    records = []
    for label, (row, labels) in enumerate(((12, HEALTHY), (44, DME))):
        for i in range(n_per_class):
            pixels = rng.uniform(0, 60, (64, 96))
            pixels[row : row + 8] += 150
            path = folder / f"{label}-{offset + i}.png"
            Image.fromarray(pixels.astype(np.uint8)).save(path)
            records.append(ScanRecord(id=path.stem, patient_id=path.stem, image=path, **labels))
    return records


@pytest.fixture(scope="module")
def toy_cohort(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    return toy_records(folder, 12), toy_records(folder, 6, offset=100)


def test_classes_are_the_known_label_signatures_and_unknowns_stay_unknown() -> None:
    dme = ScanRecord("a", "p", "a.png", **DME)
    signature = label_signature(dme)
    assert signature.stage is None and signature.referral == "urgent" and signature.condition == "dme"
    assert signature.findings == (("irf", "present"),)  # drusen unknown: not a finding of the class


def test_learns_a_separable_task_above_chance(toy_cohort) -> None:
    train, validation = toy_cohort
    trained = train_scan_classifier(train, validation, TOY)
    predicted = trained.predict(validation)
    accuracy = np.mean([p == label_signature(r) for p, r in zip(predicted, validation)])
    assert accuracy >= 0.9
    assert trained.validation_macro_f1 >= 0.9 and 1 <= trained.best_epoch <= TOY.epochs


def test_the_same_seed_gives_the_same_model(toy_cohort) -> None:
    train, validation = toy_cohort
    config = ClassifierConfig(image_size=32, epochs=2, batch_size=8, augment=True, seed=5)
    first, second = (train_scan_classifier(train, validation, config) for _ in range(2))
    for key, value in first.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key]), key
    assert first.history == second.history


def test_a_saved_classifier_loads_back_with_the_same_weights_classes_and_predictions(tmp_path, toy_cohort) -> None:
    train, validation = toy_cohort
    config = ClassifierConfig(image_size=32, epochs=2, batch_size=8, augment=False, seed=1)
    trained = train_scan_classifier(train, validation, config)
    save_classifier(trained, tmp_path / "cnn")
    loaded = load_classifier(tmp_path / "cnn")
    assert loaded.classes == trained.classes and loaded.config == trained.config
    assert (loaded.best_epoch, loaded.validation_macro_f1) == (trained.best_epoch, trained.validation_macro_f1)
    for key, value in trained.model.state_dict().items():
        assert torch.equal(value, loaded.model.state_dict()[key]), key
    assert loaded.predict(validation) == trained.predict(validation)
    assert not loaded.model.training


def test_a_missing_or_truncated_saved_classifier_is_refused_with_its_folder(tmp_path, toy_cohort) -> None:
    train, validation = toy_cohort
    save_classifier(train_scan_classifier(train, validation, TOY), tmp_path / "cnn")
    with pytest.raises(ClassifierError, match=r"nowhere: not a readable saved classifier"):
        load_classifier(tmp_path / "nowhere")
    (tmp_path / "keyless").mkdir()
    (tmp_path / "keyless" / "classifier.json").write_text("{}")
    with pytest.raises(
        ClassifierError, match=r"keyless: not a readable saved classifier \(classifier.json lacks 'config'\)"
    ):
        load_classifier(tmp_path / "keyless")
    weights = tmp_path / "cnn" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(ClassifierError, match=r"cnn: not a readable saved classifier"):
        load_classifier(tmp_path / "cnn")


def test_refuses_a_training_split_with_one_class(toy_cohort) -> None:
    train, validation = toy_cohort
    healthy_only = [r for r in train if r.stage == "healthy"]
    with pytest.raises(ClassifierError, match=r"^training split: 1 known label signature \(healthy, referral none"):
        train_scan_classifier(healthy_only, validation, TOY)
    with pytest.raises(ClassifierError, match="needs two"):
        class_table([])


def test_reports_state_only_what_the_class_knows_and_the_grader_reads_it_back(tmp_path, kb, toy_cohort) -> None:
    train, _ = toy_cohort
    classes, _ = class_table(train)
    path = tmp_path / "predictions.jsonl"
    write_predictions(path, train[:2], [classes[0], classes[1]], kb, "cnn")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["id"] for r in rows] == [train[0].id, train[1].id] and {r["model"] for r in rows} == {"cnn"}
    extractor = FindingsExtractor(kb)
    for signature in classes:
        labels = extractor.extract(class_report(signature, kb)).labels()
        assert labels["referral"] == signature.referral
        assert labels["stage"] == signature.stage
    dme = next(c for c in classes if c.condition == "dme")
    assert "drusen" not in class_report(dme, kb)  # unknown: neither named nor ruled out


def test_the_whole_scan_setting_keeps_the_field_of_view_that_the_fovea_crop_cuts() -> None:
    pixels = np.full((60, 240), 0.1, np.float32)
    pixels[20:40, :] = 0.6  # a retinal band across the scan
    pixels[:, -12:] = 1.0  # a mark at the far temporal edge
    whole = encoder_square(pixels, 32, crop="none")
    fovea = encoder_square(pixels, 32, crop="fovea", fraction=1.0)
    assert whole.shape == fovea.shape == (32, 32)
    assert whole[:, -1].min() > 0.9 and fovea[:, -1].max() < 0.9
    with pytest.raises(ValueError, match="crop must be one of fovea, none, got 'centre'"):
        encoder_square(pixels, 32, crop="centre")
