"""The versioned price table: bundled YAML plus `llm_prices` overrides from the settings."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from revline.kernel.config import Settings
from revline.kernel.errors import ConfigError
from revline.kernel.llm.errors import PriceUnknown

_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")


@dataclass(frozen=True, slots=True)
class Price:
    """USD per 1M tokens, which is exactly micro-dollars per token."""

    input: float
    output: float
    source: str = "table"  # table | settings | zero

    def cost_micros(self, prompt_tokens: int, completion_tokens: int) -> int:
        """Cost in integer micro-dollars, rounded up so the ledger never under-reports."""
        return math.ceil(prompt_tokens * self.input + completion_tokens * self.output - 1e-9)

    @property
    def max_per_mtok(self) -> float:
        """The dearer of the two rates, for the price-per-token guard."""
        return max(self.input, self.output)


@dataclass(frozen=True)
class PriceTable:
    """Prices by model; lookups try provider:model, model, then the undated snapshot name."""

    version: str
    prices: dict[str, Price]
    zero_price: frozenset[str]

    @classmethod
    def load(cls, settings: Settings, path: Path | None = None) -> PriceTable:
        """Bundled table (or `path`), with settings overrides and explicit zero prices."""
        if path is None:
            text = resources.files("revline.kernel.llm").joinpath("data/prices.yml").read_text()
            where = "bundled prices.yml"
        else:
            text, where = path.read_text(encoding="utf-8"), str(path)
        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
            raise ConfigError(f"{where}: expected a mapping with 'version' and 'models'")
        prices = {name: _price(where, name, spec) for name, spec in data["models"].items()}
        for name, spec in settings.llm_prices.items():
            prices[name] = _price("llm_prices", name, spec, source="settings")
        return cls(
            version=str(data.get("version", "unversioned")),
            prices=prices,
            zero_price=frozenset(settings.llm_zero_price_models),
        )

    def lookup(self, provider: str, model: str, *, zero_price_provider: bool = False) -> Price:
        """The price of provider:model; unknown prices raise PriceUnknown (never a silent $0)."""
        for name in (f"{provider}:{model}", model):
            if name in self.zero_price or zero_price_provider:
                return Price(0.0, 0.0, "zero")
            found = self.prices.get(name)
            if found is None and _SNAPSHOT.search(name):
                found = self.prices.get(_SNAPSHOT.sub("", name))
            if found is not None:
                return found
        raise PriceUnknown(
            f"no price for {provider}:{model} in price table {self.version}: add "
            f'llm_prices."{model}" = {{input = USD_PER_1M, output = USD_PER_1M}} to revline.toml, '
            f'or list "{model}" in llm_zero_price_models if it is free (a local model)'
        )


def _price(where: str, name: str, spec: Any, source: str = "table") -> Price:
    try:
        price = Price(float(spec["input"]), float(spec["output"]), source)
    except (TypeError, KeyError, ValueError):
        raise ConfigError(
            f"{where}: price of {name!r} needs numeric 'input' and 'output' (USD per 1M tokens)"
        ) from None
    if price.input < 0 or price.output < 0:
        raise ConfigError(f"{where}: price of {name!r} is negative")
    return price
