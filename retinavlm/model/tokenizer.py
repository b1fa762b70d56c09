"""Tokenizers: the toolkit's own small byte-level BPE for the tiny model, and loading a real Llama 3 one.

The toolkit's tokenizer copies Llama 3's conventions (the same special-token strings, the same
pre-tokenizer split pattern, byte-level BPE, the Llama-3-Instruct chat template), so code written
against it works unchanged when `llm.path` points at the real Llama-3-8B-Instruct.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from retinavlm.errors import ConfigError, RetinaVLMError
from retinavlm.model.config import DEFAULT_IMAGE_TOKEN
from retinavlm.model.prompts import load_prompts
from retinavlm.resources import curricula_dir
from retinavlm.yaml_files import read_yaml_mapping

BEGIN_OF_TEXT = "<|begin_of_text|>"
END_OF_TEXT = "<|end_of_text|>"
START_HEADER = "<|start_header_id|>"
END_HEADER = "<|end_header_id|>"
END_OF_TURN = "<|eot_id|>"
PAD = "<|finetune_right_pad_id|>"  # Llama 3.1's padding token; Llama 3.0 falls back to END_OF_TEXT
SPECIAL_TOKENS = (BEGIN_OF_TEXT, END_OF_TEXT, START_HEADER, END_HEADER, END_OF_TURN, PAD)

# Llama 3's pre-tokenizer split pattern (tiktoken cl100k style), from its tokenizer.json.
LLAMA3_SPLIT_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"

# Meta-Llama-3-8B-Instruct's chat template, verbatim from its tokenizer_config.json. It is the
# model's wire format, not editable text: it must match the real model's byte for byte.
LLAMA3_CHAT_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}"
    "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
    "{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)


class TokenizerError(RetinaVLMError):
    """A tokenizer cannot serve the model: missing folder, or special tokens it lacks."""


def load_tokenizer_corpus(path: str | os.PathLike | None = None) -> list[str]:
    """The phrases of curricula/tokenizer_corpus.yaml, in order and with their repeats (BPE counts them)."""
    path = Path(path) if path is not None else curricula_dir() / "tokenizer_corpus.yaml"
    doc = read_yaml_mapping(path, ConfigError, "tokenizer corpus", "a mapping with `phrases`: a list of strings")
    phrases = doc.get("phrases")
    if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p for p in phrases):
        raise ConfigError("expected a non-empty list of non-empty strings", "phrases", path)
    return phrases


def train_tokenizer(
    texts: Iterable[str] = (),
    *,
    vocab_size: int = 2048,
    image_token: str = DEFAULT_IMAGE_TOKEN,
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE on curricula/tokenizer_corpus.yaml, the prompts and `texts` (deterministic).

    Any byte sequence stays encodable (256 byte tokens), so unseen words cost tokens, never fail.
    """
    chat_roles = "system user assistant"  # the chat template's header words
    corpus = [*load_tokenizer_corpus(), *load_prompts().values(), chat_roles, *texts]
    special = [*SPECIAL_TOKENS, image_token]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    bos_id = tokenizer.token_to_id(BEGIN_OF_TEXT)
    # Like Llama 3: plain `tokenizer(text)` prepends <|begin_of_text|>.
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BEGIN_OF_TEXT} $A",
        pair=f"{BEGIN_OF_TEXT} $A {BEGIN_OF_TEXT} $B",
        special_tokens=[(BEGIN_OF_TEXT, bos_id)],
    )
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BEGIN_OF_TEXT,
        eos_token=END_OF_TURN,
        pad_token=PAD,
        chat_template=LLAMA3_CHAT_TEMPLATE,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )
    return prepare_tokenizer(wrapped, image_token, "trained tokenizer")


def load_tokenizer(path: str | os.PathLike, image_token: str = DEFAULT_IMAGE_TOKEN) -> PreTrainedTokenizerBase:
    """Load a tokenizer from a local folder (the toolkit's own or a real Llama 3 one)."""
    path = Path(path)
    if not path.is_dir():
        raise TokenizerError(f"{path}: tokenizer folder not found")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError) as exc:  # transformers' report on the folder's files, converted here
        raise TokenizerError(f"{path}: cannot load a tokenizer ({str(exc).splitlines()[0]})") from None
    return prepare_tokenizer(tokenizer, image_token, str(path))


def prepare_tokenizer(tokenizer: PreTrainedTokenizerBase, image_token: str, source: str) -> PreTrainedTokenizerBase:
    """Check the tokens the model relies on and fill in what a base Llama 3 tokenizer leaves out."""
    for token in (image_token, END_OF_TURN):
        ids = tokenizer.encode(token, add_special_tokens=False)
        if len(ids) != 1:
            raise TokenizerError(
                f"{source}: {token!r} is not a single token (it splits into {len(ids)}); "
                "use one of the tokenizer's reserved special tokens as the image token"
            )
    if tokenizer.pad_token is None:
        vocab = tokenizer.get_vocab()
        tokenizer.pad_token = PAD if PAD in vocab else END_OF_TEXT
    if not tokenizer.chat_template:
        tokenizer.chat_template = LLAMA3_CHAT_TEMPLATE  # base (non-Instruct) Llama 3 has none
    tokenizer.padding_side = "left"
    return tokenizer
