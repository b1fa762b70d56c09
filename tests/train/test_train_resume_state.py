"""Resumable checkpoints: exact round trip of weights, optimizer, scheduler and RNG; no pickle; atomic."""

import json
import random

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from retinavlm.train import resume_state as ckpt


def setup(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 / (1 + s))
    return model, optimizer, scheduler


def step(model, optimizer, scheduler):
    x = torch.randn(16, 4)  # draws from the global RNG, as dropout would
    model(x).square().mean().backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()


def test_resume_continues_bit_exactly(tmp_path):
    model, optimizer, scheduler = setup()
    for _ in range(3):
        step(model, optimizer, scheduler)
    ckpt.save_checkpoint(
        tmp_path / "step-00000003", model, optimizer, scheduler, ckpt.TrainerState(3, "h", 1.5), [ckpt.rng_state()]
    )
    for _ in range(3):
        step(model, optimizer, scheduler)
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    python_next, numpy_next = random.random(), np.random.rand()

    random.seed(99), np.random.seed(99), torch.manual_seed(99)  # scramble what the checkpoint must restore
    model2, optimizer2, scheduler2 = setup(seed=1)
    state = ckpt.load_checkpoint(tmp_path / "step-00000003", model2, optimizer2, scheduler2, 0, 1, "h")
    assert (state.step, state.seconds) == (3, 1.5)
    for _ in range(3):
        step(model2, optimizer2, scheduler2)
    for key, value in model2.state_dict().items():
        assert torch.equal(value, expected[key]), key
    assert (random.random(), np.random.rand()) == (python_next, numpy_next)


def test_checkpoint_files_are_safetensors_and_json_only(tmp_path):
    model, optimizer, scheduler = setup()
    step(model, optimizer, scheduler)
    folder = tmp_path / "step-00000001"
    ckpt.save_checkpoint(folder, model, optimizer, scheduler, ckpt.TrainerState(1, "h"), [ckpt.rng_state()])
    assert {p.suffix for p in folder.iterdir()} == {".safetensors", ".json"}


def test_mismatches_and_damage_are_one_clear_error(tmp_path):
    model, optimizer, scheduler = setup()
    step(model, optimizer, scheduler)
    folder = tmp_path / "step-00000001"
    ckpt.save_checkpoint(folder, model, optimizer, scheduler, ckpt.TrainerState(1, "h"), [ckpt.rng_state()])
    with pytest.raises(ckpt.ResumeError, match="different stage config"):
        ckpt.load_checkpoint(folder, *setup(), 0, 1, "other")
    with pytest.raises(ckpt.ResumeError, match=r"written by 1 process\(es\), resuming with 2"):
        ckpt.load_checkpoint(folder, *setup(), 0, 2, "h")
    data = (folder / "trainable.safetensors").read_bytes()
    (folder / "trainable.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ckpt.ResumeError, match=r"step-00000001: unreadable checkpoint"):
        ckpt.load_checkpoint(folder, *setup(), 0, 1, "h")
    save_file({"0.weight": torch.zeros(1)}, str(folder / "trainable.safetensors"))
    with pytest.raises(ckpt.ResumeError, match="do not match the model"):
        ckpt.load_checkpoint(folder, *setup(), 0, 1, "h")
    save_file(ckpt.trainable_state(model), str(folder / "trainable.safetensors"))
    (folder / "scheduler.json").write_text("{")
    with pytest.raises(
        ckpt.ResumeError, match=r"step-00000001: unreadable checkpoint \(scheduler\.json: JSONDecodeError"
    ):
        ckpt.load_checkpoint(folder, *setup(), 0, 1, "h")
    (folder / "scheduler.json").write_text(json.dumps(scheduler.state_dict()))
    state = json.loads((folder / ckpt.STATE_FILE).read_text())
    for key, damaged in [("recent_scores", "x"), ("recent_scores", 5), ("best", {"step": 1}), ("seconds", None)]:
        (folder / ckpt.STATE_FILE).write_text(json.dumps(state | {key: damaged}))
        fresh = setup(seed=1)
        before = {k: v.clone() for k, v in fresh[0].state_dict().items()}
        with pytest.raises(ckpt.ResumeError, match=r"step-00000001: unreadable checkpoint \(trainer_state\.json: "):
            ckpt.load_checkpoint(folder, *fresh, 0, 1, "h")
        assert all(torch.equal(v, before[k]) for k, v in fresh[0].state_dict().items())  # nothing restored
    (folder / ckpt.STATE_FILE).write_text('{"step": 1}')
    with pytest.raises(ckpt.ResumeError, match=r"trainer_state\.json has no 'config_hash'"):
        ckpt.load_checkpoint(folder, *setup(), 0, 1, "h")


def test_listing_skips_unfinished_writes_and_prune_keeps_the_last(tmp_path):
    model, optimizer, scheduler = setup()
    for s in (1, 2, 3):
        ckpt.save_checkpoint(
            tmp_path / f"step-{s:08d}", model, optimizer, scheduler, ckpt.TrainerState(s, "h"), [ckpt.rng_state()]
        )
    (tmp_path / ".step-00000004.abc.tmp").mkdir()  # what a kill during a write leaves
    (tmp_path / "step-00000005").mkdir()  # no trainer_state.json: never completed
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["step-00000001", "step-00000002", "step-00000003"]
    ckpt.prune(tmp_path, keep_last=2)
    ckpt.remove_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-00000002", "step-00000003", "step-00000005"]
