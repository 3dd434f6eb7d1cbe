"""The embedder: identity without loading, lazy weights, the single-query fast path."""

from __future__ import annotations

import numpy as np
import pytest

from revline.kernel.config import Settings
from revline.kernel.errors import ConfigError
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
