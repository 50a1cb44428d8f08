"""Auth endpoints of SPEC §4. Views validate and delegate to users.services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView, TokenVerifyView

from core.schema import ErrorSerializer, request_example
from core.throttling import ScopedAuthThrottle

from . import services
from .serializers import (
    ALREADY_REVOKED,
    DetailSerializer,
    LoginSerializer,
    LogoutSerializer,
    PasswordChangedSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    PasswordSerializer,
    RefreshResponseSerializer,
    RefreshSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
    VerifySerializer,
)
from .tasks import base_currency_change_task

RESET_SENT = "If an account with that email exists, a reset message has been sent to it."

# The demo account of `manage.py seed_demo` (what `make run` creates), so the examples
# work as given in Swagger's "Try it out".
DEMO_LOGIN = {"username": "demo", "password": "demo-budget-2026"}
THROTTLED = " Throttled per client address (429)."


INVALID_TOKEN = OpenApiResponse(
    response=ErrorSerializer, description="The token is invalid, expired or blacklisted."
)


class AnonymousThrottledMixin:
    """Open endpoints: no authentication attempted, throttled per client address."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedAuthThrottle]


@extend_schema(tags=["auth"])
class RegisterView(AnonymousThrottledMixin, generics.GenericAPIView):
    serializer_class = RegisterSerializer
    throttle_scope = "register"

    @extend_schema(
        request=RegisterSerializer,
        responses={201: UserSerializer},
        auth=[],
        summary="Create an account",
        description=(
            "Username and email must be unique (case-insensitively); the password must pass "
            "Django's password validators. `base_currency` (default from settings) is what "
            "budgets, goals and reports are in. Then get tokens with `POST /auth/token/`."
            + THROTTLED
        ),
        examples=[
            request_example(
                {
                    "username": "alex",
                    "email": "alex@example.com",
                    "password": "plum-orbit-lantern-42",
                    "base_currency": "EUR",
                }
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["auth"],
    responses={200: TokenPairSerializer, 401: OpenApiResponse(description="Bad credentials")},
    summary="Log in: get an access and a refresh token",
    description=(
        "`username` may also be the email address. Send the `access` token as "
        "`Authorization: Bearer <access>` (Swagger UI: the Authorize button takes the token, "
        "not the password); when it expires, get a new pair from `POST /auth/token/refresh/`."
        + THROTTLED
    ),
    examples=[request_example(DEMO_LOGIN, name="Demo account")],
)
class LoginView(TokenObtainPairView):
    """Obtain an access/refresh pair; `username` may also be the email address."""

    serializer_class = LoginSerializer
    throttle_classes = [ScopedAuthThrottle]
    throttle_scope = "login"


@extend_schema(
    tags=["auth"],
    responses={200: RefreshResponseSerializer, 401: INVALID_TOKEN},
    summary="Exchange a refresh token for a new pair",
    description=(
        "Refresh tokens rotate: the one sent is blacklisted and a new `refresh` comes back "
        "with the new `access`. A refresh token works once; of concurrent uses exactly one "
        "succeeds, the others get 401."
    ),
    examples=[request_example({"refresh": "<the refresh token from POST /auth/token/>"})],
)
class RefreshView(TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token is blacklisted.

    A refresh token works once: of concurrent refreshes (or a refresh and a logout) with
    the same token exactly one succeeds, the others get 401 (or 400 for the logout).
    """

    serializer_class = RefreshSerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = services.refresh_token_rotate(token=serializer.validated_data["refresh"])
        return Response(tokens)


@extend_schema(
    tags=["auth"],
    responses={200: DetailSerializer, 401: INVALID_TOKEN},
    summary="Check a token",
    description="200 when the access or refresh token is valid and unexpired (and not "
    "blacklisted), 401 otherwise.",
    examples=[request_example({"token": "<an access or refresh token>"})],
)
class VerifyView(TokenVerifyView):
    serializer_class = VerifySerializer

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        super().post(request, *args, **kwargs)
        return Response({"detail": "Token is valid."})


@extend_schema(tags=["auth"])
class LogoutView(APIView):
    @extend_schema(
        request=LogoutSerializer,
        responses={204: None},
        summary="Log out",
        description="Blacklists the refresh token sent, so it can no longer be refreshed; the "
        "access token stays valid until it expires. A token already spent is a 400.",
        examples=[request_example({"refresh": "<the refresh token from POST /auth/token/>"})],
    )
    def post(self, request: Request) -> Response:
        serializer = LogoutSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        if not services.refresh_token_revoke(token=serializer.validated_data["refresh"]):
            # Spent meanwhile by a concurrent refresh or logout with the same token.
            raise ValidationError({"refresh": [ALREADY_REVOKED]})
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"])
class MeView(APIView):
    http_method_names = ["get", "patch", "delete", "head", "options"]

    @extend_schema(
        responses={200: UserSerializer},
        summary="Your account and settings",
        description="Username, email, names, `base_currency`, `timezone` (decides what "
        '"today" and "this month" mean), `month_start_day` (your budget month), roles, '
        "and the state of a queued base-currency change.",
    )
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        request=UserSerializer,
        responses={
            200: UserSerializer,
            202: OpenApiResponse(
                UserSerializer,
                description="Your personal book has more than BASE_CURRENCY_SYNC_MAX_ROWS "
                "expenses and income: the base-currency change was queued (the other "
                "settings are applied). Poll `GET /auth/me/` until "
                "`base_currency_change.status` is `done` (or `failed`, which changed nothing "
                "and says why in `error`).",
            ),
            409: OpenApiResponse(
                ErrorSerializer,
                description="`base_currency_change_in_progress`: another base-currency "
                "change is queued or running; retry after the Retry-After seconds.",
            ),
        },
        summary="Change your settings",
        description=(
            "Any of `email`, `first_name`, `last_name`, `base_currency`, `timezone` (IANA "
            "name) and `month_start_day` (1–28: your budget month runs from that day). "
            "`base_currency` and `month_start_day` are your personal book's: a new "
            "`base_currency` re-expresses every base amount, budget and goal in it (shared "
            "books keep theirs: `PATCH /books/{id}/`): inline (200) for most, on the task "
            "queue (202) for big ones."
        ),
        examples=[
            request_example(
                {"first_name": "Alex", "timezone": "Europe/Berlin", "month_start_day": 25}
            )
        ],
    )
    def patch(self, request: Request) -> Response:
        """Change your settings. A new `base_currency` re-expresses every stored figure:
        inline (200) for most accounts, on the task queue (202) for big ones."""
        serializer = UserSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = request.user
        queued = services.user_settings_update(
            user=user, data=serializer.validated_data, enqueue=base_currency_change_task.delay
        )
        if queued is None:
            return Response(UserSerializer(user).data)
        # An eager (in-process) queue may have carried it out already.
        user.refresh_from_db(fields=["base_currency"])
        return Response(UserSerializer(user).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=PasswordSerializer,
        responses={204: None},
        summary="Delete your account and all your data",
        description="Confirm with your current password. Your personal book and everything "
        "in it goes, receipts included, and cannot be recovered: download "
        "`GET /export/backup.json` first. So does a shared book you are the only member of; "
        "in other shared books what you wrote stays (without your name), and if you were "
        "the only owner, the longest-standing member becomes owner.",
        examples=[request_example({"password": DEMO_LOGIN["password"]})],
    )
    def delete(self, request: Request) -> Response:
        serializer = PasswordSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        services.user_delete(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"])
class PasswordChangeView(APIView):
    @extend_schema(
        request=PasswordChangeSerializer,
        responses={200: PasswordChangedSerializer},
        summary="Change your password",
        description="Needs the current password; the new one must pass the password "
        "validators. Every other session is logged out (their refresh tokens blacklisted); "
        "the answer carries a fresh token pair for this one.",
        examples=[
            request_example(
                {"old_password": DEMO_LOGIN["password"], "new_password": "quartz-meadow-river-77"}
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        tokens = services.password_change(
            user=request.user, new_password=serializer.validated_data["new_password"]
        )
        return Response({"detail": "Password changed; other sessions were logged out.", **tokens})


@extend_schema(tags=["auth"])
class PasswordResetView(AnonymousThrottledMixin, APIView):
    throttle_scope = "password_reset"

    @extend_schema(
        request=PasswordResetSerializer,
        responses={200: DetailSerializer},
        auth=[],
        summary="Ask for a password reset email",
        description="Always 200, whether or not an account has that email (no account "
        "enumeration). The email carries a `uid` and `token` for "
        "`POST /auth/password/reset/confirm/`." + THROTTLED,
        examples=[request_example({"email": "demo@example.com"})],
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_request(email=serializer.validated_data["email"])
        return Response({"detail": RESET_SENT})


@extend_schema(tags=["auth"])
class PasswordResetConfirmView(AnonymousThrottledMixin, APIView):
    throttle_scope = "password_reset"

    @extend_schema(
        request=PasswordResetConfirmSerializer,
        responses={200: DetailSerializer},
        auth=[],
        summary="Set a new password with a reset token",
        description="`uid` and `token` come from the reset email; the token works once and "
        "expires. Existing sessions are logged out." + THROTTLED,
        examples=[
            request_example(
                {
                    "uid": "<uid from the reset email>",
                    "token": "<token from the reset email>",
                    "new_password": "quartz-meadow-river-77",
                }
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_confirm(
            user=serializer.validated_data["user"],
            new_password=serializer.validated_data["new_password"],
        )
        return Response({"detail": "Password has been reset."})
