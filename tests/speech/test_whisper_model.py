"""The core Whisper network against the numpy reference on one window of tiny.en: encoder features, decoder
logits through the KV cache step by step, and beam reordering of the cache."""
from __future__ import annotations

import json

import numpy as np
import pytest

from tests.reference.whisper_numpy import NumpyWhisper
from tests.speech.whisper_runs import core_whisper_class
from zoo.speech.audio import load_audio
from zoo.speech.mel import N_SAMPLES, log_mel_spectrogram, pad_or_trim


@pytest.fixture(scope="module")
def pair(request, speech_dev):
    whisper = core_whisper_class()
    tiny_en_folder = request.getfixturevalue("tiny_en_folder")
    mel = pad_or_trim(log_mel_spectrogram(load_audio(speech_dev["dir"] / "l02_06.wav"), padding=N_SAMPLES))
    ours, ref = whisper.from_folder(tiny_en_folder), NumpyWhisper(tiny_en_folder)
    config = json.loads((tiny_en_folder / "config.json").read_text())
    return ours, ref, mel, config


def test_encoder_matches_numpy(pair):
    ours, ref, mel, _ = pair
    got, want = ours.encode(mel).numpy(), ref.encode(mel)
    assert got.shape == want.shape == (1, 1500, 384)
    np.testing.assert_allclose(got, want, atol=2e-3, rtol=1e-3)


def test_decoder_logits_through_the_cache_match_numpy(pair):
    ours, ref, mel, config = pair
    features = ref.encode(mel)
    s_ours, s_ref = ours.session(ours.encode(mel), 1), ref.session(features, 1)
    steps = [[config["sot_id"], config["no_timestamps_id"]], [440], [1904], [339]]
    for tokens in steps:
        got, want = s_ours.logits(np.array([tokens])), s_ref.logits(np.array([tokens]))
        assert got.shape == want.shape == (1, len(tokens), config["n_vocab"])
        np.testing.assert_allclose(got, want, atol=5e-3, rtol=1e-3)
        assert got[0, -1].argmax() == want[0, -1].argmax()


def test_reordered_beam_rows_continue_like_fresh_sequences(pair):
    ours, _, mel, config = pair
    features = ours.encode(mel)
    prompt = [config["sot_id"], config["no_timestamps_id"]]
    rows = [[440, 1904], [383, 257], [50, 51]]
    session = ours.session(features, 3)
    session.logits(np.array([prompt + r for r in rows]))
    session.reorder(np.array([2, 0, 0]))
    got = session.logits(np.array([[7], [8], [9]]))
    seqs = []
    for i, (src, nxt) in enumerate(zip([2, 0, 0], [7, 8, 9])):
        seqs.append(prompt + rows[src] + [nxt])
        fresh = ours.session(features, 1).logits(np.array([seqs[-1]]))
        np.testing.assert_allclose(got[i, -1], fresh[0, -1], atol=1e-3, rtol=1e-4)
    session.reorder(np.array([1, 2, 0]))  # a cycle: every row moves, each one's source is overwritten too
    got = session.logits(np.array([[11], [12], [13]]))
    for i, (src, nxt) in enumerate(zip([1, 2, 0], [11, 12, 13])):
        fresh = ours.session(features, 1).logits(np.array([seqs[src] + [nxt]]))
        np.testing.assert_allclose(got[i, -1], fresh[0, -1], atol=1e-3, rtol=1e-4)
    with pytest.raises(ValueError, match="2 indices for a session of 3"):
        session.reorder(np.array([0, 1]))


def seeded(kind: str):
    """A MultiHeadAttention or ResidualAttentionBlock (width 64, 4 heads) in eval mode, and an input (2, 37, 64)."""
    import core
    from zoo.speech import model

    core.manual_seed(0)
    return getattr(model, kind)(64, 4).eval(), core.randn(2, 37, 64)


def test_fused_inference_attention_gives_the_bits_of_the_separate_projections():
    import core

    attn, x = seeded("MultiHeadAttention")
    with core.no_grad():
        fused = attn(x).numpy()
        assert "_packed" in attn.__dict__ and "_packed" not in attn.key.__dict__  # one fused packed weight
        q, k, v = (attn.split_heads(p(x)) for p in (attn.query, attn.key, attn.value))
        separate = attn.out(attn.merge_heads(core.nn.functional.scaled_dot_product_attention(q, k, v))).numpy()
    np.testing.assert_array_equal(fused, separate)
    differentiable = attn(x).detach().numpy()  # grad mode: the op-by-op path
    np.testing.assert_allclose(fused, differentiable, rtol=1e-5, atol=1e-6)


def test_block_adds_its_skip_connections_in_the_epilogue_with_the_bits_of_separate_adds():
    import core

    block, x = seeded("ResidualAttentionBlock")
    with core.no_grad():
        fused = block(x).numpy()
        h = x + block.attn(block.attn_ln(x))
        separate = (h + block.mlp(block.mlp_ln(h))).numpy()
    np.testing.assert_array_equal(fused, separate)


def test_hooks_on_the_attention_projections_see_their_calls_in_inference():
    import core

    attn, x = seeded("MultiHeadAttention")
    with core.no_grad():
        plain = attn(x).numpy()
        seen = []
        for name in ("query", "key", "value", "out"):
            getattr(attn, name).register_forward_hook(lambda m, args, out, name=name: seen.append((name, out.shape)))
        hooked = attn(x).numpy()
    assert seen == [("query", (2, 37, 64)), ("key", (2, 37, 64)), ("value", (2, 37, 64)), ("out", (2, 37, 64))]
    np.testing.assert_allclose(hooked, plain, rtol=1e-5, atol=1e-6)


def test_hooks_on_a_blocks_attention_and_mlp_see_their_own_outputs():
    import core

    block, x = seeded("ResidualAttentionBlock")
    seen = {}
    with core.no_grad():
        plain = block(x).numpy()
        for name in ("attn", "mlp"):
            getattr(block, name).register_forward_hook(lambda m, args, out, name=name: seen.update({name: out}))
        hooked = block(x).numpy()
        attended = block.attn.forward(block.attn_ln(x))
        np.testing.assert_array_equal(seen["attn"].numpy(), attended.numpy())  # no skip connection in it
        h = x + attended
        np.testing.assert_array_equal(seen["mlp"].numpy(), block.mlp.forward(block.mlp_ln(h)).numpy())
    np.testing.assert_allclose(hooked, plain, rtol=1e-5, atol=1e-6)


def test_a_float64_decoder_in_inference_projects_through_the_differentiable_path():
    import core
    from zoo.speech.model import TextDecoder

    core.manual_seed(0)
    dec = TextDecoder(50, 8, 16, 2, 1).double().eval()
    x = core.randn(1, 2, 16).double()
    with core.no_grad():
        logits = dec.project_vocab(x)
    assert logits.dtype == core.float64 and "_packed" not in dec.__dict__
    np.testing.assert_allclose(logits.numpy(), x.numpy() @ dec.token_embedding.weight.detach().numpy().T, rtol=1e-12)
