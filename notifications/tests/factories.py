import factory

from notifications.models import Notification, NotificationKind
from users.tests.factories import UserFactory


class NotificationFactory(factory.django.DjangoModelFactory):
    """An unread, in-app notification; `read_at=...` or `in_app=False` for the others."""

    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    kind = NotificationKind.BUDGET_WARN
    title = factory.Sequence(lambda n: f"Notification {n}")
    body = "Something happened."
    data = factory.LazyFunction(dict)
