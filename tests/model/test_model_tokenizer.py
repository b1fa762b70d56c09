import functools
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from retinavlm import resources
from retinavlm.errors import ConfigError
from retinavlm.knowledge import load_knowledge
from retinavlm.model.config import DEFAULT_IMAGE_TOKEN
from retinavlm.model.tokenizer import (
    BEGIN_OF_TEXT,
    END_OF_TURN,
    SPECIAL_TOKENS,
    TokenizerError,
    load_tokenizer,
    load_tokenizer_corpus,
    prepare_tokenizer,
    train_tokenizer,
)


def test_training_is_deterministic_and_uses_the_texts_given():
    texts = ["Subretinal hyperreflective material overlies a fibrovascular PED."] * 5
    first, second = train_tokenizer(texts), train_tokenizer(texts)
    assert first.backend_tokenizer.to_str() == second.backend_tokenizer.to_str()
    assert first.get_vocab() != train_tokenizer().get_vocab()


def test_llama3_special_tokens_and_chat_template(tokenizer):
    for token in (*SPECIAL_TOKENS, DEFAULT_IMAGE_TOKEN):
        assert len(tokenizer.encode(token, add_special_tokens=False)) == 1
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Stage?"}], tokenize=False, add_generation_prompt=True
    )
    assert text == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nStage?<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert tokenizer.eos_token == END_OF_TURN and tokenizer.padding_side == "left"
    assert tokenizer("drusen").input_ids[0] == tokenizer.convert_tokens_to_ids(BEGIN_OF_TEXT)


def test_the_tokenizer_does_not_change_when_the_grader_learns_a_word(tmp_path, monkeypatch):
    """The knowledge base's synonyms are the grader's reading vocabulary; a new one must not retrain the model."""
    before = train_tokenizer().backend_tokenizer.to_str()
    shutil.copytree(resources.curricula_dir(), tmp_path / "curricula")
    biomarkers = tmp_path / "curricula" / "knowledge" / "biomarkers.yaml"
    text = biomarkers.read_text()
    assert "synonyms: [" in text
    biomarkers.write_text(text.replace("synonyms: [", "synonyms: [zorbly wibblestreak, ", 1))
    monkeypatch.setattr(resources, "project_root", lambda: tmp_path)
    assert "zorbly wibblestreak" in {s for b in load_knowledge().biomarkers.values() for s in b.synonyms}
    assert train_tokenizer().backend_tokenizer.to_str() == before


def test_the_corpus_holds_every_name_the_model_writes():
    phrases = set(load_tokenizer_corpus())
    kb = load_knowledge()
    names = [b.name for b in kb.biomarkers.values()] + [level.name for level in (*kb.stages, *kb.referrals)]
    assert [name for name in names if name not in phrases] == []


def test_a_bad_corpus_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "corpus.yaml"
    path.write_text("phrases: [drusen, '']\n")
    with pytest.raises(ConfigError, match="phrases"):
        load_tokenizer_corpus(path)
    path.write_text("words: [drusen]\n")
    with pytest.raises(ConfigError, match="corpus.yaml"):
        load_tokenizer_corpus(path)


def test_clinical_words_are_learned_as_few_tokens(tokenizer):
    assert len(tokenizer.encode(" drusen", add_special_tokens=False)) <= 2
    assert len(tokenizer.encode(" subretinal fluid", add_special_tokens=False)) <= 4


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_any_text_round_trips(text):
    tokenizer = _shared()
    assert tokenizer.decode(tokenizer.encode(text, add_special_tokens=False)) == text


def test_save_and_load_keep_everything(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    loaded = load_tokenizer(tmp_path)
    sample = "Large drusen and SRF; refer urgently. µm 63–125"
    assert loaded.encode(sample) == tokenizer.encode(sample)
    assert loaded.chat_template == tokenizer.chat_template
    assert (loaded.pad_token, loaded.eos_token) == (tokenizer.pad_token, tokenizer.eos_token)


def test_a_tokenizer_without_the_image_token_is_refused():
    bare = Tokenizer(models.BPE())
    bare.pre_tokenizer = pre_tokenizers.ByteLevel()
    bare.add_special_tokens([END_OF_TURN])
    with pytest.raises(TokenizerError, match="is not a single token"):
        prepare_tokenizer(PreTrainedTokenizerFast(tokenizer_object=bare), DEFAULT_IMAGE_TOKEN, "bare")


def test_missing_tokenizer_folder(tmp_path):
    with pytest.raises(TokenizerError, match="tokenizer folder not found"):
        load_tokenizer(tmp_path / "absent")


@functools.cache
def _shared():
    return train_tokenizer()  # hypothesis tests cannot take function-scoped fixtures
