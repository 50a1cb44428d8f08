"""Input and output shapes of the auth endpoints."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.serializers import (
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
    TokenVerifySerializer,
)
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken, UntypedToken

from core.serializers import (
    CurrencyCodeField,
    StrictFieldsMixin,
    StrictModelSerializer,
    StrictSerializer,
)

from .models import BaseCurrencyChange, User
from .services import base_currency_change_latest, password_reset_user

ALREADY_REVOKED = "Token is invalid, expired or already revoked."


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(list(exc.messages)) from None


class BaseCurrencyChangeSerializer(serializers.ModelSerializer):
    """A base-currency change of the personal book handed to the task queue (books over
    BASE_CURRENCY_SYNC_MAX_ROWS records); `error` says why a `failed` one changed nothing."""

    class Meta:
        model = BaseCurrencyChange
        fields = ["id", "status", "from_currency", "to_currency", "error"]
        read_only_fields = fields


class UserSerializer(StrictModelSerializer):
    """The user's own profile (`/auth/me/`)."""

    roles = serializers.SerializerMethodField()
    base_currency_change = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "base_currency",
            "timezone",
            "month_start_day",
            "roles",
            "date_joined",
            "base_currency_change",
        ]
        read_only_fields = ["id", "username", "roles", "date_joined", "base_currency_change"]
        extra_kwargs = {"email": {"required": False}}

    def get_roles(self, obj: User) -> list[str]:
        return sorted(group.name for group in obj.groups.all())

    @extend_schema_field(BaseCurrencyChangeSerializer(allow_null=True))
    def get_base_currency_change(self, obj: User) -> dict[str, Any] | None:
        """The latest queued base-currency change (null if there never was one)."""
        change = base_currency_change_latest(user=obj)
        return None if change is None else BaseCurrencyChangeSerializer(change).data

    def validate_email(self, value: str) -> str:
        value = value.strip()
        others = User.objects.filter(email__iexact=value)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError("A user with that email already exists.")
        return value


class RegisterSerializer(StrictModelSerializer):
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    base_currency = CurrencyCodeField(max_length=3, required=False)

    class Meta:
        model = User
        fields = ["username", "email", "password", "base_currency"]
        extra_kwargs = {"email": {"required": True, "allow_blank": False}}

    def validate_username(self, value: str) -> str:
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("A user with that username already exists.")
        return value

    def validate_email(self, value: str) -> str:
        value = value.strip()
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("A user with that email already exists.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        candidate = User(username=attrs.get("username", ""), email=attrs.get("email", ""))
        try:
            _validate_password(attrs["password"], candidate)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"password": exc.detail}) from None
        return attrs


class PasswordSerializer(StrictSerializer):
    """Confirms the account's current password (account deletion)."""

    password = serializers.CharField(write_only=True, style={"input_type": "password"})

    def validate_password(self, value: str) -> str:
        if not self.context["request"].user.check_password(value):
            raise serializers.ValidationError("Password is incorrect.")
        return value


class PasswordChangeSerializer(StrictSerializer):
    old_password = serializers.CharField(write_only=True, style={"input_type": "password"})
    new_password = serializers.CharField(write_only=True, style={"input_type": "password"})

    def validate_old_password(self, value: str) -> str:
        if not self.context["request"].user.check_password(value):
            raise serializers.ValidationError("Password is incorrect.")
        return value

    def validate_new_password(self, value: str) -> str:
        _validate_password(value, self.context["request"].user)
        return value


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class PasswordChangedSerializer(TokenPairSerializer):
    detail = serializers.CharField()


class PasswordResetSerializer(StrictSerializer):
    email = serializers.EmailField()


class PasswordResetConfirmSerializer(StrictSerializer):
    uid = serializers.CharField()
    token = serializers.CharField()
    new_password = serializers.CharField(write_only=True, style={"input_type": "password"})

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            user = password_reset_user(uid=attrs["uid"], token=attrs["token"])
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        try:
            _validate_password(attrs["new_password"], user)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"new_password": exc.detail}) from None
        attrs["user"] = user
        return attrs


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class LoginSerializer(StrictFieldsMixin, TokenObtainPairSerializer):
    """`username` may be the username or the email address (see the auth backend)."""


class RefreshSerializer(StrictFieldsMixin, TokenRefreshSerializer):
    """Checks the refresh token (signature, type, expiry, blacklist): 401 if unusable.

    Rotation itself, which must be atomic, is `services.refresh_token_rotate`.
    """

    refresh = serializers.CharField(write_only=True)
    access = serializers.CharField(read_only=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            return {"refresh": RefreshToken(attrs["refresh"])}
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from None


class RefreshResponseSerializer(TokenPairSerializer):
    pass


class VerifySerializer(StrictFieldsMixin, TokenVerifySerializer):
    """A token is valid only if the API would accept it: 401 (not 400) for a bad
    signature or expiry, a blacklisted token, or one whose user is gone or inactive."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        try:
            token = UntypedToken(attrs["token"])
        except TokenError as exc:
            raise InvalidToken(exc.args[0]) from None
        jti = token.get(jwt_settings.JTI_CLAIM)
        if BlacklistedToken.objects.filter(token__jti=jti).exists():
            raise InvalidToken("Token is blacklisted")
        user_id = str(token.get(jwt_settings.USER_ID_CLAIM, ""))
        if not (user_id.isdigit() and User.objects.filter(pk=user_id, is_active=True).exists()):
            raise InvalidToken("No active account found for the given token.")
        return {}


class LogoutSerializer(StrictSerializer):
    refresh = serializers.CharField(write_only=True)

    def validate_refresh(self, value: str) -> RefreshToken:
        try:
            token = RefreshToken(value)
        except TokenError:
            raise serializers.ValidationError(ALREADY_REVOKED) from None
        user = self.context["request"].user
        if str(token.payload.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
            raise serializers.ValidationError(ALREADY_REVOKED)
        return token
