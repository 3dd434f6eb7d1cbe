"""Synthetic revenue for service businesses: what a CRM deal is worth before it closes."""

from __future__ import annotations

from dataclasses import dataclass

from revline.ads.schemas import AdsRules


@dataclass(frozen=True)
class StageInfo:
    """What the CRM's pipeline metadata says about one stage."""

    label: str = ""
    probability: float | None = None
    is_closed: bool = False

    @property
    def is_won(self) -> bool:
        """Closed with certainty: HubSpot marks won stages isClosed with probability 1.0."""
        return self.is_closed and (self.probability or 0.0) >= 1.0


def deal_value(
    stage_id: str, amount_minor: int | None, stage: StageInfo | None, rules: AdsRules
) -> int:
    """A deal's synthetic revenue in minor units under the tenant's value source.

    stage_value: the tenant's configured value of the deal's stage; a won stage without a
    configured value counts the real amount. probability: the stage's win probability times
    the deal amount (or the tenant's expected deal value when the deal has none).
    """
    info = stage or StageInfo()
    if rules.value_source == "stage_value":
        configured = rules.stage_value(stage_id, info.label)
        if configured is not None:
            return configured
        return (amount_minor or 0) if info.is_won else 0
    amount = amount_minor if amount_minor is not None else rules.expected_deal_value_minor
    return int(round((info.probability or 0.0) * amount))


def roas(value_minor: int, spend_minor: int) -> float | None:
    """Return on ad spend; None before any spend (it is undefined, not zero)."""
    return value_minor / spend_minor if spend_minor > 0 else None
