"""Decoding one 30 s window: greedy, sampling and beam search over a network's logits, with Whisper's
logit rules (suppress_blank, suppress_tokens, timestamp rules) and language detection.

The rules follow openai/whisper `decoding.py` (behaviour, not code): beam search keeps beam_size live
hypotheses, expanding each by its beam_size + 1 best tokens, and stops once round(beam_size * patience)
hypotheses have ended; finished ones are ranked by sum of log-probs divided by the length penalty
(the length itself, or ((5 + length) / 6) ** alpha when a length_penalty alpha is given).

A network is anything with `encode(mel (n_mels, 3000)) -> features` and `session(features, batch)`
returning an object with `logits(tokens (batch, n)) -> (batch, n, n_vocab)` (for the new tokens, which it
appends to its cache) and `reorder(indices)`.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from zoo.speech.tokenizer import TIME_PRECISION, WhisperTokenizer


class Session(Protocol):
    def logits(self, tokens: np.ndarray) -> np.ndarray: ...

    def reorder(self, indices: np.ndarray) -> None: ...


class Network(Protocol):
    def encode(self, mel: np.ndarray) -> Any: ...

    def session(self, audio_features: Any, batch: int) -> Session: ...


@dataclass
class DecodingOptions:
    """How to decode one window (Whisper's DecodingOptions, the subset we run)."""

    task: str = "transcribe"
    language: str | None = None
    temperature: float = 0.0
    sample_len: int | None = None  # tokens to sample at most; default half the text context
    best_of: int | None = None  # independent samples at temperature > 0
    beam_size: int | None = None  # None or 1: greedy
    patience: float | None = None
    length_penalty: float | None = None
    prompt: list[int] | None = None  # previous-text tokens (<|startofprev|> context)
    suppress_tokens: list[int] | None = None  # None: the model's suppress_ids from config.json
    suppress_blank: bool = True
    without_timestamps: bool = False
    max_initial_timestamp: float | None = 1.0
    seed: int = 0  # for sampling at temperature > 0


@dataclass
class DecodingResult:
    tokens: list[int]  # sampled tokens, without the prompt and end-of-text
    text: str
    language: str
    avg_logprob: float
    no_speech_prob: float
    temperature: float
    compression_ratio: float
    sum_logprob: float = 0.0
    language_probs: dict[str, float] = field(default_factory=dict)


def log_normalizer(x: np.ndarray) -> np.ndarray:
    """log(sum(exp(x))) over the last axis (kept, size 1) in float64. The exponentials of the shifted logits are
    taken in float32 and summed in float64 (numpy's float64 exp runs one element at a time on AVX2 CPUs, 4x
    slower over a 51865-token row): off by ~1e-7, the precision of the float32 reference decoders."""
    m = x.max(axis=-1, keepdims=True)
    shifted = (x - m).astype(np.float32, copy=False)
    return m + np.log(np.exp(shifted, out=shifted).sum(axis=-1, keepdims=True, dtype=np.float64))


def log_softmax(x: np.ndarray) -> np.ndarray:
    """float64 log-probabilities over the last axis (see log_normalizer)."""
    x = np.asarray(x)
    y = x.astype(np.float64)
    y -= log_normalizer(x)
    return y


def logsumexp(x: np.ndarray) -> float:
    """log(sum(exp(x))) of a 1-d float64 array, -inf when every entry is -inf or x is empty."""
    m = x.max(initial=-np.inf)
    return float(m) if m == -np.inf else float(m + np.log(np.exp(x - m).sum()))


def compression_ratio(text: str) -> float:
    """Length of the UTF-8 text over its zlib-compressed length: high for repetitive (looping) output."""
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


class LogitRules:
    """Whisper's logit filters, applied in place to (batch, n_vocab) logits for the next token."""

    def __init__(self, tok: WhisperTokenizer, options: DecodingOptions, sample_begin: int,
                 suppress_ids: list[int]) -> None:
        self.tok, self.sample_begin = tok, sample_begin
        self.suppress_blank = options.suppress_blank
        suppress = set(suppress_ids if options.suppress_tokens is None else options.suppress_tokens)
        # the prompt-only tokens are never sampled, as in Whisper's _get_suppress_tokens
        suppress |= {tok.transcribe, tok.translate, tok.sot, tok.sot_prev, tok.sot_lm, tok.no_speech}
        self.suppress = np.array(sorted(i for i in suppress if 0 <= i < tok.n_vocab), dtype=np.int64)
        self.timestamps = not options.without_timestamps
        self.max_initial = None
        if options.max_initial_timestamp is not None:
            self.max_initial = round(options.max_initial_timestamp / TIME_PRECISION)

    def apply(self, logits: np.ndarray, tokens: np.ndarray) -> None:
        tok, begin = self.tok, self.sample_begin
        at_begin = tokens.shape[1] == begin
        if self.suppress_blank and at_begin:
            logits[:, tok.blank_ids] = -np.inf
        logits[:, self.suppress] = -np.inf
        if not self.timestamps:
            return
        ts = tok.timestamp_begin
        logits[:, tok.no_timestamps] = -np.inf
        for k in range(tokens.shape[0]):
            sampled = tokens[k, begin:]
            last_ts = len(sampled) >= 1 and sampled[-1] >= ts
            penultimate_ts = len(sampled) < 2 or sampled[-2] >= ts
            if last_ts:
                if penultimate_ts:  # a pair just closed: text (or end) must follow
                    logits[k, ts:] = -np.inf
                else:  # an opening timestamp: the next is a timestamp or the end, not text
                    logits[k, :tok.eot] = -np.inf
            stamps = sampled[sampled >= ts]
            if len(stamps):
                # timestamps never go back; after a closing one the next must move forward
                floor = stamps[-1] if (last_ts and not penultimate_ts) else stamps[-1] + 1
                logits[k, ts:floor] = -np.inf
        if at_begin:
            logits[:, :ts] = -np.inf  # a window starts with a timestamp
            if self.max_initial is not None:
                logits[:, ts + self.max_initial + 1:] = -np.inf
        for k in range(tokens.shape[0]):
            # timestamps together outweigh any single text token: compared in log-probabilities, where both
            # sides carry the same normaliser, so the logits compare the same way (1501 exponentials, not 51865)
            if logsumexp(logits[k, ts:].astype(np.float64)) > logits[k, :ts].max():
                logits[k, :ts] = -np.inf


def detect_language(network: Network, features: Any, tok: WhisperTokenizer) -> tuple[str, dict[str, float]]:
    """The most likely language code of a window and the probability of every language (multilingual models)."""
    if not tok.multilingual:
        return "en", {"en": 1.0}
    logits = network.session(features, 1).logits(np.array([[tok.sot]]))[0, -1]
    return _language_from(logits, tok)


def _language_from(logits: np.ndarray, tok: WhisperTokenizer) -> tuple[str, dict[str, float]]:
    codes = list(tok.language_ids)
    lang_logits = np.asarray(logits, dtype=np.float64)[[tok.language_ids[c] for c in codes]]
    probs = np.exp(lang_logits - lang_logits.max())
    probs /= probs.sum()
    return codes[int(np.argmax(probs))], dict(zip(codes, probs.tolist()))


def decode_window(network: Network, features: Any, tok: WhisperTokenizer, config: dict,
                  options: DecodingOptions) -> DecodingResult:
    """Decode one window's audio features (from network.encode) into tokens and text."""
    beam = options.beam_size if options.beam_size and options.beam_size > 1 and options.temperature == 0 else None
    n_group = beam or (options.best_of if options.temperature > 0 and options.best_of else 1)
    session = network.session(features, n_group)
    prefix: list[int] = []
    if options.prompt:
        prefix = [tok.sot_prev] + list(options.prompt)[-(config["n_text_ctx"] // 2 - 1):]
    language, language_probs = options.language, {}
    fed, sot_logits = 0, None
    if tok.multilingual and language is None:
        # run the prompt up to <|startoftranscript|> once: its logits give the language and no-speech odds
        head = np.tile(np.array(prefix + [tok.sot], dtype=np.int64), (n_group, 1))
        sot_logits = np.asarray(session.logits(head)[0, -1], dtype=np.float64)
        language, language_probs = _language_from(sot_logits, tok)
        fed = head.shape[1]
    language = language or "en"
    initial = prefix + tok.sot_sequence(language if tok.multilingual else None, options.task)
    if options.without_timestamps:
        initial.append(tok.no_timestamps)
    sample_begin = len(initial)
    sot_index = initial.index(tok.sot)
    sample_len = options.sample_len or config["n_text_ctx"] // 2
    rules = LogitRules(tok, options, sample_begin, config["suppress_ids"])

    tokens = np.tile(np.array(initial, dtype=np.int64), (n_group, 1))
    sum_logprobs = np.zeros(n_group)
    rng = np.random.default_rng(options.seed)
    search = BeamSearch(beam, options.patience, tok.eot) if beam else None
    for step in range(sample_len):
        all_logits = session.logits(tokens[:, fed:])
        if step == 0 and sot_logits is None:
            sot_logits = np.asarray(all_logits[0, sot_index - fed], dtype=np.float64)
        logits = np.array(all_logits[:, -1])  # float32, as the network gives them; the rules edit this copy
        fed = tokens.shape[1]
        rules.apply(logits, tokens)
        # a token's log-probability is its logit minus its row's normaliser: no full log-softmax per step
        normalizer = log_normalizer(logits)[:, 0]
        if search is not None:
            tokens, order, done = search.step(tokens, logits, normalizer, sum_logprobs)
            session.reorder(order)
        else:
            if options.temperature == 0:
                nxt = logits.argmax(axis=-1)
            else:
                probs = np.exp(log_softmax(logits / options.temperature))
                nxt = np.array([rng.choice(len(p), p=p) for p in probs])
            ended = tokens[:, -1] == tok.eot
            picked = logits[np.arange(len(nxt)), nxt] - normalizer
            sum_logprobs += np.where(ended, 0.0, picked)
            nxt = np.where(ended, tok.eot, nxt)
            tokens = np.concatenate([tokens, nxt[:, None]], axis=1)
            done = bool((tokens[:, -1] == tok.eot).all())
        if done or tokens.shape[1] >= config["n_text_ctx"]:
            break
    no_speech_prob = float(np.exp(log_softmax(sot_logits)[tok.no_speech]))
    if search is not None:
        candidates = search.finalize(tokens, sum_logprobs)
    else:
        candidates = [(list(t), s) for t, s in zip(tokens, sum_logprobs)]
    best_tokens, best_sum = _rank(candidates, sample_begin, tok.eot, options.length_penalty)
    text = tok.decode(best_tokens)
    return DecodingResult(
        tokens=best_tokens, text=text, language=language,
        avg_logprob=best_sum / (len(best_tokens) + 1), no_speech_prob=no_speech_prob,
        temperature=options.temperature, compression_ratio=compression_ratio(text),
        sum_logprob=best_sum, language_probs=language_probs)


def _rank(candidates: list[tuple[list[int], float]], sample_begin: int, eot: int,
          length_penalty: float | None) -> tuple[list[int], float]:
    best, best_score, best_sum = [], -np.inf, 0.0
    for seq, logprob in candidates:
        sampled = list(seq[sample_begin:])
        if eot in sampled:
            sampled = sampled[:sampled.index(eot)]
        length = len(sampled)
        penalty = length if length_penalty is None else ((5 + length) / 6) ** length_penalty
        score = logprob / max(penalty, 1e-9)
        if score > best_score:
            best, best_score, best_sum = sampled, score, float(logprob)
    return [int(t) for t in best], best_sum


class BeamSearch:
    """Beam search for one window; its batch rows are the live hypotheses."""

    def __init__(self, beam_size: int, patience: float | None, eot: int) -> None:
        self.beam_size, self.eot = beam_size, eot
        self.max_candidates = round(beam_size * (patience or 1.0))
        if self.max_candidates <= 0:
            raise ValueError(f"beam search: patience {patience} leaves no candidates for beam size {beam_size}")
        self.finished: dict[tuple[int, ...], float] = {}

    def step(self, tokens: np.ndarray, logits: np.ndarray, normalizer: np.ndarray, sum_logprobs: np.ndarray):
        """Expand every live row by its best tokens (log-probability: logit - the row's normalizer, from
        log_normalizer); returns (new tokens, source row of each, whether the search is done)."""
        scores: dict[tuple[int, ...], float] = {}
        sources: dict[tuple[int, ...], int] = {}
        k = self.beam_size + 1
        for row in range(tokens.shape[0]):
            prefix = tuple(tokens[row].tolist())
            base = sum_logprobs[row] - normalizer[row]
            for token in np.argpartition(-logits[row], k)[:k].tolist():  # the row's k best, in no order
                seq = prefix + (token,)
                scores[seq] = float(base + logits[row, token])
                sources[seq] = row
        kept, order, newly = [], [], {}
        for seq in sorted(scores, key=scores.get, reverse=True):
            if seq[-1] == self.eot:
                newly[seq] = scores[seq]
            else:
                sum_logprobs[len(kept)] = scores[seq]
                kept.append(seq)
                order.append(sources[seq])
                if len(kept) == self.beam_size:
                    break
        for seq in sorted(newly, key=newly.get, reverse=True):
            if len(self.finished) >= self.max_candidates:
                break
            self.finished[seq] = newly[seq]
        done = len(self.finished) >= self.max_candidates
        return np.array(kept, dtype=np.int64), np.array(order, dtype=np.int64), done

    def finalize(self, tokens: np.ndarray, sum_logprobs: np.ndarray) -> list[tuple[list[int], float]]:
        """The finished hypotheses, topped up with the best live ones when too few ended."""
        finished = dict(self.finished)
        if len(finished) < self.beam_size:
            for row in np.argsort(sum_logprobs)[::-1]:
                finished[tuple(int(t) for t in tokens[row]) + (self.eot,)] = float(sum_logprobs[row])
                if len(finished) >= self.beam_size:
                    break
        return [(list(seq), score) for seq, score in finished.items()]
