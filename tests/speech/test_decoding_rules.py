"""Decoding rules on small hand-made logits and a toy network: timestamp rules, suppression, beam search
ranking, and how long-form windows are cut into segments and where the next window starts."""
from __future__ import annotations

import numpy as np
import pytest

from zoo.speech.decoding import BeamSearch, DecodingOptions, DecodingResult, LogitRules, decode_window
from zoo.speech.transcribe import _split_segments


class ToyTokenizer:
    """A 20-token vocabulary: text 0..9, eot 10, sot 11, specials 12..15, no_timestamps 16, timestamps 17.."""

    eot, sot, translate, transcribe, sot_prev, sot_lm, no_speech, no_timestamps = 10, 11, 12, 13, 14, 15, 15, 16
    timestamp_begin, n_vocab, multilingual, language_ids = 17, 20, False, {}
    blank_ids = [0, 10]

    def sot_sequence(self, language=None, task="transcribe"):
        return [self.sot]

    def decode(self, ids):
        return " ".join(str(i) for i in ids if i < self.eot)


TOK = ToyTokenizer()
CONFIG = {"n_text_ctx": 32, "suppress_ids": [9]}


def rules(without_timestamps=False, sample_begin=1, max_initial=1.0):
    opts = DecodingOptions(without_timestamps=without_timestamps, max_initial_timestamp=max_initial)
    return LogitRules(TOK, opts, sample_begin, CONFIG["suppress_ids"])


def allowed(rule: LogitRules, seq: list[int]) -> set[int]:
    logits = np.zeros((1, TOK.n_vocab))
    rule.apply(logits, np.array([seq]))
    return set(np.nonzero(np.isfinite(logits[0]))[0].tolist())


def test_first_token_must_be_an_early_timestamp():
    # max_initial_timestamp 1.0 s is 50 steps: all three toy timestamps are allowed, no text, no eot
    assert allowed(rules(), [11]) == {17, 18, 19}
    assert allowed(rules(max_initial=0.02), [11]) == {17, 18}


def test_the_first_timestamp_is_followed_by_text():
    got = allowed(rules(), [11, 18])
    assert got >= {1, 2, 10} and not got & {17, 18, 19} and 9 not in got


def test_a_timestamp_after_text_is_followed_by_a_timestamp_not_earlier():
    # text is masked, and with flat logits the timestamps' joint mass outweighs end-of-text
    assert allowed(rules(), [11, 17, 3, 18]) == {18, 19}


def test_after_a_closing_pair_no_timestamp_may_follow():
    assert allowed(rules(), [11, 17, 3, 18, 18]) & {17, 18, 19} == set()


def test_after_text_closing_timestamp_cannot_go_back():
    got = allowed(rules(), [11, 18, 3])
    assert 17 not in got and 18 not in got and 19 in got


def test_timestamps_outweighing_text_force_a_timestamp():
    rule = rules()
    logits = np.full((1, TOK.n_vocab), -5.0)
    logits[0, 3] = 0.0
    logits[0, 18:] = 0.5  # two timestamps at exp(0.5) each outweigh the best text token
    rule.apply(logits, np.array([[11, 17, 2]]))
    assert np.all(np.isinf(logits[0, :17]))


def test_without_timestamps_blank_and_suppressed_tokens_are_masked_at_the_start():
    got = allowed(rules(without_timestamps=True, sample_begin=2), [11, 16])
    assert 0 not in got and 10 not in got and 9 not in got and 3 in got
    assert 10 in allowed(rules(without_timestamps=True, sample_begin=2), [11, 16, 3])


class ToyNetwork:
    """Logits from a fixed table indexed by the last token; records reorders."""

    def __init__(self, table: np.ndarray) -> None:
        self.table, self.reorders = table, []

    def encode(self, mel):
        return None

    def session(self, features, batch):
        net = self

        class Session:
            def logits(self, tokens):
                return net.table[np.asarray(tokens)]

            def reorder(self, indices):
                net.reorders.append(list(indices))
        return Session()


def test_greedy_follows_the_argmax_chain_until_eot():
    table = np.full((20, 20), -10.0)
    table[16, 3], table[3, 4], table[4, 10] = 0, 0, 0
    out = decode_window(ToyNetwork(table), None, TOK, CONFIG, DecodingOptions(without_timestamps=True,
                                                                                suppress_blank=False))
    assert out.tokens == [3, 4] and out.text == "3 4"


def test_beam_search_finds_a_better_sequence_greedy_misses():
    table = np.full((20, 20), -20.0)
    table[11, 1], table[11, 2] = np.log(0.6), np.log(0.4)
    table[1, 5], table[1, 6] = np.log(0.5), np.log(0.5)  # path 1 -> then a coin flip
    table[2, 7] = 0.0  # path 2 -> 7 is certain
    table[5, 10] = table[6, 10] = table[7, 10] = 0.0
    table[16] = table[11]
    greedy = decode_window(ToyNetwork(table), None, TOK, CONFIG,
                           DecodingOptions(without_timestamps=True, suppress_blank=False))
    beam = decode_window(ToyNetwork(table), None, TOK, CONFIG,
                         DecodingOptions(without_timestamps=True, suppress_blank=False, beam_size=3))
    assert greedy.tokens[0] == 1 and beam.tokens == [2, 7]


def test_beam_search_stops_after_patience_times_beam_finished():
    search = BeamSearch(2, 1.5, eot=10)
    assert search.max_candidates == 3


@pytest.mark.parametrize("tokens,segments,advance", [
    # two complete pairs, the window ends on a closing pair: seek to the last timestamp (2 frames per step)
    ([17 + 0, 1, 2, 17 + 50, 17 + 60, 3, 17 + 100, 17 + 100], [(0.0, 1.0), (1.2, 2.0)], 200),
    # single timestamp ending: the whole window is consumed
    ([17, 1, 17 + 40, 17 + 40, 2, 17 + 90], [(0.0, 0.8), (0.8, 1.8)], 3000),
    # no pair: one segment to the last timestamp, the window consumed
    ([17, 1, 2, 17 + 70], [(0.0, 1.4)], 3000),
])
def test_long_form_segments_and_seek(tokens, segments, advance):
    tok = ToyTokenizer()
    tok.timestamp_begin, tok.n_vocab = 17, 200
    result = DecodingResult(tokens=tokens, text="", language="en", avg_logprob=-0.1, no_speech_prob=0.0,
                            temperature=0.0, compression_ratio=1.0)
    segs, seek = _split_segments(result, tok, time_offset=0.0, segment_frames=3000)
    assert [(s.start, s.end) for s in segs] == segments and seek == advance


def test_log_softmax_is_float64_within_float32_rounding_and_logsumexp_handles_masked_rows():
    from zoo.speech.decoding import log_softmax, logsumexp

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((3, 51865)) * 8).astype(np.float32)  # logits as the network gives them
    x[1, :50000] = -np.inf
    exact = x.astype(np.float64) - x.max(-1, keepdims=True)
    exact -= np.log(np.exp(exact).sum(-1, keepdims=True))
    got = log_softmax(x)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, exact, rtol=0, atol=1e-6)
    assert logsumexp(np.full(5, -np.inf)) == -np.inf and logsumexp(np.empty(0)) == -np.inf
    assert logsumexp(np.log(np.array([0.25, 0.5, 0.25]))) == pytest.approx(0.0, abs=1e-15)
