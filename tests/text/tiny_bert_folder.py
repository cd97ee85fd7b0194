"""A Hugging Face folder of a tiny random BERT (tests/data/tiny_bert) with a 16-word WordPiece tokenizer."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

from core.io import save_arrays
from zoo.importers.torch_zip import load_state_dict

TINY_BERT = Path(__file__).resolve().parents[1] / "data" / "tiny_bert"
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "on", "mat", "##s", "a", "dog", "ran", "to",
         "red", "##dy"]


def tiny_tokenizer() -> Tokenizer:
    """BERT-style: lowercase, split on whitespace and punctuation, WordPiece, [CLS] ... [SEP]."""
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(VOCAB)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                       special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return tok


def tiny_hf_state_dict() -> dict[str, np.ndarray]:
    return load_state_dict(TINY_BERT / "pytorch_model.bin")


def make_tiny_bert_folder(dest: Path, weights: str = "safetensors") -> Path:
    """Write config.json, tokenizer.json and the weights as model.safetensors or pytorch_model.bin."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(TINY_BERT / "config.json", dest / "config.json")
    tiny_tokenizer().save(str(dest / "tokenizer.json"))
    if weights == "bin":
        shutil.copy(TINY_BERT / "pytorch_model.bin", dest / "pytorch_model.bin")
    else:
        save_arrays({k: ("F32", v) for k, v in tiny_hf_state_dict().items()}, dest / "model.safetensors")
    return dest
