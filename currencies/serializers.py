"""Input and output shapes of the currency, rate and conversion endpoints."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers
from rest_framework.validators import UniqueTogetherValidator

from core.money import MAX_AMOUNT, MoneyParseError, minor_units, parse_money
from core.serializers import BoundedDateField, MoneyField, StrictModelSerializer
from core.serializers import CurrencyCodeField as BaseCurrencyCodeField

from .models import MAX_RATE, MIN_RATE, RATE_RANGE_MESSAGE, ExchangeRate
from .services import DUPLICATE_RATE


class RateField(serializers.DecimalField):
    """An exchange rate as a string without insignificant trailing zeros ("1.0876")."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 24)
        kwargs.setdefault("decimal_places", 10)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        # The project's one number grammar (no exponents or separators), then the
        # column's digit and decimal-place limits.
        try:
            number = parse_money(data)
        except MoneyParseError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None
        return super().to_internal_value(number)

    def to_representation(self, value: Decimal) -> str:
        return format(Decimal(value).normalize(), "f")


class CurrencyCodeField(BaseCurrencyCodeField):
    """Exactly three letters, as rates and conversions take them."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_length", 3)
        kwargs.setdefault("max_length", 3)
        super().__init__(**kwargs)


class CurrencySerializer(serializers.Serializer):
    """An ISO 4217 currency the API accepts."""

    code = serializers.CharField(help_text="ISO 4217 alphabetic code, e.g. EUR.")
    name = serializers.CharField()
    numeric = serializers.IntegerField(help_text="ISO 4217 numeric code, e.g. 978.")
    minor_units = serializers.IntegerField(
        help_text="Decimal places amounts in this currency may have (0 for JPY, 3 for KWD)."
    )


class ExchangeRateSerializer(StrictModelSerializer):
    """`rate` units of `quote` buy one unit of `base` on `date`."""

    base = CurrencyCodeField(help_text="The currency one unit of which `rate` prices.")
    quote = CurrencyCodeField(help_text="The currency `rate` is expressed in.")
    date = BoundedDateField()
    rate = RateField(help_text="Units of `quote` that buy one unit of `base`; more than 0.")

    class Meta:
        model = ExchangeRate
        fields = ["id", "base", "quote", "date", "rate", "source", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = [
            UniqueTogetherValidator(
                queryset=ExchangeRate.objects.all(),
                fields=["base", "quote", "date"],
                message=DUPLICATE_RATE,
            )
        ]

    def validate_rate(self, value: Decimal) -> Decimal:
        if value <= 0:
            raise serializers.ValidationError("Must be more than 0.")
        # The range that keeps every conversion of an allowed amount storable.
        if not MIN_RATE <= value <= MAX_RATE:
            raise serializers.ValidationError(RATE_RANGE_MESSAGE, code="rate_out_of_range")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        base = attrs.get("base", getattr(self.instance, "base", None))
        quote = attrs.get("quote", getattr(self.instance, "quote", None))
        if base and base == quote:
            raise serializers.ValidationError({"quote": ["Must differ from base."]})
        return super().validate(attrs)


class _FromFieldMixin:
    # `from` is a Python keyword, so serializers declare that field as `from_`.

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # type: ignore[misc]
        return {("from" if name == "from_" else name): field for name, field in fields.items()}


class ConvertQuerySerializer(_FromFieldMixin, serializers.Serializer):
    """The query of `/convert/`."""

    amount = MoneyField()
    from_ = CurrencyCodeField()
    to = CurrencyCodeField()
    date = BoundedDateField(required=False)

    def validate_amount(self, value: Decimal) -> Decimal:
        if value <= 0:
            raise serializers.ValidationError("Must be a positive decimal (more than 0).")
        if value > MAX_AMOUNT:
            raise serializers.ValidationError(f"Must be at most {MAX_AMOUNT}.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        places = minor_units(attrs["from"])
        if -attrs["amount"].normalize().as_tuple().exponent > places:
            raise serializers.ValidationError(
                {"amount": [f"{attrs['from']} amounts have at most {places} decimal places."]}
            )
        return attrs


def _decimal(help_text: str) -> serializers.DecimalField:
    # No fixed places: each amount is already rounded to its own currency.
    return serializers.DecimalField(
        max_digits=None, decimal_places=None, read_only=True, help_text=help_text
    )


class ConversionSerializer(_FromFieldMixin, serializers.Serializer):
    """An amount converted with the latest rate on or before `date`."""

    amount = _decimal("The amount converted, in `from`.")
    from_ = serializers.CharField(read_only=True, help_text="Currency of `amount`.")
    to = serializers.CharField(read_only=True, help_text="Currency of `result`.")
    date = serializers.DateField(read_only=True, help_text="The date the conversion is for.")
    rate = RateField(read_only=True, help_text="Units of `to` for one unit of `from`.")
    rate_date = serializers.DateField(
        read_only=True,
        allow_null=True,
        help_text="Date of the (oldest) stored rate used: on or before `date`; "
        "null when `from` equals `to`.",
    )
    result = _decimal("`amount` in `to`, rounded half up to its minor units.")
