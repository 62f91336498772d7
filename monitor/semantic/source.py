"""Where a model's files come from: a local directory, or a Hugging Face hub name fetched once into a cache.

A model is ``model.onnx`` (sentence-transformers layout: token states out, ``last_hidden_state``) and
``tokenizer.json``. A hub name (``owner/name``) needs a pinned ``revision`` (a 40-hex commit: a branch could
change under a running daemon); the files are fetched once into ``cache_dir`` (huggingface_hub's cache, reused
offline) from ``onnx/model.onnx`` or, failing that, ``model.onnx``. Given ``sha256``, the model file's digest must
equal it, for a directory and a hub model alike.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import ConfigError

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")
COMMIT = re.compile(r"[0-9a-f]{40}")
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class ModelFiles:
    """The two files of a model, found on disk."""

    model: Path
    tokenizer: Path

    @property
    def sha256(self) -> str:
        return file_sha256(self.model)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_hub_name(model: str) -> bool:
    return HUB_NAME.fullmatch(model) is not None


def locate(model: str, *, base: Path, revision: str | None = None, sha256: str | None = None,
           cache_dir: Path | None = None) -> ModelFiles:
    """The files of ``model``: a directory (relative to ``base``, the config's folder), else a hub name fetched
    at ``revision`` into ``cache_dir``. ConfigError saying what is missing or wrong; checks ``sha256`` if given."""
    directory = (base / Path(model).expanduser()).resolve()
    if directory.is_dir():
        files = _in_directory(directory)
    elif is_hub_name(model) and revision:
        files = _from_hub(model, revision, cache_dir)
    elif is_hub_name(model):
        raise ConfigError(f"semantic.model: no directory {directory}; to fetch {model!r} from the Hugging Face hub, "
                          "pin semantic.revision to a commit (40 hex digits)")
    else:
        raise ConfigError(f"semantic.model: no model directory at {directory}")
    if sha256 and files.sha256 != sha256.lower():
        raise ConfigError(f"semantic.sha256: {files.model} has sha256 {files.sha256}, not the pinned {sha256.lower()}")
    return files


def _in_directory(directory: Path) -> ModelFiles:
    files = ModelFiles(directory / MODEL_FILE, directory / TOKENIZER_FILE)
    absent = [p.name for p in (files.model, files.tokenizer) if not p.is_file()]
    if absent:
        raise ConfigError(f"semantic.model: {directory} has no {' and no '.join(absent)} (a model directory holds "
                          f"{MODEL_FILE} and {TOKENIZER_FILE})")
    return files


def _from_hub(name: str, revision: str, cache_dir: Path | None) -> ModelFiles:
    """Fetch (or find in the cache) the two files at ``revision``."""
    if not COMMIT.fullmatch(revision):
        raise ConfigError(f"semantic.revision: must be a commit (40 hex digits), got {revision!r}")
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError
    except ImportError as exc:
        from monitor.semantic.deps import INSTALL_HINT
        raise ConfigError(f"semantic.model: fetching from the hub needs huggingface_hub: {INSTALL_HINT}") from exc

    def fetch(filename: str) -> Path:
        return Path(hf_hub_download(name, filename, revision=revision,
                                    cache_dir=str(cache_dir) if cache_dir else None))
    try:
        try:
            model = fetch(f"onnx/{MODEL_FILE}")
        except EntryNotFoundError:
            model = fetch(MODEL_FILE)
        return ModelFiles(model, fetch(TOKENIZER_FILE))
    except Exception as exc:  # noqa: BLE001 - offline, unknown repo or revision, a full disk: one clear problem
        raise ConfigError(f"semantic.model: cannot fetch {name!r} at revision {revision[:12]} from the Hugging Face "
                          f"hub ({type(exc).__name__}); fetch it once where the hub is reachable, or give a model "
                          "directory") from exc
