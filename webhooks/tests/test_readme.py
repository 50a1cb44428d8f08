"""The README's signature recipes, run against a real signed delivery, so they cannot drift:
the Python `verify` is executed as printed, the `openssl` line through a shell."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from django.conf import settings

pytestmark = pytest.mark.django_db

SECTION = "## Verifying webhook signatures"


def readme_snippet(language: str) -> str:
    text = (Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    blocks = re.findall(
        rf"^```{language}\n(.*?)^```", text[start : end if end != -1 else None], re.S | re.M
    )
    assert len(blocks) == 1, f"README's {SECTION!r} should hold one ```{language} block"
    return blocks[0]


@pytest.fixture
def delivery(user, client_for, hook_for, receiver, committed):
    """One real delivery as the receiver got it, with the secrets it was signed with: made
    after a rotation, so it carries the new and the old signature."""
    hook = hook_for(user)
    old = hook["secret"]
    client = client_for(user)
    new = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret/").json()["secret"]
    with committed():
        response = client.post(
            "/api/v1/expenses/",
            {"amount": "4.20", "date": "2026-03-10", "description": "Café crème"},
            format="json",
        )
    assert response.status_code == 201
    [request] = receiver.received
    return SimpleNamespace(
        body=request.body,
        header=request.headers["X-Signature"],
        timestamp=request.timestamp,
        signatures=request.signatures,
        new=new,
        old=old,
    )


def test_the_python_recipe_verifies_a_real_delivery(delivery):
    namespace: dict = {}
    exec(readme_snippet("python"), namespace)
    verify = namespace["verify"]
    assert verify(delivery.new, delivery.header, delivery.body)
    assert verify(delivery.old, delivery.header, delivery.body)  # during the grace
    assert not verify("whsec_someone-else", delivery.header, delivery.body)
    assert not verify(delivery.new, delivery.header, delivery.body.replace(b"4.20", b"420.00"))
    assert not verify(delivery.new, delivery.header.replace("t=", "t=1"), delivery.body)
    assert not verify(delivery.new, "v1=" + delivery.signatures[0], delivery.body)  # no t
    # The timestamp tolerance: 5 minutes either way.
    for skew, accepted in ((299, True), (301, False), (-301, False)):
        namespace["time"] = SimpleNamespace(time=lambda skew=skew: delivery.timestamp + skew)
        assert verify(delivery.new, delivery.header, delivery.body) is accepted, skew


def test_the_openssl_recipe_prints_one_of_the_signatures(delivery, tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    (tmp_path / "body.json").write_bytes(delivery.body)
    assert b"\n" not in delivery.body  # the JSON body is one line: nothing for a shell to eat
    outputs = []
    for secret in (delivery.new, delivery.old):
        result = subprocess.run(
            ["bash", "-c", readme_snippet("sh")],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "T": str(delivery.timestamp), "SECRET": secret},
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        outputs.append(result.stdout.strip())
    assert outputs == delivery.signatures  # new first, then old


def test_the_snippets_agree_with_a_signature_made_at_a_fixed_time(
    user, client_for, hook_for, receiver, committed
):
    # The Python recipe checks the time against the clock; a delivery sent at a known
    # moment verifies then, and not a day later.
    hook = hook_for(user)
    with time_machine.travel("2026-03-10 09:00:00Z", tick=False) as traveller:
        with committed():
            client_for(user).post(
                "/api/v1/expenses/",
                {"amount": "1", "date": "2026-03-10", "description": "Stamp"},
                format="json",
            )
        [request] = receiver.received
        namespace: dict = {}
        exec(readme_snippet("python"), namespace)
        assert namespace["verify"](hook["secret"], request.headers["X-Signature"], request.body)
        traveller.move_to("2026-03-11 09:00:00Z")
        assert not namespace["verify"](hook["secret"], request.headers["X-Signature"], request.body)
