import pytest
import torch
from safetensors.torch import save_file

from retinavlm.model.encoder import (
    EncoderConfigError,
    EncoderWeightsError,
    create_encoder,
    feature_map_to_tokens,
    list_encoders,
    load_encoder_weights,
)


def test_tokens_are_row_major_over_the_grid():
    batch, channels, rows, cols = 2, 5, 3, 4
    fmap = torch.randn(batch, channels, rows, cols)
    tokens = feature_map_to_tokens(fmap)
    assert tokens.shape == (batch, rows * cols, channels)
    for r in range(rows):
        for c in range(cols):
            assert torch.equal(tokens[:, r * cols + c], fmap[:, :, r, c])
    # The published bug (reshape without permute) gives a different, scrambled tensor.
    assert not torch.equal(tokens, fmap.reshape(batch, rows * cols, channels))


def test_resnet50_makes_36_tokens_of_2048_in_grid_order():
    encoder = create_encoder("resnet50", 192).eval()
    assert (encoder.num_tokens, encoder.dim, encoder.grid) == (36, 2048, (6, 6))
    pixels = torch.randn(1, 1, 192, 192)
    with torch.no_grad():
        fmap = encoder.backbone(pixel_values=pixels).last_hidden_state
        tokens = encoder(pixels)
    assert fmap.shape == (1, 2048, 6, 6) and tokens.shape == (1, 36, 2048)
    assert torch.equal(tokens[0, 1 * 6 + 4], fmap[0, :, 1, 4])
    assert torch.equal(tokens[0, 5 * 6 + 0], fmap[0, :, 5, 0])


@pytest.mark.parametrize("name", ["resnet_tiny", "resnet_tiny_s16", "vit_tiny"])
def test_each_corner_token_answers_to_its_own_corner(name):
    torch.manual_seed(0)
    encoder = create_encoder(name, 192).eval()
    rows, cols = encoder.grid
    cell = 192 // rows
    base = torch.zeros(1, 1, 192, 192)
    top_left, bottom_right = base.clone(), base.clone()
    top_left[..., :cell, :cell] = 3.0
    bottom_right[..., -cell:, -cell:] = 3.0
    with torch.no_grad():
        reference = encoder(base)
        shift_tl = (encoder(top_left) - reference).norm(dim=-1)[0]
        shift_br = (encoder(bottom_right) - reference).norm(dim=-1)[0]
    first, last = 0, rows * cols - 1
    assert shift_tl[first] > 5 * shift_br[first]
    assert shift_br[last] > 5 * shift_tl[last]


def test_registry_and_sizes():
    assert {"resnet50", "resnet_tiny", "resnet_tiny_s16", "vit", "vit_tiny"} <= set(list_encoders())
    assert create_encoder("resnet_tiny", 128).num_tokens == 16
    s16 = create_encoder("resnet_tiny_s16", 96)
    assert s16.grid == (6, 6) and s16.dim == 128
    with torch.no_grad():
        assert s16(torch.zeros(2, 1, 96, 96)).shape == (2, 36, 128)  # the grid it reports is the grid it makes
    with pytest.raises(EncoderConfigError, match="unknown encoder 'resnet9'"):
        create_encoder("resnet9")
    with pytest.raises(EncoderConfigError, match="divisible by 32"):
        create_encoder("resnet_tiny", 100)
    with pytest.raises(EncoderConfigError, match="divisible by 16"):
        create_encoder("resnet_tiny_s16", 100)


def test_weights_load_from_a_local_safetensors_file(tmp_path):
    torch.manual_seed(1)
    trained = create_encoder("resnet_tiny", 96).eval()
    path = tmp_path / "encoder.safetensors"
    save_file(trained.state_dict(), str(path))
    loaded = create_encoder("resnet_tiny", 96, weights=path).eval()
    pixels = torch.randn(2, 1, 96, 96)
    with torch.no_grad():
        assert torch.equal(loaded(pixels), trained(pixels))


def test_bad_weight_files_fail_with_one_clear_line(tmp_path):
    encoder = create_encoder("vit_tiny", 192)
    with pytest.raises(EncoderWeightsError, match="weights file not found"):
        load_encoder_weights(encoder, tmp_path / "nothing.safetensors")
    wrong = tmp_path / "resnet.safetensors"
    save_file(create_encoder("resnet_tiny", 192).state_dict(), str(wrong))
    with pytest.raises(EncoderWeightsError, match=r"resnet.safetensors: weights do not fit .*missing key"):
        load_encoder_weights(encoder, wrong)
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x00\x01not safetensors")
    with pytest.raises(EncoderWeightsError, match="not a readable safetensors file"):
        load_encoder_weights(encoder, corrupt)


def test_a_cnn_runs_channels_last_with_the_channel_major_result_and_a_contiguous_state_dict(tmp_path) -> None:
    torch.manual_seed(0)
    encoder = create_encoder("resnet_tiny_s16", 64).eval()
    assert encoder.channels_last
    assert encoder.backbone.embedder.embedder.convolution.weight.is_contiguous(memory_format=torch.channels_last)
    pixels = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        tokens = encoder(pixels)
        encoder.channels_last = False
        encoder.backbone.to(memory_format=torch.contiguous_format)
        reference = encoder(pixels)
    torch.testing.assert_close(tokens, reference, rtol=1e-4, atol=1e-5)
    fresh = create_encoder("resnet_tiny_s16", 64)
    state = fresh.state_dict()
    assert all(tensor.is_contiguous() for tensor in state.values())
    save_file(state, str(tmp_path / "encoder.safetensors"))  # safetensors refuses strided tensors
