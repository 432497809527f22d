"""Money: exact Decimals, ISO 4217 currencies, and half-even rounding to the currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache

from babel.numbers import get_currency_precision, list_currencies

from storyline_domain.errors import ValidationError


@cache
def minor_unit(currency: str) -> int:
    """Decimals of the currency's minor unit (EUR 2, JPY 0, BHD 3), from CLDR via babel."""
    if currency not in list_currencies():
        raise ValidationError(f"{currency!r} is not an ISO 4217 currency code, like EUR", field="currency")
    return int(get_currency_precision(currency))


def parse_money(value: object, field: str) -> Decimal:
    """An exact amount from its decimal string; numbers are refused, since a float has already lost digits."""
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError(f'{value!r} is not a decimal amount, like "1250.00"', field=field) from None
    else:
        raise ValidationError(
            f'an amount is sent as a decimal string, like "1250.00", not as {type(value).__name__}',
            field=field,
        )
    if not parsed.is_finite():
        raise ValidationError(f'{value!r} is not a decimal amount, like "1250.00"', field=field)
    return parsed


def round_money(value: Decimal, currency: str) -> Decimal:
    """Half-even to the currency's minor unit: the one rounding every computed figure gets."""
    return value.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_EVEN)


def money_text(value: Decimal) -> str:
    """The exact string of an amount, never in exponent notation."""
    return format(value, "f")
