"""Whisper's tokenizer on `tokenizer.json` (byte-level BPE, `tokenizers` library) plus the ids that live
outside it: special tokens, language tokens and the timestamp tokens `<|0.00|>` ... `<|30.00|>`.

tokenizer.json (as the CTranslate2 conversions ship it) stops at `<|notimestamps|>`; every id above it up to
the model's vocabulary size is a timestamp, 0.02 s apart (Whisper's time precision).
"""
from __future__ import annotations

import json
import os
from functools import cached_property
from pathlib import Path

from tokenizers import Tokenizer

TIME_PRECISION = 0.02  # seconds per timestamp token (Whisper: 30 s / 1500 encoder frames)

# Language codes in Whisper's order (the order of its language tokens, from openai/whisper tokenizer.py).
LANGUAGE_NAMES = {
    "en": "english", "zh": "chinese", "de": "german", "es": "spanish", "ru": "russian", "ko": "korean",
    "fr": "french", "ja": "japanese", "pt": "portuguese", "tr": "turkish", "pl": "polish", "ca": "catalan",
    "nl": "dutch", "ar": "arabic", "sv": "swedish", "it": "italian", "id": "indonesian", "hi": "hindi",
    "fi": "finnish", "vi": "vietnamese", "he": "hebrew", "uk": "ukrainian", "el": "greek", "ms": "malay",
    "cs": "czech", "ro": "romanian", "da": "danish", "hu": "hungarian", "ta": "tamil", "no": "norwegian",
    "th": "thai", "ur": "urdu", "hr": "croatian", "bg": "bulgarian", "lt": "lithuanian", "la": "latin",
    "mi": "maori", "ml": "malayalam", "cy": "welsh", "sk": "slovak", "te": "telugu", "fa": "persian",
    "lv": "latvian", "bn": "bengali", "sr": "serbian", "az": "azerbaijani", "sl": "slovenian", "kn": "kannada",
    "et": "estonian", "mk": "macedonian", "br": "breton", "eu": "basque", "is": "icelandic", "hy": "armenian",
    "ne": "nepali", "mn": "mongolian", "bs": "bosnian", "kk": "kazakh", "sq": "albanian", "sw": "swahili",
    "gl": "galician", "mr": "marathi", "pa": "punjabi", "si": "sinhala", "km": "khmer", "sn": "shona",
    "yo": "yoruba", "so": "somali", "af": "afrikaans", "oc": "occitan", "ka": "georgian", "be": "belarusian",
    "tg": "tajik", "sd": "sindhi", "gu": "gujarati", "am": "amharic", "yi": "yiddish", "lo": "lao",
    "uz": "uzbek", "fo": "faroese", "ht": "haitian creole", "ps": "pashto", "tk": "turkmen", "nn": "nynorsk",
    "mt": "maltese", "sa": "sanskrit", "lb": "luxembourgish", "my": "myanmar", "bo": "tibetan",
    "tl": "tagalog", "mg": "malagasy", "as": "assamese", "tt": "tatar", "haw": "hawaiian", "ln": "lingala",
    "ha": "hausa", "ba": "bashkir", "jw": "javanese", "su": "sundanese", "yue": "cantonese",
}

_SPECIALS = {
    "eot": "<|endoftext|>", "sot": "<|startoftranscript|>", "translate": "<|translate|>",
    "transcribe": "<|transcribe|>", "sot_lm": "<|startoflm|>", "sot_prev": "<|startofprev|>",
    "no_speech": "<|nocaptions|>", "no_timestamps": "<|notimestamps|>",
}


def _load(path: str | os.PathLike) -> Tokenizer:
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # the tokenizers library raises plain Exceptions for unreadable files
        raise ValueError(f"{path}: not a tokenizer.json the tokenizers library can read ({exc})") from None


def special_token_ids(tokenizer_json: str | os.PathLike, n_vocab: int) -> dict:
    """The ids of Whisper's special tokens, its language tokens and the first timestamp, as config entries.

    >>> special_token_ids("tokenizer.json", 51865)["timestamp_begin"]
    50364
    """
    tok = _load(tokenizer_json)
    ids = {}
    for key, text in _SPECIALS.items():
        token_id = tok.token_to_id(text)
        if token_id is None:
            raise ValueError(f"{tokenizer_json}: no special token {text}")
        ids[f"{key}_id"] = token_id
    languages = {}
    for code in LANGUAGE_NAMES:
        token_id = tok.token_to_id(f"<|{code}|>")
        if token_id is not None:
            languages[code] = token_id
    timestamp_begin = ids["no_timestamps_id"] + 1
    if timestamp_begin >= n_vocab:
        raise ValueError(f"{tokenizer_json}: <|notimestamps|> is id {timestamp_begin - 1} but the model has only "
                         f"{n_vocab} tokens, leaving no timestamp tokens")
    return {**ids, "language_ids": languages, "timestamp_begin": timestamp_begin}


class WhisperTokenizer:
    """Text <-> token ids for one Whisper model; `config` is our config.json (special ids, multilingual).

    >>> tok = WhisperTokenizer.from_folder("speech-base/")
    >>> tok.decode(tok.encode(" Hello world."))
    ' Hello world.'
    """

    def __init__(self, tokenizer: Tokenizer, config: dict) -> None:
        self.tokenizer = tokenizer
        self.eot = config["eot_id"]
        self.sot = config["sot_id"]
        self.translate = config["translate_id"]
        self.transcribe = config["transcribe_id"]
        self.sot_prev = config["sot_prev_id"]
        self.sot_lm = config["sot_lm_id"]
        self.no_speech = config["no_speech_id"]
        self.no_timestamps = config["no_timestamps_id"]
        self.timestamp_begin = config["timestamp_begin"]
        self.n_vocab = config["n_vocab"]
        self.multilingual = bool(config["multilingual"])
        self.language_ids: dict[str, int] = dict(config["language_ids"]) if self.multilingual else {}

    @classmethod
    def from_folder(cls, folder: str | os.PathLike) -> WhisperTokenizer:
        folder = Path(folder)
        return cls(_load(folder / "tokenizer.json"), json.loads((folder / "config.json").read_text()))

    def encode(self, text: str) -> list[int]:
        """Token ids of text with no special tokens added."""
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        """Text of the ids; special and timestamp tokens are left out."""
        return self.tokenizer.decode([i for i in ids if i < self.eot], skip_special_tokens=False)

    def decode_with_timestamps(self, ids: list[int]) -> str:
        """Text with timestamp tokens written as <|1.08|>, as Whisper prints them."""
        out, run = [], []
        for i in ids:
            if i >= self.timestamp_begin:
                out.append(self.decode(run))
                run = []
                out.append(f"<|{(i - self.timestamp_begin) * TIME_PRECISION:.2f}|>")
            else:
                run.append(i)
        out.append(self.decode(run))
        return "".join(out)

    def sot_sequence(self, language: str | None = None, task: str = "transcribe") -> list[int]:
        """The prompt that starts a window: <|startoftranscript|>[<|lang|><|task|>] (the latter multilingual only)."""
        seq = [self.sot]
        if self.multilingual:
            if language is None:
                raise ValueError("a multilingual model needs a language for its prompt (or detect one first)")
            seq.append(self.language_token(language))
            seq.append(self.transcribe if task == "transcribe" else self.translate)
        return seq

    def language_token(self, language: str) -> int:
        code = language.lower()
        if code not in self.language_ids:
            by_name = {name: c for c, name in LANGUAGE_NAMES.items()}
            code = by_name.get(code, code)
        if code not in self.language_ids:
            known = ", ".join(sorted(self.language_ids)) or "none: this model is English-only"
            raise ValueError(f"unknown language {language!r} (known: {known})")
        return self.language_ids[code]

    def language_of(self, token: int) -> str:
        for code, token_id in self.language_ids.items():
            if token_id == token:
                return code
        raise ValueError(f"token {token} is not a language token")

    @cached_property
    def blank_ids(self) -> list[int]:
        """Ids suppressed at the first sampled position (suppress_blank): the space token and end-of-text."""
        return self.encode(" ") + [self.eot]
