"""Identity hashing for attribution: SHA-256 of a normalized email or phone, never the raw value.

Ads-local on purpose: the leads domain's validator is richer (disposable lists, MX) but is not
part of its public service, and attribution only needs one stable spelling per person.
"""

from __future__ import annotations

import hashlib

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from revline.kernel.errors import InvalidInput


def sha256_hex(value: str) -> str:
    """Lower-case hex SHA-256 of UTF-8 text (the format ad platforms' matching APIs use)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalize_email(raw: str) -> str:
    """Lower-cased, syntax-checked address; Gmail dots and +tags removed so aliases match."""
    text = raw.strip().strip("<>").strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidInput(f"email {raw!r} is not a valid address: {exc}") from exc
    local, domain = info.local_part.lower(), info.domain.lower()
    if domain in ("gmail.com", "googlemail.com"):
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def normalize_phone(raw: str, region: str = "US") -> str:
    """E.164 form (+14155550100); numbers without a country code use `region`."""
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"phone {raw!r} is not a phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidInput(f"phone {raw!r} has the wrong length for region {region}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def email_hash(raw: str | None) -> str | None:
    """Hash of the normalized email, None when absent."""
    return sha256_hex(normalize_email(raw)) if raw and raw.strip() else None


def phone_hash(raw: str | None, region: str = "US") -> str | None:
    """Hash of the E.164 phone, None when absent."""
    return sha256_hex(normalize_phone(raw, region)) if raw and raw.strip() else None


def opaque_hash(raw: str | None) -> str | None:
    """Hash of an IP address or user agent as given (trimmed), None when absent."""
    return sha256_hex(raw.strip()) if raw and raw.strip() else None
