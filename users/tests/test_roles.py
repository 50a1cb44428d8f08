import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from users.roles import ADMIN, is_admin
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_seed_roles_is_idempotent():
    Group.objects.filter(name=ADMIN).delete()
    call_command("seed_roles")
    call_command("seed_roles")
    assert sorted(Group.objects.values_list("name", flat=True)) == ["Admin", "User"]


def test_is_admin_for_admin_members_and_superusers_only():
    member, plain, superuser = UserFactory(), UserFactory(), UserFactory(is_superuser=True)
    member.groups.add(Group.objects.get(name=ADMIN))
    assert is_admin(member)
    assert is_admin(superuser)
    assert not is_admin(plain)


def test_admin_role_shows_in_me(client_for):
    admin = UserFactory()
    admin.groups.add(Group.objects.get(name=ADMIN))
    assert client_for(admin).get("/api/v1/auth/me/").json()["roles"] == ["Admin", "User"]


def test_flush_expired_tokens_removes_only_expired_ones():
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
    from rest_framework_simplejwt.tokens import RefreshToken

    from users.services import flush_expired_tokens

    user = UserFactory()
    RefreshToken.for_user(user)
    old = RefreshToken.for_user(user)
    OutstandingToken.objects.filter(jti=old["jti"]).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    assert flush_expired_tokens() == 1
    assert flush_expired_tokens() == 0
    assert OutstandingToken.objects.filter(user=user).count() == 1
