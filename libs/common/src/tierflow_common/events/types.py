"""Constrained scalar types shared by every event payload."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema

MONEY_PATTERN = r"^-?[0-9]{1,16}(\.[0-9]{1,4})?$"
QUANTITY_PATTERN = r"^-?[0-9]{1,16}(\.[0-9]{1,8})?$"


def _decimal_from_string(places: int) -> Any:
    def parse(value: Any) -> Decimal:
        if isinstance(value, Decimal):
            return value
        if not isinstance(value, str):
            # Floats lose cents silently; the contract says money is a decimal string.
            raise ValueError('must be a decimal string such as "1234.56", not a JSON number')
        try:
            parsed = Decimal(value)
        except InvalidOperation as exc:
            raise ValueError("is not a decimal number") from exc
        if not parsed.is_finite():
            raise ValueError("must be finite")
        exponent = parsed.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            raise ValueError(f"has more than {places} decimal places; rounding is never silent")
        return parsed

    return parse


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_decimal_from_string(4)),
    PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "description": "CNY amount as a decimal string"}),
]
"""A signed CNY amount carried as a decimal string with at most 4 decimal places."""

NonNegativeMoney = Annotated[Money, AfterValidator(_non_negative)]

Quantity = Annotated[
    Decimal,
    BeforeValidator(_decimal_from_string(8)),
    AfterValidator(_non_negative),
    PlainSerializer(lambda v: format(v, "f"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": QUANTITY_PATTERN, "description": "decimal string"}),
]

CustomerId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$",
        description="Pseudonymous customer identifier; never a name, phone number or ID number.",
        examples=["C000123"],
    ),
]

OpaqueId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:/-]+$")]
