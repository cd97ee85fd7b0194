"""Whisper on PyTorch eager through transformers, built from our converted model folder (no hub download).

bench/whisper.py's `torch` engine: a WhisperForConditionalGeneration whose config is written here from our
config.json and whose parameters are our model.safetensors under transformers' names, float32, as views of
one copy-on-write map of the file (so its memory, like ours, is the file's pages it touches). Needs torch
and transformers: a benchmark-only install, never a zoohub dependency.

>>> model = whisper_from_folder(folder)
>>> greedy_tokens(model, features, config)   # text tokens of one 30 s window, language en, no timestamps
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.io.safetensors import NUMPY_DTYPES, read_header

# our (openai/whisper) module names inside a block -> transformers' names inside a layer
LAYER_NAMES = {
    "attn.query": "self_attn.q_proj", "attn.key": "self_attn.k_proj", "attn.value": "self_attn.v_proj",
    "attn.out": "self_attn.out_proj", "attn_ln": "self_attn_layer_norm",
    "cross_attn.query": "encoder_attn.q_proj", "cross_attn.key": "encoder_attn.k_proj",
    "cross_attn.value": "encoder_attn.v_proj", "cross_attn.out": "encoder_attn.out_proj",
    "cross_attn_ln": "encoder_attn_layer_norm", "mlp.0": "fc1", "mlp.2": "fc2", "mlp_ln": "final_layer_norm",
}
# our names outside the blocks -> transformers' names
TOP_NAMES = {
    "encoder.conv1": "model.encoder.conv1", "encoder.conv2": "model.encoder.conv2",
    "encoder.positional_embedding": "model.encoder.embed_positions.weight",
    "encoder.ln_post": "model.encoder.layer_norm",
    "decoder.token_embedding": "model.decoder.embed_tokens",
    "decoder.positional_embedding": "model.decoder.embed_positions.weight",
    "decoder.ln": "model.decoder.layer_norm",
}


def transformers_name(name: str) -> str | None:
    """transformers' name of one of our parameters; None for the key projections' bias, which Whisper does
    not have (our import stores zeros) and transformers' k_proj leaves out.

    >>> transformers_name("decoder.blocks.3.cross_attn.value.weight")
    'model.decoder.layers.3.encoder_attn.v_proj.weight'
    """
    stack, _, rest = name.partition(".")
    if rest.startswith("blocks."):
        _, index, tail = rest.split(".", 2)
        module, _, param = tail.rpartition(".")
        if module.endswith("attn.key") and param == "bias":
            return None
        if module not in LAYER_NAMES:
            raise KeyError(f"no transformers name for {name!r} (unknown block module {module!r})")
        return f"model.{stack}.layers.{index}.{LAYER_NAMES[module]}.{param}"
    if name in TOP_NAMES:
        return TOP_NAMES[name]
    module, _, param = name.rpartition(".")
    if module not in TOP_NAMES:
        raise KeyError(f"no transformers name for {name!r}")
    return f"{TOP_NAMES[module]}.{param}"


def transformers_config(config: dict):
    """A transformers WhisperConfig with the dimensions and special tokens of our config.json."""
    from transformers import WhisperConfig
    if config["n_audio_state"] != config["n_text_state"]:
        raise ValueError(f"transformers' Whisper has one width, ours has encoder {config['n_audio_state']} and "
                         f"decoder {config['n_text_state']}")
    width = config["n_audio_state"]
    return WhisperConfig(
        vocab_size=config["n_vocab"], num_mel_bins=config["n_mels"], d_model=width,
        encoder_layers=config["n_audio_layer"], encoder_attention_heads=config["n_audio_head"],
        decoder_layers=config["n_text_layer"], decoder_attention_heads=config["n_text_head"],
        encoder_ffn_dim=4 * width, decoder_ffn_dim=4 * width,
        max_source_positions=config["n_audio_ctx"], max_target_positions=config["n_text_ctx"],
        decoder_start_token_id=config["sot_id"], eos_token_id=config["eot_id"], bos_token_id=config["eot_id"],
        pad_token_id=config["eot_id"], tie_word_embeddings=True, scale_embedding=False,
        suppress_tokens=None, begin_suppress_tokens=None)  # decoding settings live in generation_config


def generation_config(config: dict):
    """Greedy decoding as ours does it: the same suppressed tokens (the config's list and the prompt-only
    specials), blank and end-of-text suppressed at the first step, language and task tokens for a
    multilingual model."""
    from transformers import GenerationConfig
    specials = ("transcribe_id", "translate_id", "sot_id", "sot_prev_id", "sot_lm_id", "no_speech_id")
    suppress = sorted(set(config["suppress_ids"]) | {config[k] for k in specials})
    gen = GenerationConfig(
        decoder_start_token_id=config["sot_id"], eos_token_id=config["eot_id"], pad_token_id=config["eot_id"],
        bos_token_id=config["eot_id"], suppress_tokens=suppress, begin_suppress_tokens=config["suppress_ids_begin"],
        no_timestamps_token_id=config["no_timestamps_id"], is_multilingual=config["multilingual"],
        max_initial_timestamp_index=50, max_new_tokens=config["n_text_ctx"] // 2, return_timestamps=False)
    if config["multilingual"]:
        gen.lang_to_id = {f"<|{code}|>": token for code, token in config["language_ids"].items()}
        gen.task_to_id = {"transcribe": config["transcribe_id"], "translate": config["translate_id"]}
    return gen


def whisper_from_folder(folder: str | Path):
    """WhisperForConditionalGeneration (eval) on the weights of our folder's model.safetensors."""
    import torch
    from transformers import WhisperForConditionalGeneration
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text())
    path = folder / "model.safetensors"
    header = read_header(path)
    data = np.memmap(path, dtype=np.uint8, mode="c")
    state = {}
    for name, info in header.tensors.items():
        start = header.data_offset + info.begin
        array = data[start:header.data_offset + info.end].view(NUMPY_DTYPES[info.dtype]).reshape(info.shape)
        target = transformers_name(name)
        if target is None:
            if np.any(array):
                raise ValueError(f"{path}: {name} is not zero, but transformers' Whisper has no key bias")
            continue
        state[target] = torch.from_numpy(array)
    state["proj_out.weight"] = state["model.decoder.embed_tokens.weight"]  # tied, as in Whisper
    with torch.device("meta"):  # no initial values: every parameter is assigned from the file below
        model = WhisperForConditionalGeneration(transformers_config(config))
    model.load_state_dict(state, strict=True, assign=True)
    left = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise RuntimeError(f"transformers' Whisper has tensors our weights do not fill: {left}")
    model.generation_config = generation_config(config)
    return model.eval()


def greedy_tokens(model, features: np.ndarray, config: dict) -> list[int]:
    """The text tokens of greedy decoding of one (n_mels, 3000) log-mel window: language en for a
    multilingual model, no timestamps, at most half the text context (as ours)."""
    import torch
    window = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))[None]
    language = {"language": "en", "task": "transcribe"} if config["multilingual"] else {}
    with torch.inference_mode():
        out = model.generate(input_features=window, num_beams=1, do_sample=False, return_timestamps=False,
                             **language)
    sequence = out.sequences if hasattr(out, "sequences") else out
    return [int(t) for t in sequence[0] if int(t) < config["eot_id"]]
