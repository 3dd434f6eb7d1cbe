"""Money as integer minor units: parsing decimal amounts and formatting them per currency."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from revline.kernel.errors import InvalidInput

# ISO 4217 currencies whose minor unit is not 1/100 (Meta uses the same offsets for budgets).
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND",
         "VUV", "XAF", "XOF", "XPF"),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


def normalize_currency(code: str) -> str:
    """Upper-case three-letter code, or InvalidInput."""
    value = (code or "").strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise InvalidInput(f"currency must be a 3-letter ISO code like USD, got {code!r}")
    return value


def exponent(currency: str) -> int:
    """Digits after the decimal point for the currency (2 unless listed)."""
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(amount: str | int | float | Decimal, currency: str) -> int:
    """A decimal amount in major units ("1500.00", 1500) as minor units, banker's rounding."""
    try:
        value = Decimal(str(amount).strip().replace(",", ""))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"amount {amount!r} is not a number") from exc
    if not value.is_finite():
        raise InvalidInput(f"amount {amount!r} is not a finite number")
    scaled = (value * (Decimal(10) ** exponent(currency))).quantize(
        Decimal(1), rounding=ROUND_HALF_EVEN
    )
    return int(scaled)


def from_minor(minor: int, currency: str) -> Decimal:
    """Minor units back to a Decimal amount in major units."""
    return Decimal(minor) / (Decimal(10) ** exponent(currency))


def fmt(minor: int | None, currency: str) -> str:
    """Human form, e.g. 225000 USD -> '2,250.00 USD'."""
    if minor is None:
        return "-"
    digits = exponent(currency)
    return f"{from_minor(minor, currency):,.{digits}f} {currency.upper()}"
