"""Settings: env beats revline.toml, secrets are masked, bad config is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from revline.kernel.config import get_settings, mask_url
from revline.kernel.errors import ConfigError


def test_env_overrides_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "revline.toml").write_text('http_timeout_s = 3.5\nuser_agent = "from-toml"\n')
    monkeypatch.setenv("REVLINE_USER_AGENT", "from-env")
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.http_timeout_s == 3.5
    assert settings.user_agent == "from-env"


def test_defaults_live_under_home(revline_home: Path) -> None:
    settings = get_settings()
    assert settings.home == revline_home
    assert settings.effective_database_url == f"sqlite:///{revline_home / 'revline.db'}"
    assert settings.effective_broker_url.startswith("sqla+sqlite:///")
    assert settings.mockup_for_tier(1) is False
    assert settings.mockup_for_tier(2) is True


def test_secrets_and_url_passwords_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVLINE_OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("REVLINE_DATABASE_URL", "postgresql://app:hunter2@db:5432/revline")
    get_settings.cache_clear()
    shown = str(get_settings().masked())
    assert "sk-very-secret" not in shown
    assert "hunter2" not in shown
    assert "postgresql://app:***@db:5432/revline" in shown


def test_broken_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "revline.toml").write_text("http_timeout_s = [unclosed\n")
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="invalid configuration"):
        get_settings()


def test_wrong_type_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVLINE_HTTP_TIMEOUT_S", "soon")
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="http_timeout_s"):
        get_settings()


def test_mask_url_leaves_passwordless_urls() -> None:
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert mask_url("postgresql://u@h/db") == "postgresql://u@h/db"
