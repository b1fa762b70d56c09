"""Turns scans and prompts into model inputs: chat-templated token ids with the image placeholder
expanded to exactly the model's visual token count, answer-only labels, and normalised pixels.

A prompt marks the scan with `<image>` (or the image token itself). The count is checked after
tokenization, because a placeholder that a tokenizer splits into pieces is the most common failure
of LLaVA-style code and otherwise shows up much later as a shape error or a silently shifted image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from retinavlm.data.scan import Scan
from retinavlm.errors import RetinaVLMError
from retinavlm.model.loss import IGNORE_INDEX
from retinavlm.model.prompts import IMAGE_PLACEHOLDER
from retinavlm.model.tokenizer import END_OF_TURN


class ProcessorError(RetinaVLMError):
    """Inputs that cannot be turned into a batch: placeholder counts, shapes, lengths, bad arrays."""


class RetinaVLMProcessor:
    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        image_token: str,
        num_image_tokens: int,
        image_size: int,
        pixel_mean: float,
        pixel_std: float,
        max_length: int,
        crop_fraction: float = 1.0,
        crop: str = "fovea",
    ):
        self.tokenizer = tokenizer
        self.image_token = image_token
        self.image_token_id = tokenizer.convert_tokens_to_ids(image_token)
        self.num_image_tokens = num_image_tokens
        self.image_size = image_size
        self.pixel_mean = pixel_mean
        self.pixel_std = pixel_std
        self.max_length = max_length
        self.crop_fraction = crop_fraction
        self.crop = crop  # "fovea" or "none" (the whole scan resized): augment.encoder_square
        self._prompt_ids: dict[tuple[str, bool], list[int]] = {}  # training asks the same questions again and again

    # --- images -------------------------------------------------------------------------------

    def preprocess(self, image: Scan | np.ndarray) -> torch.Tensor:
        """A B-scan (Scan, or uint8/uint16/float [0, 1] array) -> normalised (1, S, S) encoder input."""
        pixels = _unit_pixels(image)
        if min(pixels.shape) < 8:
            raise ProcessorError(f"image of shape {pixels.shape} is too small to be a B-scan")
        from retinavlm.data.augment import encoder_square  # lazy: pulls in OpenCV and albumentations

        return self.normalize(encoder_square(pixels, self.image_size, self.crop, self.crop_fraction))

    def normalize(self, square: np.ndarray) -> torch.Tensor:
        """An encoder-sized square in [0, 1], already fovea-cropped (and maybe augmented) -> (1, S, S) input.

        Training crops each scan once and augments the square; cropping it again here would zoom in a
        second time whenever `crop_fraction` < 1, so that training saw another view than inference.
        """
        if square.shape != (self.image_size, self.image_size):
            raise ProcessorError(f"expected a {self.image_size}x{self.image_size} square, got shape {square.shape}")
        normalised = (square.astype(np.float32) - self.pixel_mean) / self.pixel_std
        return torch.from_numpy(np.ascontiguousarray(normalised, dtype=np.float32)).unsqueeze(0)

    # --- text ---------------------------------------------------------------------------------

    def prompt_ids(self, prompt: str, with_image: bool, index: int = 0) -> list[int]:
        """Token ids of one user turn plus the assistant header, image placeholder expanded."""
        key = (prompt, with_image)
        if key not in self._prompt_ids:
            self._prompt_ids[key] = self._tokenize_prompt(prompt, with_image, index)
        return list(self._prompt_ids[key])

    def _tokenize_prompt(self, prompt: str, with_image: bool, index: int) -> list[int]:
        if not isinstance(prompt, str):
            raise ProcessorError(f"prompt {index}: expected a string, got {type(prompt).__name__}")
        found = prompt.count(IMAGE_PLACEHOLDER) + prompt.count(self.image_token)
        if with_image and found != 1:
            raise ProcessorError(
                f"prompt {index}: holds {found} image placeholders; put exactly one {IMAGE_PLACEHOLDER} in each prompt"
            )
        if not with_image and found:
            raise ProcessorError(f"prompt {index}: holds an image placeholder but no image was given")
        expanded = prompt.replace(IMAGE_PLACEHOLDER, self.image_token).replace(
            self.image_token, self.image_token * self.num_image_tokens
        )
        text = self.tokenizer.apply_chat_template(
            [{"role": "user", "content": expanded}], tokenize=False, add_generation_prompt=True
        )
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        got = ids.count(self.image_token_id)
        expected = self.num_image_tokens if with_image else 0
        if got != expected:
            raise ProcessorError(
                f"prompt {index}: tokenizes to {got} image tokens but the model makes {expected} per image "
                f"(is {self.image_token!r} a single special token of this tokenizer?)"
            )
        return ids

    def answer_ids(self, answer: str, index: int = 0) -> list[int]:
        """The assistant's answer as trained on: the text, then end-of-turn, so the model learns to stop."""
        if not isinstance(answer, str):
            raise ProcessorError(f"answer {index}: expected a string, got {type(answer).__name__}")
        return self.tokenizer.encode(answer.strip() + END_OF_TURN, add_special_tokens=False)

    def __call__(
        self,
        prompts: Sequence[str],
        images: torch.Tensor | None = None,
        answers: Sequence[str] | None = None,
        padding_side: str = "left",
        with_image: bool | None = None,
    ) -> dict[str, torch.Tensor]:
        """Batch of prompts (+ images, + answers for training) -> input_ids, attention_mask, labels, pixel_values.

        `with_image`: whether each prompt holds an image placeholder (default: whether `images` are given);
        True without images tokenises for images that come another way, e.g. cached encoder features.
        """
        with_image = images is not None if with_image is None else with_image
        if images is not None and not with_image:
            raise ProcessorError("images were given with with_image=False")
        if padding_side not in ("left", "right"):
            raise ProcessorError(f"padding_side must be 'left' or 'right', got {padding_side!r}")
        rows = self.encode(prompts, answers, with_image)
        if images is not None:
            self.check_images(images, len(prompts))
        batch = {
            "input_ids": _pad([ids for ids, _ in rows], self.tokenizer.pad_token_id, padding_side),
            "attention_mask": _pad([[1] * len(ids) for ids, _ in rows], 0, padding_side),
        }
        if answers is not None:
            batch["labels"] = _pad([labels for _, labels in rows], IGNORE_INDEX, padding_side)
        if images is not None:
            batch["pixel_values"] = images
        return batch

    def encode(
        self, prompts: Sequence[str], answers: Sequence[str] | None = None, with_image: bool = True
    ) -> list[tuple[list[int], list[int]]]:
        """(input ids, labels) of each prompt (+ answer), unpadded: what a batch pads or packs (model/packing.py).

        Labels are IGNORE_INDEX over the prompt, so only the answer is trained on.
        """
        if isinstance(prompts, str) or not len(prompts):
            raise ProcessorError("prompts must be a non-empty list of strings")
        if answers is not None and (isinstance(answers, str) or len(answers) != len(prompts)):
            raise ProcessorError(f"got {len(prompts)} prompts but answers is not a list of {len(prompts)} strings")
        rows = []
        for i, prompt in enumerate(prompts):
            ids = self.prompt_ids(prompt, with_image=with_image, index=i)
            labels = [IGNORE_INDEX] * len(ids)
            if answers is not None:
                answer = self.answer_ids(answers[i], i)
                ids, labels = ids + answer, labels + answer
            if len(ids) > self.max_length:
                raise ProcessorError(f"prompt {i}: {len(ids)} tokens, above the model's context of {self.max_length}")
            rows.append((ids, labels))
        return rows

    def check_images(self, images: torch.Tensor, batch_size: int) -> None:
        size = self.image_size
        if not isinstance(images, torch.Tensor) or not images.is_floating_point():
            raise ProcessorError(f"images must be a float tensor (B, 1, {size}, {size}); use processor.preprocess")
        if tuple(images.shape) != (batch_size, 1, size, size):
            raise ProcessorError(
                f"images have shape {tuple(images.shape)}, expected ({batch_size}, 1, {size}, {size}): "
                "one preprocessed scan per prompt"
            )


def _pad(rows: list[list[int]], value: int, side: str) -> torch.Tensor:
    width = max(len(r) for r in rows)
    padded = [([value] * (width - len(r)) + r) if side == "left" else (r + [value] * (width - len(r))) for r in rows]
    return torch.tensor(padded, dtype=torch.long)


def _unit_pixels(image: Scan | np.ndarray) -> np.ndarray:
    """Float32 (H, W) in [0, 1] from a Scan or an array, refusing what is not a greyscale B-scan."""
    pixels = image.pixels if isinstance(image, Scan) else image
    if not isinstance(pixels, np.ndarray):
        raise ProcessorError(f"expected a Scan or a numpy array, got {type(image).__name__}")
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim != 2:
        raise ProcessorError(f"expected a 2-D greyscale B-scan, got an array of shape {pixels.shape}")
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / 255.0
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) / 65535.0
    if not np.issubdtype(pixels.dtype, np.floating):
        raise ProcessorError(f"expected uint8, uint16 or float pixels, got {pixels.dtype}")
    if not np.isfinite(pixels).all():
        raise ProcessorError("image holds NaN or infinite pixels")
    if pixels.min() < 0.0 or pixels.max() > 1.0:
        raise ProcessorError(f"float pixels must lie in [0, 1], got [{pixels.min():.3g}, {pixels.max():.3g}]")
    return pixels.astype(np.float32)
