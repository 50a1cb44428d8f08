"""One error path (issue 13, SPEC §3): domain errors derive from `ApplicationError`, views
let them propagate, and one function (`core.exceptions.error_response`) answers every
error for the DRF exception handler, the /api/ middleware and Django's 4xx/500 handlers.
"""

from __future__ import annotations

import ast
import importlib
import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.http import Http404
from django.test import RequestFactory, override_settings
from django.urls import path
from rest_framework import exceptions as drf_exceptions
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken

from core import views as core_views
from core.exceptions import (
    ApplicationError,
    ConflictError,
    NotFoundError,
    error_response,
)
from expenses.tests.factories import ExpenseFactory
from reports.services import TooManyPoints

BASE = Path(settings.BASE_DIR)


def project_apps() -> list[tuple[str, Path]]:
    return sorted(
        (config.name, Path(config.path))
        for config in apps.get_app_configs()
        if Path(config.path).parent == BASE
    )


def app_modules() -> Iterator[tuple[str, Path]]:
    """(dotted name, file) of every module of the project's apps but tests and migrations."""
    for name, root in project_apps():
        for file in sorted(root.rglob("*.py")):
            parts = file.relative_to(root).with_suffix("").parts
            if {"tests", "migrations"} & set(parts):
                continue
            dotted = ".".join((name, *parts))
            yield dotted.removesuffix(".__init__"), file


# --- (a) no view translates an exception by hand ---------------------------------------

# "module:function:Exception" → why this view may catch it and answer by itself.
VIEW_CATCH_ALLOWED = {
    "core.views:HealthView.get:DatabaseError": (
        "the health check's answer *is* whether the database answers: 503 "
        '`{"status": "unavailable"}` is its contract, not an error body'
    ),
}

RESPONSE_CLASSES = ("Response", "JsonResponse", "HttpResponse", "FileResponse")


def _caught(handler: ast.ExceptHandler) -> list[str]:
    if handler.type is None:
        return ["BaseException"]
    nodes = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return [ast.unparse(node).rsplit(".", 1)[-1] for node in nodes]


def _translates(handler: ast.ExceptHandler) -> bool:
    """Whether the handler answers the error itself: raises another exception or builds a
    response. Cleaning up and re-raising (`raise` alone) is no translation."""
    for node in ast.walk(ast.Module(body=handler.body, type_ignores=[])):
        if isinstance(node, ast.Raise) and node.exc is not None:
            return True
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(RESPONSE_CLASSES):
            return True
    return False


def view_translations(module: str, source: str) -> list[str]:
    """`module:function:Exception` for every except clause in `source` that translates."""
    found: list[str] = []

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = (*scope, child.name)
            if isinstance(child, ast.ExceptHandler) and _translates(child):
                found.extend(f"{module}:{'.'.join(scope)}:{name}" for name in _caught(child))
            visit(child, inner)

    visit(ast.parse(source), ())
    return found


def view_modules() -> list[tuple[str, Path]]:
    return [
        (dotted, file)
        for dotted, file in app_modules()
        if file.name == "views.py" or file.name.endswith("_views.py")
    ]


def test_the_view_scan_finds_hand_translation_and_ignores_a_re_raise():
    source = (
        "class V:\n"
        "    def post(self, request):\n"
        "        try:\n"
        "            preview()\n"
        "        except (StatementError, services.TooManyPoints) as exc:\n"
        "            raise ValidationError({'file': [str(exc)]}) from None\n"
        "        except KeyError:\n"
        "            return Response({'detail': 'x'}, status=400)\n"
        "        try:\n"
        "            build()\n"
        "        except BaseException:\n"
        "            close()\n"
        "            raise\n"
    )
    assert view_translations("app.views", source) == [
        "app.views:V.post:StatementError",
        "app.views:V.post:TooManyPoints",
        "app.views:V.post:KeyError",
    ]


def test_no_view_translates_an_exception_by_hand():
    modules = view_modules()
    assert {"imports.views", "budgets.views", "ledger.views", "users.views"} <= {
        dotted for dotted, _ in modules
    }
    found = [
        entry for dotted, file in modules for entry in view_translations(dotted, file.read_text())
    ]
    unexpected = sorted(set(found) - set(VIEW_CATCH_ALLOWED))
    assert not unexpected, (
        "Views catch these to answer by hand; raise an ApplicationError subclass from the "
        f"service instead and let it propagate to core.exceptions.error_response: {unexpected}"
    )
    stale = sorted(set(VIEW_CATCH_ALLOWED) - set(found))
    assert not stale, f"Allowed view catches that no longer exist; drop them: {stale}"


# --- (b) domain exception classes derive from ApplicationError --------------------------

# Exception classes of the project that are not ApplicationErrors, and why.
EXCEPTION_ALLOWED = {
    "ai.llm.LLMUnavailable": (
        "the optional local LLM did not answer usably: every caller (categorize, insights) "
        "catches it and answers from the local models, reporting it in `fallback`"
    ),
    "categories.patterns.PatternTooCostly": (
        "internal to the pattern check: categories.services turns it into a ValidationError "
        "on `value`; it never leaves the service"
    ),
    "core.money.MoneyParseError": (
        "a parse helper's input error: every caller (serializer fields, filters, statement "
        "parsers, backup fields) reports it on the field it parsed"
    ),
    "currencies.providers.RatesProviderError": (
        "the rates provider's transport failure: currencies.selectors turns it into "
        "RateUnavailable, load_rates reports it"
    ),
    "connections.simplefin.BridgeError": (
        "a failed call to the SimpleFIN Bridge (with a stable code): a sync records it on the "
        "connection and notifies once; creating a connection turns it into a 4xx/502/504 "
        "ApplicationError"
    ),
    "core.outbound.OutboundError": (
        "a request to a user-given URL failed (timeout, refused, too large): webhook sending "
        "logs it as a failed attempt, the SimpleFIN client turns it into a BridgeError"
    ),
    "imports.parsers.table._RowError": (
        "one unreadable row, recorded in the parse result's errors; never raised out of the parser"
    ),
}


def defined_exceptions() -> dict[str, type[BaseException]]:
    """`module.Class` → class, for every exception class the project's apps define."""
    found = {}
    for dotted, file in app_modules():
        names = [
            node.name for node in ast.parse(file.read_text()).body if isinstance(node, ast.ClassDef)
        ]
        if not names:
            continue
        module = importlib.import_module(dotted)
        for name in names:
            cls = getattr(module, name, None)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                found[f"{dotted}.{name}"] = cls
    return found


def raised_in_services_and_selectors() -> dict[str, type[BaseException]]:
    """`module: raise Name` → class, for every project exception class a services or
    selectors module raises by name."""
    raised = {}
    for dotted, file in app_modules():
        if file.stem not in ("services", "selectors"):
            continue
        module = importlib.import_module(dotted)
        for node in ast.walk(ast.parse(file.read_text())):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            value: object = module
            for part in ast.unparse(target).split("."):
                value = getattr(value, part, None)
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__.split(".")[0] in dict(project_apps())
            ):
                raised[f"{dotted}: raise {ast.unparse(target)}"] = value
    return raised


def test_exceptions_raised_by_services_and_selectors_are_application_errors():
    raised = raised_in_services_and_selectors()
    names = {cls.__name__ for cls in raised.values()}
    assert {"TooManyPoints", "TokenRejected", "RatesFileError", "StatementError"} <= names
    wrong = sorted(
        where
        for where, cls in raised.items()
        if not issubclass(cls, ApplicationError)
        and f"{cls.__module__}.{cls.__qualname__}" not in EXCEPTION_ALLOWED
    )
    assert not wrong, f"Services and selectors raise non-domain exceptions: {wrong}"


def test_every_project_exception_is_an_application_error_or_allowed():
    found = defined_exceptions()
    assert {"imports.parsers.base.StatementError", "ledger.selectors.ReceiptMissing"} <= set(found)
    wrong = sorted(
        name
        for name, cls in found.items()
        if not issubclass(cls, ApplicationError | drf_exceptions.APIException)
        and name not in EXCEPTION_ALLOWED
    )
    assert not wrong, (
        "Derive these from core.exceptions.ApplicationError (status and code on the class), "
        f"or allow them with a reason: {wrong}"
    )
    stale = sorted(set(EXCEPTION_ALLOWED) - set(found))
    assert not stale, f"Allowed exception classes that no longer exist; drop them: {stale}"


# --- (c) one error, one answer, wherever it surfaces ------------------------------------


class _LockTimeoutCause(Exception):
    sqlstate = "55P03"


def _lock_timeout() -> OperationalError:
    error = OperationalError("canceling statement due to lock timeout")
    error.__cause__ = _LockTimeoutCause()
    return error


ERRORS: dict[str, Callable[[], BaseException]] = {
    "domain": lambda: ApplicationError("Nope.", code="nope"),
    "domain_field": lambda: TooManyPoints(5001, "day"),
    "domain_404": lambda: NotFoundError("No such thing."),
    "conflict_retry": lambda: type("Busy", (ConflictError,), {"retry_after": 7})("Busy."),
    "http404": Http404,
    "permission_denied": DjangoPermissionDenied,
    "django_validation": lambda: DjangoValidationError({"name": ["Too short."]}),
    "django_validation_plain": lambda: DjangoValidationError("Bad."),
    "drf_validation": lambda: drf_exceptions.ValidationError({"amount": ["Required."]}),
    "drf_throttled": lambda: drf_exceptions.Throttled(wait=12),
    "too_big": RequestDataTooBig,
    "bad_host": DisallowedHost,
    "lock_timeout": _lock_timeout,
    "database_down": lambda: OperationalError("server closed the connection"),
    "unexpected": lambda: RuntimeError("kaboom"),
}


class DrfRaiser(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get(self, request, name):  # type: ignore[no-untyped-def]
        raise ERRORS[name]()


def plain_raiser(request, name):  # type: ignore[no-untyped-def]
    raise ERRORS[name]()


urlpatterns = [
    path("api/v1/_errors/drf/<str:name>/", DrfRaiser.as_view()),
    path("api/v1/_errors/plain/<str:name>/", plain_raiser),
]
handler400 = "core.views.handler400"
handler403 = "core.views.handler403"
handler404 = "core.views.handler404"
handler500 = "core.views.handler500"


def answer(response) -> tuple[int, object, str | None]:  # type: ignore[no-untyped-def]
    assert response["Content-Type"].startswith("application/json"), response.content
    return response.status_code, json.loads(response.content), response.get("Retry-After")


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize("name", list(ERRORS))
def test_the_drf_handler_and_the_middleware_answer_an_error_alike(client, name):
    """A DRF view answers through api_exception_handler, a plain Django view through the
    middleware (or, for 404/403, Django's handler404/403): the same error reads the same."""
    client.raise_request_exception = False
    through_drf = answer(client.get(f"/api/v1/_errors/drf/{name}/"))
    through_django = answer(client.get(f"/api/v1/_errors/plain/{name}/"))
    expected = error_response(ERRORS[name](), log=False)
    assert through_drf == through_django
    assert through_drf == (
        expected.status,
        json.loads(json.dumps(expected.body)),
        expected.headers.get("Retry-After"),
    )


@pytest.mark.parametrize(
    ("name", "status", "body", "retry_after"),
    [
        ("domain", 400, {"detail": "Nope.", "code": "nope"}, None),
        (
            "domain_field",
            400,
            {
                "bucket": [
                    "This range has 5001 day buckets; at most 5000 are allowed: use a larger "
                    "bucket or shorter range."
                ]
            },
            None,
        ),
        ("domain_404", 404, {"detail": "No such thing.", "code": "not_found"}, None),
        ("conflict_retry", 409, {"detail": "Busy.", "code": "conflict"}, "7"),
        ("http404", 404, {"detail": "Not found.", "code": "not_found"}, None),
        (
            "permission_denied",
            403,
            {
                "detail": "You do not have permission to perform this action.",
                "code": "permission_denied",
            },
            None,
        ),
        ("django_validation", 400, {"name": ["Too short."]}, None),
        ("django_validation_plain", 400, {"non_field_errors": ["Bad."]}, None),
        (
            "drf_throttled",
            429,
            {
                "detail": "Request was throttled. Expected available in 12 seconds.",
                "code": "throttled",
            },
            "12",
        ),
        (
            "bad_host",
            400,
            {"detail": "The Host header is not allowed.", "code": "disallowed_host"},
            None,
        ),
        ("lock_timeout", 409, None, "5"),
        (
            "database_down",
            503,
            {"detail": "The database is unavailable.", "code": "database_unavailable"},
            "5",
        ),
        ("unexpected", 500, {"detail": "A server error occurred.", "code": "server_error"}, None),
    ],
)
def test_the_one_function_gives_the_contract_bodies(name, status, body, retry_after):
    error = error_response(ERRORS[name](), log=False)
    assert error.status == status
    if body is not None:
        assert json.loads(json.dumps(error.body)) == body
    else:
        assert error.body["code"] == "records_busy"
    assert error.headers.get("Retry-After") == retry_after


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_django_handlers_answer_as_the_drf_handler_does(client):
    """What escapes every view and middleware (Django's handler400/403/404/500) reads as the
    same error raised in a DRF view."""
    client.raise_request_exception = False
    request = RequestFactory().get("/api/v1/anything/")
    pairs = [
        (core_views.handler404(request, Http404("no route")), "http404"),
        (core_views.handler403(request, DjangoPermissionDenied()), "permission_denied"),
        (core_views.handler400(request, DisallowedHost("evil.example")), "bad_host"),
        (core_views.handler500(request), "unexpected"),
    ]
    for response, name in pairs:
        assert answer(response) == answer(client.get(f"/api/v1/_errors/drf/{name}/")), name


@pytest.mark.django_db
def test_an_unknown_api_path_answers_as_handler404(client):
    request = RequestFactory().get("/api/v1/anything/")
    not_found = answer(core_views.handler404(request, Http404()))
    assert answer(client.post("/api/v1/no-such-endpoint/")) == not_found
    assert not_found == (404, {"detail": "Not found.", "code": "not_found"}, None)


def test_the_middleware_refusals_answer_through_the_one_path(client):
    too_big = client.generic(
        "POST", "/api/v1/expenses/", b"", CONTENT_LENGTH=str(settings.REQUEST_BODY_MAX_BYTES + 1)
    )
    assert answer(too_big) == (
        413,
        {
            "detail": f"The request body is over the limit of {settings.REQUEST_BODY_MAX_BYTES} "
            "bytes.",
            "code": "too_large",
        },
        None,
    )
    nul_query = client.get("/api/v1/expenses/", {"q": "a\x00b"})
    assert answer(nul_query) == (400, {"q": ["Null characters are not allowed."]}, None)


# --- domain errors that views used to translate, answered exactly as before --------------


@pytest.mark.django_db
def test_import_errors_answer_from_their_exception_classes(auth_client):
    def upload(name: str, content: bytes, **extra: str):  # type: ignore[no-untyped-def]
        file = SimpleUploadedFile(name, content, content_type="application/octet-stream")
        return auth_client.post("/api/v1/imports/", {"file": file, **extra}, format="multipart")

    unsupported = upload("notes.txt", b"hello world, this is not a statement at all")
    assert unsupported.status_code == 415
    assert unsupported.json() == {
        "detail": "This file is not a statement format we read (CSV, OFX, QFX, QIF, XLSX, "
        "camt.052/camt.053 or MT940).",
        "code": "unsupported_file_type",
    }
    unreadable = upload("x.csv", b"Foo,Bar\n1,2\n3,4\n")
    assert unreadable.status_code == 400
    assert unreadable.json() == {
        "file": [
            "Header row not found or incomplete: missing column(s): date; amount (or debit "
            "and credit); description (or payee). Headers seen: 'Foo', 'Bar'."
        ]
    }
    no_profile = upload("x.csv", b"Date,Amount\n2026-03-01,5\n", profile="Nope")
    assert no_profile.status_code == 400
    assert no_profile.json() == {
        "profile": ["You have no import profile 'Nope' (give an id or a name)."]
    }


@pytest.mark.django_db
def test_a_bad_budget_month_is_a_field_error_and_an_empty_one_the_current_month(auth_client):
    bad = auth_client.get("/api/v1/budgets/status/", {"month": "2026-13"})
    assert bad.status_code == 400
    assert bad.json() == {"month": ["Use YYYY-MM (or YYYY-MM-DD)."]}
    out_of_range = auth_client.get("/api/v1/budgets/status/", {"month": "1000-01"})
    assert out_of_range.status_code == 400 and list(out_of_range.json()) == ["month"]
    assert auth_client.get("/api/v1/budgets/status/", {"month": ""}).status_code == 200


@pytest.mark.django_db
def test_too_many_timeseries_points_is_a_bucket_error(auth_client):
    start = date(2000, 1, 1)
    response = auth_client.get(
        "/api/v1/reports/timeseries/", {"start": start, "end": start + timedelta(days=5000)}
    )
    assert response.status_code == 400
    assert response.json() == {
        "bucket": [
            "This range has 5001 day buckets; at most 5000 are allowed: use a larger bucket "
            "or shorter range."
        ]
    }


@pytest.mark.django_db
def test_a_missing_receipt_is_a_404_from_the_selector(auth_client, user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    expense = ExpenseFactory(user=user)
    url = f"/api/v1/expenses/{expense.pk}/receipt/"
    none = auth_client.get(url)
    assert none.status_code == 404
    assert none.json() == {"detail": "This record has no receipt.", "code": "not_found"}
    expense.receipt.save("r.png", ContentFile(b"\x89PNG\r\n\x1a\n"), save=True)
    (tmp_path / expense.receipt.name).unlink()
    gone = auth_client.get(url)
    assert gone.status_code == 404
    assert gone.json() == {"detail": "This record's receipt file is missing.", "code": "not_found"}


@pytest.mark.django_db
def test_a_refresh_for_a_deactivated_user_is_401_with_the_bearer_challenge(api_client, user):
    refresh = str(RefreshToken.for_user(user))
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = api_client.post("/api/v1/auth/token/refresh/", {"refresh": refresh})
    assert response.status_code == 401
    assert response.json() == {
        "detail": "No active account found for the given token.",
        "code": "token_not_valid",
    }
    assert response["WWW-Authenticate"].startswith("Bearer")
