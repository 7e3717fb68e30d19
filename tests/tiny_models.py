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


def build_tiny_marian(path: Path, vocab_size: int = 200, targets: tuple[str, ...] = ("spa", "deu")) -> Path:
    """A 1-layer Marian MT model with random weights and a tokenizer trained here; ``>>xxx<<`` tokens make it a
    multi-target model, like Helsinki-NLP's opus-mt-en-ROMANCE."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

    specials = ["<pad>", "</s>", "<unk>"] + [f">>{t}<<" for t in targets]
    tok = Tokenizer(models.WordPiece(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(CORPUS, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    config = MarianConfig(vocab_size=len(fast), d_model=16, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                          decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=0, eos_token_id=1,
                          decoder_start_token_id=0, forced_eos_token_id=1)
    MarianMTModel(config).save_pretrained(path)
    fast.save_pretrained(path)
    return path


def build_tiny_labse(path: Path, vocab_size: int = 300) -> Path:
    """A LaBSE-shaped sentence-transformers model: a 2-layer BERT, CLS pooling, a Dense layer and Normalize."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(CORPUS, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials))
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")
    bert_dir = path.parent / f"{path.name}-bert"
    BertModel(BertConfig(vocab_size=len(fast), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=130)).save_pretrained(bert_dir)
    fast.save_pretrained(bert_dir)
    word = Transformer(str(bert_dir), max_seq_length=64)
    model = SentenceTransformer(modules=[word, Pooling(32, pooling_mode="cls"), Dense(32, 16), Normalize()],
                                device="cpu")
    model.save(str(path))
    return path
