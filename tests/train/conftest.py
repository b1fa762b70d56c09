import os
import random

import pytest

from retinavlm.knowledge import load_knowledge

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


@pytest.fixture(scope="session")
def kb():
    return load_knowledge()


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory):
    """24 rendered scans (6 patients x 2 eyes x 2 visits at most): enough for every split."""
    from retinavlm.data.synthetic import render_cohort

    out = tmp_path_factory.mktemp("cohort") / "cohort"
    render_cohort(24, out, seed=3)
    return out


@pytest.fixture(scope="session")
def dense_cohort(tmp_path_factory):
    """64 scans of 32 patients (both eyes, one visit, each eye's stage drawn on its own), about half healthy and
    half active wet AMD: every split holds many scans of both classes, so stage 0's linear probe is defined."""
    import dataclasses

    from retinavlm.data.synthetic import render_cohort
    from retinavlm.data.synthetic.config import load_cohort_config

    config = dataclasses.replace(
        load_cohort_config(),
        visit_counts={1: 1.0},
        fellow_eye_same_stage=0.0,
        stage_prevalence={"healthy": 0.5, "late_wet_active": 0.5},
    )
    out = tmp_path_factory.mktemp("dense") / "cohort"
    render_cohort(64, out, seed=1, config=config)
    return out


@pytest.fixture(scope="session")
def base_model(tmp_path_factory):
    """A saved tiny model (64 px, 1-layer LLM): stages start from it, so no test retrains a tokenizer."""
    from retinavlm.model.config import RetinaVLMConfig
    from retinavlm.model.vlm import RetinaVLM

    cfg = RetinaVLMConfig.from_dict(
        {
            "encoder": {"name": "resnet_tiny", "image_size": 64},
            "adapter": {"kind": "mlp"},
            "llm": {
                "tiny": True,
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "num_key_value_heads": 1,
            },
        }
    )
    out = tmp_path_factory.mktemp("base") / "model"
    RetinaVLM.from_config(cfg, device="cpu").save_pretrained(out)
    return out


@pytest.fixture
def rng():
    return random.Random(0)
