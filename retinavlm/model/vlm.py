"""RetinaVLM: OCT encoder -> projection adapter -> visual embeddings spliced at the image tokens -> Llama.

Modelled on transformers' modeling_llava.py: one explicit forward. The processor expands each
prompt's image placeholder to `num_image_tokens` copies of the image token; `embed` replaces exactly
those embedding rows with the adapter's outputs, in order, and refuses any count mismatch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import GenerationConfig, PreTrainedModel, PreTrainedTokenizerBase
from transformers.modeling_outputs import CausalLMOutputWithPast

from retinavlm.knowledge import KnowledgeBase, load_knowledge
from retinavlm.model.adapter import create_adapter, num_visual_tokens
from retinavlm.model.checkpoint import load_checkpoint, save_checkpoint
from retinavlm.model.config import RetinaVLMConfig
from retinavlm.model.decoding import StaticGreedyDecoder
from retinavlm.model.encoder import OCTEncoder, create_encoder
from retinavlm.model.llm import add_lora, base_model, build_tiny_llm, is_quantized, load_llm, quantize_via_folder
from retinavlm.model.loss import IGNORE_INDEX, answer_token_losses, logit_token_losses, sequence_means
from retinavlm.model.packing import question_index, segment_attention_mask, segment_positions
from retinavlm.model.processor import RetinaVLMProcessor
from retinavlm.model.tokenizer import END_OF_TEXT, END_OF_TURN, TokenizerError, load_tokenizer, train_tokenizer


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class FastSettings:
    """Runtime switches of the fast paths (not saved with a checkpoint: they change speed, never the model)."""

    answer_only_loss: bool = True  # forward(labels=...) runs head and loss at answer tokens only (model/loss.py)
    loss_chunk_tokens: int = 1024  # answer positions per LM-head chunk: bounds the logits memory
    static_cache_generation: bool = True  # greedy generate runs the static-cache decoder (model/decoding.py)
    compile_decode: bool | None = None  # torch.compile the decode step; None = on CUDA only


class RetinaVLM(nn.Module):
    def __init__(
        self,
        config: RetinaVLMConfig,
        encoder: OCTEncoder,
        adapter: nn.Module,
        llm: nn.Module,
        tokenizer: PreTrainedTokenizerBase,
        knowledge_version: str,
    ):
        super().__init__()
        self.config = config
        self.encoder = encoder
        self.adapter = adapter
        self.llm = llm
        self.knowledge_version = knowledge_version
        self.num_image_tokens = num_visual_tokens(config.adapter, encoder.grid)
        self.processor = RetinaVLMProcessor(
            tokenizer,
            image_token=config.image_token,
            num_image_tokens=self.num_image_tokens,
            image_size=config.encoder.image_size,
            pixel_mean=config.encoder.pixel_mean,
            pixel_std=config.encoder.pixel_std,
            max_length=llm.config.max_position_embeddings,
            crop_fraction=config.encoder.crop_fraction,
            crop=config.encoder.crop,
        )
        vocab = tokenizer.get_vocab()
        self.stop_token_ids = [vocab[t] for t in (END_OF_TURN, END_OF_TEXT) if t in vocab]
        self.has_lora = config.llm.lora is not None
        self.fast = FastSettings()
        self._decoder: StaticGreedyDecoder | None = None
        self._decoder_compiled = False
        self.trainable_parts(
            encoder=not config.encoder.freeze, adapter=True, lora=self.has_lora, llm=self._tiny_trainable()
        )

    def _tiny_trainable(self) -> bool:
        """A tiny LLM built from scratch learns everything unless LoRA or quantization says otherwise."""
        return self.config.llm.tiny and not self.has_lora and not is_quantized(self.llm)

    # --- building -----------------------------------------------------------------------------

    @classmethod
    def from_config(
        cls,
        config: RetinaVLMConfig,
        tokenizer_path: str | os.PathLike | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
        device: str | None = None,
        knowledge: KnowledgeBase | None = None,
    ) -> RetinaVLM:
        """Build a new model to train under `knowledge` (default: the default knowledge base), which it
        records. The tiny LLM gets the toolkit's tokenizer unless one is given."""
        device = device or default_device()
        if tokenizer is None:
            if tokenizer_path is not None:
                tokenizer = load_tokenizer(tokenizer_path, config.image_token)
            elif config.llm.path is not None:
                tokenizer = load_tokenizer(config.llm.path, config.image_token)
            else:
                tokenizer = train_tokenizer(vocab_size=config.llm.vocab_size, image_token=config.image_token)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            encoder = create_encoder(config.encoder.name, config.encoder.image_size, config.encoder.weights)
            if config.llm.path is not None:
                llm = load_llm(config.llm.path, config.llm.quantization, config.llm.dtype, device)
            else:
                llm = build_tiny_llm(config.llm, tokenizer)
                llm = quantize_via_folder(llm, config.llm, device) if config.llm.quantization else llm.to(device)
            return cls.assemble(config, encoder, llm, tokenizer, device, (knowledge or load_knowledge()).version_tag)

    @classmethod
    def assemble(
        cls,
        config: RetinaVLMConfig,
        encoder: OCTEncoder,
        llm: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        device: str,
        knowledge_version: str,
    ) -> RetinaVLM:
        """Add LoRA and a fresh adapter around a loaded encoder and LLM (shared by from_config/from_pretrained)."""
        if len(tokenizer) > llm.get_input_embeddings().num_embeddings:
            raise TokenizerError(
                f"the tokenizer has {len(tokenizer)} tokens but the LLM only {llm.get_input_embeddings().num_embeddings} embeddings"
            )
        if config.llm.lora is not None:
            llm = add_lora(llm, config.llm.lora)
        adapter = create_adapter(config.adapter, encoder.dim, llm.config.hidden_size, encoder.grid)
        model = cls(config, encoder.to(device), adapter.to(device), llm, tokenizer, knowledge_version)
        return model.eval()

    @classmethod
    def from_pretrained(
        cls,
        folder: str | os.PathLike,
        device: str | None = None,
        knowledge: KnowledgeBase | None = None,
        force_knowledge: bool = False,
    ) -> RetinaVLM:
        """Load a checkpoint folder; one trained under another knowledge base than `knowledge` (default:
        the default knowledge base) raises KnowledgeMismatchError unless `force_knowledge`."""
        return load_checkpoint(folder, device or default_device(), cls, knowledge, force_knowledge)

    def save_pretrained(self, folder: str | os.PathLike) -> None:
        save_checkpoint(self, folder)

    # --- training set-up ----------------------------------------------------------------------

    def trainable_parts(self, encoder: bool, adapter: bool, lora: bool, llm: bool = False) -> None:
        """Choose what trains. `llm` trains every (unquantized) LLM weight, as the tiny model from scratch needs.

        A frozen encoder is held in eval mode, so its BatchNorm statistics never move.
        """
        if lora and not self.has_lora:
            raise ValueError(
                "lora=True but this model has no LoRA (config.llm.lora is null); pass llm=True to train the whole LLM"
            )
        if llm and is_quantized(self.llm):
            raise ValueError("llm=True: quantized LLM weights cannot be trained; configure LoRA and pass lora=True")
        if llm and self.config.llm.path is not None:
            raise ValueError(
                "llm=True: a base LLM loaded from a path is trained through LoRA only (it is saved by reference)"
            )
        self.encoder.requires_grad_(encoder)
        self.adapter.requires_grad_(adapter)
        for name, param in self.llm.named_parameters():
            param.requires_grad_(lora if "lora_" in name else (llm and param.is_floating_point()))
        self.encoder_trains = encoder  # training state, not model config: the saved config records only the model
        self.train(self.training)

    def train(self, mode: bool = True) -> RetinaVLM:
        super().train(mode)
        if not self.encoder_trains:
            self.encoder.eval()
        return self

    # --- forward ------------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.llm.get_input_embeddings().weight.device

    def encode_images(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S) -> raw encoder tokens (B, num_encoder_tokens, encoder_dim), before the adapter."""
        return self.encoder(pixel_values.to(self.device, torch.float32))

    @torch.no_grad()
    def inference_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """`encode_images` in eval mode without gradients: what `generate(image_features=...)` takes, so that a
        scan asked several questions is encoded once."""
        was_training = self.training
        self.eval()
        try:
            return self.encode_images(pixel_values)
        finally:
            self.train(was_training)

    def embed(
        self,
        input_ids: torch.Tensor,
        pixel_values: torch.Tensor | None = None,
        image_features: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Token embeddings with each image's adapter outputs written over its image-token rows."""
        input_ids = input_ids.to(self.device)
        embeds = self.llm.get_input_embeddings()(input_ids)
        image_mask = input_ids == self.processor.image_token_id
        if pixel_values is None and image_features is None:
            if image_mask.any():
                raise ValueError("input_ids hold image tokens but neither pixel_values nor image_features were given")
            return embeds
        if pixel_values is not None and image_features is not None:
            raise ValueError("pass either pixel_values or image_features, not both")
        features = self.encode_images(pixel_values) if image_features is None else image_features.to(self.device)
        if features.shape[0] != input_ids.shape[0]:
            raise ValueError(f"{features.shape[0]} images for {input_ids.shape[0]} sequences; one image per sequence")
        visual = self.adapter(features.float()).to(embeds.dtype)
        counts = image_mask.sum(dim=1)
        if not torch.all(counts == visual.shape[1]):
            raise ValueError(
                f"image token counts per sequence {counts.tolist()} do not match the {visual.shape[1]} visual tokens "
                "per image; build inputs with model.processor"
            )
        return embeds.masked_scatter(image_mask.unsqueeze(-1), visual)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
        pixel_values: torch.Tensor | None = None,
        image_features: torch.Tensor | None = None,
        return_logits: bool = True,
        loss_per_sequence: bool = False,
        segment_ids: torch.Tensor | None = None,
    ) -> Any:
        """Logits, and with labels the cross-entropy over answer tokens (labels != -100).

        `loss` is the mean over all answer tokens, or with `loss_per_sequence` each sequence's own mean,
        shape (B,), so that a trainer can weigh every question alike however long its answer. Training
        passes `return_logits=False`: with labels and `fast.answer_only_loss` (the default) the LM head
        then runs only at answer tokens and `.logits` is None.

        `segment_ids` marks packed rows (retinavlm.model.packing): several questions sharing one image
        prefix, each attending to the prefix and itself only; `loss_per_sequence` then gives one mean per
        question, shape (number of questions,).
        """
        if segment_ids is not None and labels is not None and not loss_per_sequence:
            raise ValueError("packed rows (segment_ids) are trained with loss_per_sequence=True, one mean per question")
        if labels is None or return_logits or not self.fast.answer_only_loss:
            embeds, attention_mask, position_ids = self._llm_inputs(
                input_ids, attention_mask, pixel_values, image_features, segment_ids
            )
            out = self.llm(
                inputs_embeds=embeds,
                attention_mask=attention_mask,
                position_ids=position_ids,
                labels=None if labels is None or loss_per_sequence else labels.to(self.device),
            )
            if labels is not None and loss_per_sequence:
                losses, sequence = logit_token_losses(out.logits, labels)
                out.loss = self._sequence_means(losses, sequence, labels, segment_ids)
            return out
        hidden = self._hidden_states(input_ids, attention_mask, pixel_values, image_features, segment_ids)
        losses, sequence = answer_token_losses(hidden, self._lm_head(), labels, self.fast.loss_chunk_tokens)
        if loss_per_sequence:
            return CausalLMOutputWithPast(loss=self._sequence_means(losses, sequence, labels, segment_ids))
        # An empty answer set gives 0 (HF's mean gives NaN); there is nothing to learn either way.
        return CausalLMOutputWithPast(loss=losses.sum() / max(losses.numel(), 1))

    def _llm_inputs(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        pixel_values: torch.Tensor | None,
        image_features: torch.Tensor | None,
        segment_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        embeds = self.embed(input_ids, pixel_values, image_features)
        if segment_ids is not None:
            segment_ids = segment_ids.to(self.device)
            return embeds, segment_attention_mask(segment_ids), segment_positions(segment_ids)
        attention_mask = attention_mask.to(self.device)
        # Positions count real tokens only, so left and right padding give the same logits.
        position_ids = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
        return embeds, attention_mask, position_ids

    def _sequence_means(
        self, losses: torch.Tensor, sequence: torch.Tensor, labels: torch.Tensor, segment_ids: torch.Tensor | None
    ) -> torch.Tensor:
        """Each row's mean answer loss, or with packed rows each question's."""
        if segment_ids is None:
            return sequence_means(losses, sequence, labels.shape[0])
        index, questions = question_index(segment_ids.to(self.device))
        # The answer tokens in row-major order, as the losses are; each belongs to its target's segment.
        owners = index[:, 1:][labels[:, 1:].to(self.device) != IGNORE_INDEX]
        return sequence_means(losses, owners, questions)

    def _hidden_states(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        pixel_values: torch.Tensor | None,
        image_features: torch.Tensor | None,
        segment_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The decoder's last hidden states (B, T, D), without the LM head (LoRA layers live inside)."""
        embeds, attention_mask, position_ids = self._llm_inputs(
            input_ids, attention_mask, pixel_values, image_features, segment_ids
        )
        decoder = base_model(self.llm).get_decoder()
        return decoder(inputs_embeds=embeds, attention_mask=attention_mask, position_ids=position_ids).last_hidden_state

    def _lm_head(self) -> nn.Module:
        return base_model(self.llm).get_output_embeddings()

    # --- generation ---------------------------------------------------------------------------

    def greedy_decoder(self) -> StaticGreedyDecoder:
        """The static-cache greedy decoder, built once and reused (its cache and compiled step persist)."""
        compile_decode = self.fast.compile_decode
        compile_decode = self.device.type == "cuda" if compile_decode is None else compile_decode
        if self._decoder is None or self._decoder_compiled != compile_decode:
            self._decoder, self._decoder_compiled = (
                StaticGreedyDecoder(base_model(self.llm), compile_decode),
                compile_decode,
            )
        return self._decoder

    @torch.no_grad()
    def generate(
        self,
        pixel_values: torch.Tensor | None,
        prompts: list[str],
        max_new_tokens: int = 256,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_p: float = 1.0,
        streamer: Any = None,
        num_beams: int = 1,
        image_features: torch.Tensor | None = None,
    ) -> list[str]:
        """Write one answer per prompt (and scan), stopping at <|eot_id|>; greedy unless do_sample. With
        num_beams > 1, beam search and the num_beams best answers of each prompt in turn, best first.

        `image_features` (from `inference_features`) stand in for `pixel_values`, so that a scan asked several
        questions is encoded once: the encoder costs more than the tiny LM's prefill.
        """
        if num_beams < 1:
            raise ValueError(f"num_beams must be at least 1, got {num_beams}")
        with_image = pixel_values is not None or image_features is not None
        batch = self.processor(prompts, images=pixel_values, padding_side="left", with_image=with_image)
        length = batch["input_ids"].shape[1]
        if length + max_new_tokens > self.processor.max_length:
            raise ValueError(
                f"prompt of {length} tokens + max_new_tokens={max_new_tokens} exceeds the model's context of "
                f"{self.processor.max_length}"
            )
        sampling = {"temperature": temperature, "top_p": top_p} if do_sample else {}
        beams = {"num_beams": num_beams, "num_return_sequences": num_beams} if num_beams > 1 else {}
        generation = GenerationConfig(
            max_new_tokens=max_new_tokens,
            do_sample=do_sample,
            eos_token_id=self.stop_token_ids,
            pad_token_id=self.processor.tokenizer.pad_token_id,
            **sampling,
            **beams,
        )
        was_training = self.training
        self.eval()
        try:
            embeds = self.embed(batch["input_ids"], batch.get("pixel_values"), image_features)
            attention_mask = batch["attention_mask"].to(self.device)
            if self.fast.static_cache_generation and not do_sample and streamer is None and num_beams == 1:
                output = self.greedy_decoder()(
                    embeds, attention_mask, max_new_tokens, self.stop_token_ids, self.processor.tokenizer.pad_token_id
                )
            else:
                output = self.llm.generate(
                    inputs_embeds=embeds, attention_mask=attention_mask, generation_config=generation, streamer=streamer
                )
        finally:
            self.train(was_training)
        texts = self.processor.tokenizer.batch_decode(output, skip_special_tokens=True)
        return [t.strip() for t in texts]

    @torch.no_grad()
    def next_token_logits(self, prompts: list[str], image_features: torch.Tensor) -> torch.Tensor:
        """(B, vocab) float logits of the first answer token of each prompt, in eval mode: how a closed question
        weighs "Yes" against "No". The LM head runs at the last position only (a large vocabulary stays cheap)."""
        batch = self.processor(prompts, padding_side="left", with_image=True)
        was_training = self.training
        self.eval()
        try:
            hidden = self._hidden_states(batch["input_ids"], batch["attention_mask"], None, image_features)
            return self._lm_head()(hidden[:, -1]).float()
        finally:
            self.train(was_training)

    def candidates(
        self,
        pixel_values: torch.Tensor | None,
        prompts: list[str],
        max_new_tokens: int,
        beams: int,
        image_features: torch.Tensor | None = None,
    ) -> list[list[str]]:
        """The `beams` best answers per prompt (and scan) by beam search, best first."""
        texts = self.generate(pixel_values, prompts, max_new_tokens, num_beams=beams, image_features=image_features)
        return [texts[i : i + beams] for i in range(0, len(texts), beams)]
