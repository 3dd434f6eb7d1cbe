"""The embedder: identity without loading, lazy weights, the single-query fast path, and
the ONNX Runtime export (checked against PyTorch, never used when it disagrees)."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from revline.kernel.config import Settings
from revline.kernel.errors import ConfigError
from revline.knowledge import embed_onnx
from revline.knowledge.embed import Embedder, get_embedder, model_identity


def test_identity_is_known_without_loading_the_model() -> None:
    identity = model_identity(Settings())
    assert identity.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert len(identity.sha256) == 64
    assert identity.dim == 384
    fresh = Embedder(identity)
    assert not fresh.loaded  # building an embedder reads no weights
    with pytest.raises(ConfigError, match="neither"):
        model_identity(Settings(kb_embed_model="/no/such/model"))


def test_fast_single_query_path_equals_batched_encoding(embedder: Embedder) -> None:
    texts = ["how do I reset the widget", "x", "word " * 400]
    batched = embedder.embed(texts)
    for text, row in zip(texts, batched, strict=True):
        single = embedder.embed_one(text)
        assert single.dtype == np.float32
        assert single.shape == (384,)
        assert float(np.dot(single, row)) == pytest.approx(1.0, abs=1e-5)
    assert float(np.linalg.norm(batched[0])) == pytest.approx(1.0, abs=1e-5)
    assert embedder.embed([]).shape == (0, 384)
    assert get_embedder(Settings()) is embedder


def test_onnx_runtime_gives_the_pytorch_vectors(embedder: Embedder) -> None:
    """The default embedder runs on ONNX Runtime; its vectors equal sentence-transformers'."""
    assert embedder.runtime_in_use == "onnx"
    torch_embedder = Embedder(embedder.identity, runtime="torch")
    texts = ["list directory contents", "Résumé: 東京 🚀", "word " * 400, "x"]
    got, want = embedder.embed(texts), torch_embedder.embed(texts)
    assert torch_embedder.runtime_in_use == "torch"
    assert float(np.abs(got - want).max()) < 1e-4
    for text, row in zip(texts, want, strict=True):
        assert float(np.dot(embedder.embed_one(text), row)) == pytest.approx(1.0, abs=1e-5)
        # PyTorch's single-text fast path agrees with its own batched encoding too.
        assert float(np.dot(torch_embedder.embed_one(text), row)) == pytest.approx(1.0, abs=1e-5)


def _model_copy(tmp_path: Path, pooling: str) -> Path:
    """The packaged model's files (weights linked, not copied) with another pooling mode."""
    source = model_identity(Settings()).path
    target = tmp_path / "model"
    shutil.copytree(source, target, copy_function=os.symlink)
    config = target / "1_Pooling" / "config.json"
    values = json.loads(config.read_text(encoding="utf-8"))
    config.unlink()
    for key in list(values):
        if key.startswith("pooling_mode"):
            values[key] = key == f"pooling_mode_{pooling}"
    config.write_text(json.dumps(values), encoding="utf-8")
    return target


def test_a_layout_onnx_cannot_reproduce_stays_on_pytorch_or_is_refused(tmp_path: Path) -> None:
    model_dir = _model_copy(tmp_path, "cls_token")
    identity = model_identity(Settings(kb_embed_model=str(model_dir)))
    forced = Embedder(identity, runtime="onnx", cache_dir=tmp_path / "cache")
    with pytest.raises(ConfigError, match="kb_embed_runtime is 'onnx' but the model is not"):
        forced.embed_one("hello")
    auto = Embedder(identity, runtime="auto", cache_dir=tmp_path / "cache")
    assert auto.embed_one("hello").shape == (384,)
    assert auto.runtime_in_use == "torch"
    assert not (tmp_path / "cache").exists()  # nothing was exported


def test_an_export_that_disagrees_with_pytorch_is_not_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(embed_onnx, "MAX_DIFF", -1.0)  # no export can pass the check now
    identity = model_identity(Settings())
    auto = Embedder(identity, runtime="auto", cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.WARNING, logger="revline.knowledge.embed"):
        assert auto.embed_one("hello").shape == (384,)
    assert auto.runtime_in_use == "torch"
    assert "exported model differs from PyTorch" in caplog.text
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [f"{identity.sha256}.lock"]
    monkeypatch.setattr(embed_onnx, "MAX_DIFF", 1e-4)
    fresh = Embedder(identity, runtime="onnx", cache_dir=tmp_path / "cache")
    assert fresh.embed_one("hello").shape == (384,)
    assert fresh.runtime_in_use == "onnx"
    assert (tmp_path / "cache" / f"{identity.sha256}-v{embed_onnx.EXPORT_VERSION}.onnx").is_file()
