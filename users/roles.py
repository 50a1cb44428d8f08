"""Role names (Django groups) and the checks other apps use."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group

ADMIN = "Admin"
USER = "User"
ALL_ROLES = (ADMIN, USER)


def ensure_roles() -> list[Group]:
    """Create the role groups if missing; safe to call any number of times."""
    return [Group.objects.get_or_create(name=name)[0] for name in ALL_ROLES]


def is_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Superusers and members of the `Admin` group manage system-wide data."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=ADMIN).exists()
