"""Speech benchmarks on data/speech-dev (30 Harvard-sentence clips and one 84 s long-form recording).

WER uses the one documented text normaliser of zoo/speech/wer.py (lowercase, hyphens to spaces, punctuation
except apostrophes removed, whitespace collapsed) with jiwer's word alignment, for ours and for the
references alike. Token parity compares our greedy tokens with CTranslate2's on Whisper's own features.
Models are anything with `transcribe(array, language=, beam_size=, without_timestamps=, ...)` returning an
object with `.text` and `.segments` (each with `.tokens`).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from zoo.benchmarks import register
from zoo.benchmarks.benchmark import Benchmark, Measurement, Metric

DATASET = "speech-dev"
# One word of the ~250 in the clips is 0.4 points; the reference's own two frontends move 6 of 30 outputs
# without moving WER. A point of WER is what a correct port may differ by.
WER_TOLERANCE = 0.01
# One clip of 30 whose greedy tokens differ (a float near-tie) still counts as parity.
PARITY_TOLERANCE = 1 / 30

FILES = {
    "l01_01.wav": "12c245e996b58ec9f1e15a85a4f20eb5677d8c997cf6517a920d17c4efeb79ad",
    "l01_02.wav": "682e8d48796e08f01d2d7febabac86c498927b11ff6703d104af1cec63fe4948",
    "l01_03.wav": "239ddc059f921a4b49eca91a6c20ae06cd9d4c3f5785e21698feef920d991b49",
    "l01_04.wav": "d3365ab80d97895ee3841db02645f1c8d545214376a3aa739638e09a563adda4",
    "l01_05.wav": "d570b02ee26302721bb8b6e3694950f35433b9af70292f74f9aa4540fddacbb2",
    "l01_06.wav": "e1b2d47381b631d70d002860db12e2615aa75211f60c8c12acd23460adf42bff",
    "l01_07.wav": "ab600853b8ccef43c103ceeafc83c32d7490afb9e7809fbe6fcc3fb21b2e0af8",
    "l01_08.wav": "93cb3b04b40a139e96658ccec006551ba9fab70f87fe69d2ccc0bc3dea04948e",
    "l01_09.wav": "bdbd0eead30dd0311cccec030bf0a27460adbc75f86e145abfa305e91e55c030",
    "l01_10.wav": "8e2060767aff45e9de5d4a8feb465b3f61aa20f9f1929f350c3f477ce3f372f2",
    "l02_01.wav": "c98244453bd051855d668688673a0073d7440f13feb3b1b2ac1eff6a2c582623",
    "l02_02.wav": "3f85c875429f2cd4f01366a40d139cabb820d27a010f2cda42400d5bffabc495",
    "l02_03.wav": "9279a4f2983c22c8ac5a21cb62964423a5ec82baaab1b646d235c5b0675744a0",
    "l02_04.wav": "b46e38723e5a3190b4f4a88b15dedad229a19f1b9939eec7fe0a58e5245a1691",
    "l02_05.wav": "f62d1cf5fcaa6bb7575e615e31339a4df1c67185b3be3affa39a396eb17050bc",
    "l02_06.wav": "eb0818338b02be51a8b917b21aca087c9c8d7117c8a5f4e23e0aee6333ca69d2",
    "l02_07.wav": "c27f2beee83cf957d71172c4cbb90af8e8d444547075d70ee14c5ece7e86d431",
    "l02_08.wav": "8cb6993b33986981066d5def409c6d52a2209e70c29d5ef1f2980654db9b43dc",
    "l02_09.wav": "b0b97177f2687a97ac0f59293034c489be7e02027dd922a659269afdc48a2f96",
    "l02_10.wav": "a4119c6160972e5cd942dabd437ea4cdef54b87c6fb6a4b1ed06d49ee28ce9b5",
    "l11_01.wav": "cdee84d9979522cf24f9de4645f3d55ca13c5c11ff8ab6c6186c1839ed7f6ed6",
    "l11_02.wav": "2ff55eb80b54306e708b70713e955e3799dff694ffcab533d3f43d6d3f1fb7fb",
    "l11_03.wav": "8df51511d3b75bca4a7b3ec1a2e32f35bb6e032a7efed4b939267ed45d908317",
    "l11_04.wav": "8b3e93e8089a8c70ff8863ca6a1e4ae9466945d0429d2eeddf0fc8099ae79559",
    "l11_05.wav": "343ad77eea4723286321b58b1a52ebc194e2a9d74bd3d41ad9b15d76fab1e736",
    "l11_06.wav": "93a6d3c3889b8a4d49a21c2a2f65809582b381bd55f68909b6bc0140bdf94980",
    "l11_07.wav": "145e67fac02c703e3c49fd1dae3d1e02967aabe65c68379709797f3df8344df2",
    "l11_08.wav": "f7acac07aaf8bc8b487c95d0b3ca4d044b70dd6bedfce2c8598e73e07892484f",
    "l11_09.wav": "7ab338193f8ae6dd3bcd69d58e7abeb701eede5e3dcc18d945d8b24adefe4e96",
    "l11_10.wav": "4ff78ea630e96ab670e0a5c40fd1f6104232efa9b9ea560a5f97786d6f1b8920",
    "longform.wav": "be8b3a8d471e6abdcc74df96d29ae830d215d1d70dc99785e61c263ebc88b857",
    "manifest.json": "257b952cd60b8007dfadd9ed390a0ec738b408e1fc21d3ba22cd90415fe872f2",
    "reference_base.json": "ee00a28e73292968be59e539fc88c0f868225a451e3e74c956d47be25c6c19b1",
    "reference_tiny.en.json": "a00dcb97488e3eed63e4e2f65b376376b79d03cf5b8599e93ead2fd3ed033ff2",
}

# Decoding as the reference ran it: temperature 0 only (no fallback), no conditioning on previous text.
GREEDY = {"language": "en", "beam_size": 1, "without_timestamps": True, "temperatures": [0.0],
          "condition_on_previous_text": False}
BEAM5_TIMESTAMPS = {"language": "en", "beam_size": 5, "without_timestamps": False, "temperatures": [0.0],
                    "condition_on_previous_text": False}


def read_audio(path: Path) -> np.ndarray:
    """A 16 kHz mono clip as float32 in [-1, 1]."""
    import soundfile
    samples, rate = soundfile.read(str(path), dtype="float32", always_2d=False)
    if rate != 16000 or samples.ndim != 1:
        raise ValueError(f"{path}: expected 16 kHz mono, got {rate} Hz with shape {samples.shape}")
    return samples


def transcribe(model: Any, audio: np.ndarray, settings: Mapping[str, Any]) -> Any:
    options = dict(settings)
    if "temperatures" in options:
        options["temperatures"] = tuple(options["temperatures"])
    return model.transcribe(audio, **options)


def clip_items(data: Path) -> list[dict]:
    return json.loads((data / "manifest.json").read_text(encoding="utf-8"))["items"]


def clips_wer(model: Any, data: Path, settings: Mapping[str, Any]) -> Measurement:
    """Corpus WER of the 30 clips, each transcribed on its own."""
    from zoo.speech.wer import wer, word_errors

    items = clip_items(data)
    refs, hyps, worst = [], [], []
    for item in items:
        text = transcribe(model, read_audio(data / item["file"]), settings).text
        refs.append(item["text"])
        hyps.append(text)
        errors, words = word_errors(item["text"], text)
        if errors:
            worst.append({"file": item["file"], "errors": errors, "words": words, "ref": item["text"], "hyp": text})
    worst.sort(key=lambda w: -w["errors"])
    return Measurement({"wer": wer(refs, hyps)}, {"clips": len(items), "clips_with_errors": worst[:5]})


def longform_wer(model: Any, data: Path, settings: Mapping[str, Any]) -> Measurement:
    """WER of the 84 s recording transcribed in 30 s windows."""
    from zoo.speech.wer import wer

    longform = json.loads((data / "manifest.json").read_text(encoding="utf-8"))["longform"]
    result = transcribe(model, read_audio(data / longform["file"]), settings)
    return Measurement({"wer": wer(longform["text"], result.text)},
                       {"segments": len(result.segments), "hyp": result.text[:400]})


def _text_tokens(model: Any, result: Any) -> list[int]:
    eot = model.tokenizer.eot
    return [int(t) for s in result.segments for t in s.tokens if int(t) < eot]


def token_parity(reference_file: str) -> Callable[[Any, Path, Mapping[str, Any]], Measurement]:
    def run(model: Any, data: Path, settings: Mapping[str, Any]) -> Measurement:
        reference = json.loads((data / reference_file).read_text(encoding="utf-8"))
        clips = reference["modes"]["greedy_whisper_frontend"]["clips"]
        differing = []
        for clip in clips:
            ours = _text_tokens(model, transcribe(model, read_audio(data / clip["file"]), settings))
            if ours != clip["tokens"]:
                first = next((i for i, (a, b) in enumerate(zip(ours, clip["tokens"])) if a != b),
                             min(len(ours), len(clip["tokens"])))
                differing.append({"file": clip["file"], "first_difference": first})
        return Measurement({"fraction_identical": 1 - len(differing) / len(clips)},
                           {"clips": len(clips), "differing": differing})
    return run


def _multi_model_runner(by_model: dict[str, Callable]) -> Callable:
    """Token parity compares with the reference file of the model being run (base or tiny.en)."""
    def run(model: Any, data: Path, settings: Mapping[str, Any]) -> Measurement:
        name = getattr(model, "name", None) or model.config.get("name")
        if name not in by_model:
            raise ValueError(f"speech-dev token parity has references for {', '.join(by_model)}, not {name!r}")
        return by_model[name](model, data, settings)
    return run


WER = Metric("wer", higher_is_better=False, abs_tol=WER_TOLERANCE)

register(Benchmark(
    name="speech-dev-greedy-wer", task="speech", dataset=DATASET, files=dict(FILES), metrics=(WER,),
    runner=clips_wer, split="clips", settings=dict(GREEDY),
    description="WER of the 30 speech-dev clips, greedy, no timestamps"))
register(Benchmark(
    name="speech-dev-beam5-wer", task="speech", dataset=DATASET, files=dict(FILES), metrics=(WER,),
    runner=clips_wer, split="clips", settings=dict(BEAM5_TIMESTAMPS),
    description="WER of the 30 speech-dev clips, beam 5 with timestamps"))
register(Benchmark(
    name="speech-dev-longform-beam5-wer", task="speech", dataset=DATASET, files=dict(FILES), metrics=(WER,),
    runner=longform_wer, split="longform", settings=dict(BEAM5_TIMESTAMPS),
    description="WER of the 84 s speech-dev recording in 30 s windows, beam 5 with timestamps"))
register(Benchmark(
    name="speech-dev-greedy-token-parity", task="speech", dataset=DATASET, files=dict(FILES),
    metrics=(Metric("fraction_identical", higher_is_better=True, abs_tol=PARITY_TOLERANCE),),
    runner=_multi_model_runner({"speech/base": token_parity("reference_base.json"),
                                "speech/tiny.en": token_parity("reference_tiny.en.json")}),
    split="clips", settings=dict(GREEDY),
    description="fraction of the 30 clips whose greedy tokens equal CTranslate2's on Whisper's own features"))
