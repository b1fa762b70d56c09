import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retinavlm.model.config import ConfigError, LLMConfig, LoraSettings, RetinaVLMConfig


def test_round_trips_through_json():
    config = RetinaVLMConfig(llm=LLMConfig(quantization="4bit", lora=LoraSettings(r=8, target_modules=["q_proj"])))
    again = RetinaVLMConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert again.llm.lora.target_modules == ["q_proj"]


def test_unknown_keys_are_named_with_their_place():
    data = RetinaVLMConfig().to_dict()
    data["adapter"]["kernel"] = 3
    with pytest.raises(ConfigError, match=r"^config\.json: adapter\.kernel: unknown key; allowed here: kind, "):
        RetinaVLMConfig.from_dict(data, "config.json")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("encoder", "image_size"), "192", r"^encoder\.image_size: expected an integer, got '192'$"),
        (("llm", "lora"), [1, 2], r"^llm\.lora: expected a mapping, got a list$"),
        (("adapter", "kind"), "conv", r"^adapter\.kind: 'conv' is not one of linear, mlp, resampler$"),
        (("llm", "quantization"), "3bit", r"^llm\.quantization: '3bit' is not one of 8bit, 4bit$"),
        (("encoder", "freeze"), None, r"^encoder\.freeze: expected true or false, got null$"),
        (("encoder", "crop_fraction"), 1.5, r"^encoder\.crop_fraction: must be in \(0, 1\], got 1\.5$"),
        (("llm", "tiny"), False, r"^llm: set exactly one of `path` \(a local Llama folder\) or `tiny: true`$"),
    ],
)
def test_bad_values_are_refused_clearly(path, value, message):
    data = RetinaVLMConfig().to_dict()
    data[path[0]][path[1]] = value
    with pytest.raises(ConfigError, match=message):
        RetinaVLMConfig.from_dict(data)


def test_llm_is_either_a_path_or_tiny():
    assert LLMConfig(path="/models/llama3").tiny is False
    assert LLMConfig().tiny is True
    with pytest.raises(ConfigError, match="exactly one"):
        LLMConfig(path="/models/llama3", tiny=True)
    with pytest.raises(ConfigError, match="exactly one"):
        LLMConfig(tiny=False)


@settings(max_examples=50, deadline=None)
@given(
    size=st.integers(1, 4096),
    kind=st.sampled_from(["linear", "mlp", "resampler"]),
    quantization=st.sampled_from([None, "8bit", "4bit"]),
    freeze=st.booleans(),
    targets=st.lists(st.sampled_from(["q_proj", "k_proj", "v_proj", "o_proj", "up_proj"]), min_size=1, unique=True),
)
def test_any_valid_config_survives_a_round_trip(size, kind, quantization, freeze, targets):
    config = RetinaVLMConfig.from_dict(
        {
            "encoder": {"image_size": size, "freeze": freeze},
            "adapter": {"kind": kind},
            "llm": {"quantization": quantization, "lora": {"target_modules": targets}},
        }
    )
    assert RetinaVLMConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
