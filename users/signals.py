"""Every new user joins the `User` role, however they were created (API, admin, shell)."""

from django.contrib.auth.models import Group
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import User
from .roles import USER


@receiver(post_save, sender=User, dispatch_uid="users_join_user_role")
def add_default_role(
    sender: type[User], instance: User, created: bool, raw: bool, **kwargs: object
) -> None:
    if created and not raw:
        group, _ = Group.objects.get_or_create(name=USER)
        instance.groups.add(group)
