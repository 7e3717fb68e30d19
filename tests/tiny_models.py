"""Tiny local models of the paper's architectures: random weights and a tokenizer trained here, no hub."""

from __future__ import annotations

from pathlib import Path

CORPUS = [
    "Query: where is the answer? Passage: the answer is here.",
    "Wo ist die Antwort? Die Antwort ist hier.",
    "¿Dónde está la respuesta? La respuesta está aquí.",
    "答案在哪里？答案在这里。",
    "What year did the Panthers win? They won in 2016.",
] * 20


def build_tiny_xlmr(path: Path, vocab_size: int = 300) -> Path:
    """A 2-layer XLM-R checkpoint (transformers format, no pooling config) with a locally trained tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(CORPUS, trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], unk_token="<unk>"))
    fast = XLMRobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>")
    config = XLMRobertaConfig(vocab_size=len(fast), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                              intermediate_size=64, max_position_embeddings=130, pad_token_id=fast.pad_token_id,
                              bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id)
    XLMRobertaModel(config).save_pretrained(path)
    fast.save_pretrained(path)
    return path
