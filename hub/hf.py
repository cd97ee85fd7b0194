"""The Hugging Face Hub both ways: `hf://org/name` references in, `export --format hf` and `push-hf` out.

In: `hub.load("hf://sentence-transformers/all-MiniLM-L6-v2")` asks huggingface_hub's `snapshot_download` for
the repository (HF_HUB_OFFLINE=1 means its cache only; HF_HUB_CACHE / HF_HOME say where that cache is),
imports the folder with the HF-folder importer, publishes it to the local registry as `hf/<org>--<name>`
(source `hf:<org>/<name>@<commit>`, so a second load of the same commit finds it without importing again)
and loads it.

Out: `export_hf(ref, dest)` writes a folder transformers and sentence-transformers users load as any other:
config.json (model_type bert), model.safetensors (Hugging Face tensor names), the tokenizer files, the
sentence-transformers module files and a README.md whose model-index carries our reproduction results.
`push_hf(ref, repo_id)` uploads that folder with HfApi (token from HF_TOKEN).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from hub.errors import HubError, InvalidReference, ModelNotFound, require_extra, user_errors
from hub.records import VersionInfo
from registry.errors import scratch_folder

NAMESPACE = "hf"
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
SENTENCE_ENCODER = "bert-sentence-embedding"


def parse_hf_reference(ref: str) -> tuple[str, str | None]:
    """("org/name", revision or None) of `hf://org/name` or `hf://org/name@revision`.

    >>> parse_hf_reference("hf://sentence-transformers/all-MiniLM-L6-v2@main")
    ('sentence-transformers/all-MiniLM-L6-v2', 'main')
    """
    body = ref[len("hf://"):] if ref.startswith("hf://") else ref
    repo_id, _, revision = body.partition("@")
    if not _REPO_ID.fullmatch(repo_id) or ".." in repo_id or (revision and not re.fullmatch(r"[\w./-]+", revision)):
        raise InvalidReference(f"malformed Hugging Face reference {ref!r}: expected hf://ORG/NAME or "
                               f"hf://ORG/NAME@REVISION (e.g. hf://sentence-transformers/all-MiniLM-L6-v2)")
    if revision and ".." in revision:
        raise InvalidReference(f"malformed Hugging Face reference {ref!r}: '..' in the revision")
    return repo_id, revision or None


def registry_name(repo_id: str) -> str:
    """Our model name for a Hugging Face repository: hf/<org>--<name>, lower case."""
    name = repo_id.replace("/", "--").lower()
    if len(name) > 64:
        raise InvalidReference(f"the Hugging Face repository {repo_id!r} gives a registry name over 64 characters")
    return f"{NAMESPACE}/{name}"


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _cache_dir() -> str | None:
    """huggingface_hub's cache as the environment says now (the library reads it once, at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return str(Path(os.environ["HF_HOME"]) / "hub")
    return None


def snapshot(repo_id: str, revision: str | None = None) -> Path:
    """The local folder of the repository at revision: from the cache when offline, else downloaded into it."""
    require_extra("hf", "the Hugging Face bridge", "huggingface_hub")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError
    try:
        return Path(snapshot_download(repo_id, revision=revision, cache_dir=_cache_dir(),
                                      local_files_only=_offline()))
    except LocalEntryNotFoundError:
        where = _cache_dir() or "the default cache (~/.cache/huggingface/hub)"
        mode = "HF_HUB_OFFLINE is set and " if _offline() else ""
        raise ModelNotFound(f"hf://{repo_id}: {mode}no snapshot of it is in {where} (and the Hub could not be "
                            f"reached): download it on a connected machine, or copy its cache folder "
                            f"models--{repo_id.replace('/', '--')} over") from None
    except Exception as exc:  # huggingface_hub raises many kinds (HTTP, repo not found, gated)
        raise ModelNotFound(f"hf://{repo_id}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") \
            from None


def import_folder(src: Path, dest: Path) -> dict:
    """A Hugging Face folder into our format in dest; returns our config.

    A sentence-transformers folder (modules.json) becomes a sentence encoder with its pooling settings.
    """
    from zoo.importers import ImporterError
    from zoo.importers.hf_folder import import_hf_folder
    try:
        if not (src / "modules.json").is_file():
            raise HubError(f"{src}: only sentence-transformers folders (with modules.json) can be loaded yet; "
                           f"this one has {', '.join(sorted(p.name for p in src.iterdir()))}")
        from zoo.text.config import sentence_transformers_settings
        extra = {"architecture": SENTENCE_ENCODER, **sentence_transformers_settings(src)}
        config = import_hf_folder(src, dest, extra_config=extra)
    except ImporterError as exc:
        raise HubError(str(exc)) from None
    if (src / "README.md").is_file():
        shutil.copyfile(src / "README.md", dest / "README.md")
    return config


def _commit_of(folder: Path) -> str:
    """The commit hash of a snapshot folder (snapshots/<commit>/), else a hash of its files."""
    if folder.parent.name == "snapshots":
        return folder.name
    from registry.blobstore import hash_file
    return "sha256-" + hash_file(folder / "model.safetensors")[:16]


def pull_hf(ref: str, progress: bool | None = None) -> VersionInfo:
    """Resolve hf://org/name through huggingface_hub, import and publish it locally (once per commit)."""
    from sqlalchemy import select

    from hub.access import database, version_info
    from hub.loading import ready_version
    from hub.publishing import publish_folder
    from registry.schema import ModelVersion
    repo_id, revision = parse_hf_reference(ref)
    folder = snapshot(repo_id, revision)
    source = f"hf:{repo_id}@{_commit_of(folder)}"
    with database().read() as session:
        known = session.scalar(select(ModelVersion).where(ModelVersion.source == source).limit(1))
        known_ref = version_info(session, known).ref if known is not None else None
    if known_ref is None:
        with scratch_folder("zoohub-hf-") as tmp:
            import_folder(folder, tmp)
            known_ref = publish_folder(tmp, registry_name(repo_id), "text", f"Hugging Face {repo_id}", "", source,
                                       progress).ref
    return ready_version(known_ref, progress)


@user_errors
def load(ref: str, progress: bool | None = None) -> Any:
    """`hub.load("hf://org/name")`: the Hugging Face model, imported into the local registry on first use."""
    from zoo.architectures import build
    model = build(pull_hf(ref, progress).folder)
    if callable(getattr(model, "eval", None)):
        model = model.eval() or model
    return model


# out: our format -> a Hugging Face folder


def _hf_bert_config(config: dict) -> dict:
    return {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": config["vocab_size"],
        "hidden_size": config["hidden_size"], "num_hidden_layers": config["num_layers"],
        "num_attention_heads": config["num_heads"], "intermediate_size": config["intermediate_size"],
        "max_position_embeddings": config["max_position_embeddings"], "type_vocab_size": config["type_vocab_size"],
        "layer_norm_eps": config["layer_norm_eps"], "hidden_act": config["hidden_act"],
        "pad_token_id": config.get("pad_token_id", 0), "position_embedding_type": "absolute",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
        "torch_dtype": "float32",
    }


def _hf_tensors(folder: Path, config: dict) -> dict[str, np.ndarray]:
    """Our tensors under Hugging Face names: the importer's table read backwards (fused q/k/v split again)."""
    from core.io import SafetensorsFile
    from zoo.importers.hf_folder import BERT
    weights = SafetensorsFile(folder / "model.safetensors")
    out: dict[str, np.ndarray] = {}
    for ours, spec in BERT.parameters(config).items():
        array = np.asarray(weights.array(ours), dtype=np.float32)
        if array.shape != spec.shape:
            raise HubError(f"{folder / 'model.safetensors'}: {ours} has shape {array.shape}, the config implies "
                           f"{spec.shape}")
        for part, name in zip(np.split(array, len(spec.sources), axis=0), spec.sources):
            out[name] = np.ascontiguousarray(part)
    return out


def _tokenizer_files(folder: Path, config: dict) -> dict[str, str]:
    tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    normalizer = tokenizer.get("normalizer") or {}
    vocab = (tokenizer.get("model") or {}).get("vocab") or {}
    special = {key: token for key, token in (("unk_token", "[UNK]"), ("sep_token", "[SEP]"), ("pad_token", "[PAD]"),
                                             ("cls_token", "[CLS]"), ("mask_token", "[MASK]")) if token in vocab}
    tokenizer_config = {"tokenizer_class": "BertTokenizer", "do_lower_case": bool(normalizer.get("lowercase")),
                        "model_max_length": config.get("max_length", 512), "clean_up_tokenization_spaces": True,
                        **special}
    return {"tokenizer_config.json": json.dumps(tokenizer_config, indent=2) + "\n",
            "special_tokens_map.json": json.dumps(special, indent=2) + "\n"}


def _sentence_transformers_files(config: dict) -> dict[str, str]:
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if config.get("normalize"):
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize",
                        "type": "sentence_transformers.models.Normalize"})
    pooling = {"word_embedding_dimension": config["hidden_size"],
               "pooling_mode_cls_token": config["pooling"] == "cls",
               "pooling_mode_mean_tokens": config["pooling"] == "mean",
               "pooling_mode_max_tokens": config["pooling"] == "max",
               "pooling_mode_mean_sqrt_len_tokens": False}
    return {"modules.json": json.dumps(modules, indent=2) + "\n",
            "1_Pooling/config.json": json.dumps(pooling, indent=2) + "\n",
            "sentence_bert_config.json": json.dumps({"max_seq_length": config["max_length"],
                                                     "do_lower_case": bool(config.get("lowercase"))}, indent=2) + "\n"}


def model_card(info: VersionInfo) -> str:
    """README.md: model-index metadata with our measured results (and their verdicts), then the card's text."""
    require_extra("hf", "the Hugging Face bridge", "huggingface_hub")
    from huggingface_hub import EvalResult, ModelCardData
    results = []
    for v in info.verdicts:
        if v.measured is None:
            continue
        dataset, _, metric = v.benchmark.partition(":")
        dataset_name, _, split = dataset.partition("/")
        results.append(EvalResult(
            task_type="sentence-similarity" if info.task == "text" else info.task, dataset_type=dataset_name,
            dataset_name=dataset_name, dataset_split=split or None, metric_type=metric or v.benchmark,
            metric_value=v.measured, metric_name=f"{metric or v.benchmark} (zoohub {v.verdict}; claimed {v.claimed:g} "
                                                 f"by {v.source})"))
    data = ModelCardData(model_name=info.name, license=(info.license or "").lower() or None,
                         library_name="sentence-transformers", pipeline_tag="sentence-similarity",
                         tags=["zoohub", "sentence-transformers", "feature-extraction"],
                         eval_results=results or None)
    body = info.card or f"# {info.name}\n\n{info.description}\n"
    if body.startswith("---\n") and "\n---\n" in body[4:]:  # a card imported from the Hub has its own metadata
        body = body[4:].split("\n---\n", 1)[1].lstrip("\n")
    provenance = (f"\n\n## Provenance\nExported by zoohub from `{info.ref}` (manifest "
                  f"`sha256:{info.manifest_sha256}`). The model-index results are zoohub's measurements "
                  f"(`zoohub reproduce {info.name}`), each with its verdict against the claimed value.\n")
    return f"---\n{data.to_yaml()}\n---\n\n{body.rstrip()}\n{provenance}"


@user_errors
def export_hf(ref: str, dest: str | os.PathLike) -> Path:
    """Write the version ref names as a Hugging Face folder in dest (created; must be empty if it exists).

    A write that fails part-way leaves dest as it was: a folder the export created is removed, and from a folder
    that existed (empty) the files and folders the export wrote are removed.

    >>> export_hf("text/minilm-l6", "out/minilm")
    PosixPath('out/minilm')
    """
    require_extra("hf", "the Hugging Face bridge", "huggingface_hub")  # the model card needs it: fail before any work
    from hub.browsing import info as version_info_of
    from hub.loading import pull
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise HubError(f"{dest}: not a folder; export into a new or empty folder")
    if dest.exists() and any(dest.iterdir()):
        raise HubError(f"{dest}: not empty; export into a new or empty folder")
    info = version_info_of(ref)
    folder = pull(ref).folder
    config = info.config
    if config.get("architecture") != SENTENCE_ENCODER:
        raise HubError(f"{info.ref}: export --format hf knows the Hugging Face layout of {SENTENCE_ENCODER} models "
                       f"only; {config.get('architecture')!r} has no mapping yet")
    created = not dest.exists()
    written: list[Path] = []
    try:
        dest.mkdir(parents=True, exist_ok=True)
        _write_hf_folder(info, folder, config, dest, written)
    except BaseException as exc:  # nothing half-written stays behind, whatever stopped the export
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        else:
            _remove_written(written)  # only what this export wrote: the folder and anything put there since stay
        if isinstance(exc, OSError):
            raise HubError(f"{dest}: cannot write the export: {exc.strerror or exc}") from exc
        raise
    return dest


def _write_hf_folder(info: Any, folder: Path, config: dict, dest: Path, written: list[Path]) -> None:
    """Write the export into dest, noting in `written` every file and folder before it is made."""
    from core.io import save_arrays
    tensors = _hf_tensors(folder, config)
    written.append(dest / "model.safetensors")  # save_arrays removes its own temp file if it fails
    save_arrays({name: ("F32", array) for name, array in tensors.items()}, dest / "model.safetensors",
                {"format": "pt"})
    texts = {"config.json": json.dumps(_hf_bert_config(config), indent=2) + "\n",
             **_tokenizer_files(folder, config), **_sentence_transformers_files(config),
             "README.md": model_card(info)}
    written.append(dest / "tokenizer.json")
    shutil.copyfile(folder / "tokenizer.json", dest / "tokenizer.json")
    for rel, text in texts.items():
        if not (dest / rel).parent.exists():
            written.append((dest / rel).parent)
            (dest / rel).parent.mkdir(parents=True)
        written.append(dest / rel)
        (dest / rel).write_text(text, encoding="utf-8")


def _remove_written(written: list[Path]) -> None:
    """Remove the files and folders an export noted, newest first, so a folder is empty when its turn comes (one that
    is not, because someone else put a file there, stays)."""
    for path in reversed(written):
        try:
            if path.is_dir() and not path.is_symlink():
                path.rmdir()
            elif os.path.lexists(path):
                path.unlink()
        except OSError:
            pass  # cleaning up after an error: the error is what the user needs to see


def commit_operations(folder: Path) -> list:
    """One CommitOperationAdd per file of an exported folder (each hashes its file for the upload)."""
    require_extra("hf", "the Hugging Face bridge", "huggingface_hub")
    from huggingface_hub import CommitOperationAdd
    operations = [CommitOperationAdd(path_in_repo=path.relative_to(folder).as_posix(), path_or_fileobj=str(path))
                  for path in sorted(folder.rglob("*")) if path.is_file()]
    for op in operations:
        op.upload_info.sha256  # hashed now, while the (temporary) export folder still exists
    return operations


@user_errors
def push_hf(ref: str, repo_id: str, *, private: bool = False, dry_run: bool = False) -> list:
    """Export ref and upload it to the Hub repository repo_id in one commit (token: $HF_TOKEN).

    dry_run=True builds the commit operations and returns them without any network access.
    """
    parse_hf_reference(repo_id)
    with scratch_folder("zoohub-push-") as tmp:
        folder = export_hf(ref, tmp / "export")
        operations = commit_operations(folder)
        if dry_run:
            return operations
        from huggingface_hub import HfApi
        token = os.environ.get("HF_TOKEN")
        if not token:
            raise HubError("push-hf needs a Hugging Face write token in HF_TOKEN")
        api = HfApi(token=token)
        api.create_repo(repo_id, private=private, exist_ok=True)
        api.create_commit(repo_id, operations=operations, commit_message=f"zoohub export of {ref}")
        return operations
