"""The embedding model on ONNX Runtime: an export of the packaged weights, cached by hash.

Why: a query's embedding is the largest part of a search. ONNX Runtime runs MiniLM about
twice as fast as PyTorch for one short text and needs neither torch nor transformers in the
process once the export exists. The export is made once per weights sha256 (PyTorch's
exporter, from the same offline weights), checked against the PyTorch model on probe texts
before it is used, and published atomically, so a crash or a concurrent process never sees
half a file. Anything unexpected (another model layout, no onnxruntime, a failed check)
raises, and the embedder says so once and keeps PyTorch.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from revline.kernel.filelock import exclusive

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]
EXPORT_VERSION = 1  # bump when the exported graph changes
PROBES = (
    "list directory contents",
    "How do I reset the widget after a failed firmware update?",
    "Résumé des tâches: 東京 タスク, émojis 🚀 and numbers 12,345.67",
    "word " * 300,  # longer than the model's window: checks truncation
)
MAX_DIFF = 1e-4  # largest accepted element difference to PyTorch on the probes


def supported(model_dir: Path) -> bool:
    """Transformer + mean pooling (+ optional normalize): the layout the export reproduces."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text(encoding="utf-8"))
        kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return False
    modes = [key for key, on in pooling.items() if key.startswith("pooling_mode") and on is True]
    return (
        kinds in (["Transformer", "Pooling", "Normalize"], ["Transformer", "Pooling"])
        and modes == ["pooling_mode_mean_tokens"]
        and (model_dir / "tokenizer.json").is_file()
    )


def max_seq_length(model_dir: Path) -> int:
    """The window sentence-transformers truncates to (its config, else 512)."""
    try:
        config = json.loads((model_dir / "sentence_bert_config.json").read_text("utf-8"))
        return int(config.get("max_seq_length") or 512)
    except (OSError, ValueError):
        return 512


class OnnxEncoder:
    """Tokenizer + ONNX transformer + mean pooling + L2 normalization, all off torch."""

    def __init__(self, onnx_path: Path, model_dir: Path, threads: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()  # the shipped file pads to 128; we pad per batch
        self.tokenizer.enable_truncation(max_seq_length(model_dir))
        self._sessions: dict[int, Any] = {}
        self._ort = ort
        self._path = onnx_path
        self._threads = threads
        self._inputs = {i.name for i in self._session(1).get_inputs()}

    def _session(self, threads: int) -> Any:
        """One session per thread count: 1 for queries (the other core serves BM25), all
        cores for ingestion batches. Sessions are thread-safe."""
        session = self._sessions.get(threads)
        if session is None:
            options = self._ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            session = self._ort.InferenceSession(
                str(self._path), options, providers=["CPUExecutionProvider"]
            )
            self._sessions[threads] = session
        return session

    def _run(self, ids: list[list[int]], threads: int) -> Vectors:
        width = max(len(row) for row in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        hidden = self._session(threads).run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        out: Vectors = (pooled / norms).astype(np.float32)
        return out

    def encode_one(self, text: str) -> Vectors:
        """One query vector (1-D) on a single intra-op thread."""
        row: Vectors = self._run([self.tokenizer.encode(text).ids], threads=1)[0]
        return row

    def encode(self, texts: list[str], batch_size: int) -> Vectors:
        """Batches of similar length (less padding), rows returned in input order."""
        encoded = [e.ids for e in self.tokenizer.encode_batch(texts)]
        order = sorted(range(len(texts)), key=lambda i: -len(encoded[i]))
        out = np.zeros((len(texts), 0), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            vectors = self._run([encoded[i] for i in chunk], threads=self._threads)
            if out.shape[1] == 0:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[chunk] = vectors
        return out


def default_cache_dir() -> Path:
    """Where exports live unless configured: shared by every REVLINE_HOME, one file per
    weights hash (XDG cache convention)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "revline" / "models"


def load(model_dir: Path, sha256: str, folder: Path, threads: int) -> OnnxEncoder:
    """The cached export for these weights, made on first use.

    Raises RuntimeError saying why when this model cannot run here on ONNX Runtime."""
    if not supported(model_dir):
        raise RuntimeError("the model is not a transformer with mean pooling")
    try:
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        raise RuntimeError("onnxruntime is not installed") from exc
    target = folder / f"{sha256}-v{EXPORT_VERSION}.onnx"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        with exclusive(folder / f"{sha256}.lock"):
            if not target.is_file():
                log.info("exporting the embedding model to ONNX (once): %s", target)
                _export(model_dir, target)
    return OnnxEncoder(target, model_dir, threads)


def quiet_offline_hf() -> None:
    """Never reach for the Hugging Face hub (the weights ship with the package), and keep
    its progress bars and notices off the user's terminal."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]


def _export(model_dir: Path, target: Path) -> None:
    """Export with PyTorch, check against PyTorch on the probes, then publish atomically."""
    import inspect
    import warnings

    quiet_offline_hf()
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_dir)).eval()
    with_types = "token_type_ids" in inspect.signature(model.forward).parameters

    class Hidden(torch.nn.Module):
        """Keyword call of the transformer, returning the last hidden state only."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: Any) -> Any:
            names = ["input_ids", "attention_mask", "token_type_ids"][: len(args)]
            return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if with_types else [])
    sample = tuple(torch.ones((1, 8), dtype=torch.int64) for _ in names)
    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
    partial = target.with_suffix(f".{os.getpid()}.partial")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about the model's Python branches
            torch.onnx.export(
                Hidden(model), sample, str(partial), input_names=names,
                output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17,
                dynamo=False,
            )
        _check(partial, model_dir)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _check(candidate: Path, model_dir: Path) -> None:
    """Refuse an export whose vectors differ from PyTorch's (sentence-transformers)."""
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(model_dir), device="cpu").encode(
        list(PROBES), convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
    )
    got = OnnxEncoder(candidate, model_dir, threads=1).encode(list(PROBES), batch_size=2)
    diff = float(np.abs(got - np.asarray(reference, dtype=np.float32)).max())
    if not diff <= MAX_DIFF:
        raise RuntimeError(f"exported model differs from PyTorch by {diff:.2g}")
