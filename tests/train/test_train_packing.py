"""qa.questions_per_row: rows of one scan's questions, trained through the shared stage lifecycle."""

import csv

import torch
from train_testing import stage_yaml

from retinavlm.model.packing import PREFIX
from retinavlm.train.data import Example, scan_rows
from retinavlm.train.qa import QAPair
from retinavlm.train.stage_loading import load_stage
from retinavlm.train.trainer import StageTrainer


def example(scan: int, n: int) -> Example:
    return Example(scan, QAPair(f"question {n}", f"answer {n}", "presence"))


def test_scan_rows_keep_one_scan_per_row_and_at_most_k_questions():
    examples = [example(0, 0), example(0, 1), example(0, 2), example(1, 3), example(2, 4), example(2, 5)]
    rows = scan_rows(examples, 2)
    assert [[e.pair.question for e in row] for row in rows] == [
        ["question 0", "question 1"],
        ["question 2"],
        ["question 3"],
        ["question 4", "question 5"],
    ]
    assert [len(r) for r in scan_rows(examples, 1)] == [1] * 6


def test_a_packed_stage_batches_rows_of_one_scan_and_trains(tmp_path, small_cohort, base_model):
    out = tmp_path / "packed"
    config = stage_yaml(tmp_path, small_cohort, base_model, out, max_steps=4)
    trainer = StageTrainer(load_stage(config, ["qa.questions_per_row=2", "qa.per_scan=4"]))
    objective = trainer.objective
    rows = objective.batch(0)
    assert len(rows) == 4 and all(len({e.scan for e in row}) == 1 for row in rows)
    assert sum(len(row) for row in rows) > len(rows)  # some rows hold two questions
    inputs = objective.inputs(rows, 0, 0)
    segments = inputs["segment_ids"]
    assert segments.shape[0] == 4 and torch.equal(segments.max(dim=1).values, torch.tensor([len(r) for r in rows]))
    assert (segments[:, 0] == PREFIX).all()
    result = trainer.run()
    assert result.steps == 4
    losses = [float(r["value"]) for r in csv.DictReader((out / "metrics.csv").open()) if r["metric"] == "train/loss"]
    assert len(losses) == 4 and all(loss > 0 for loss in losses)
