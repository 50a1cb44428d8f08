import pytest
from django.utils import timezone

from notifications.models import NotificationPreference
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/notifications/notification/",
        "/admin/notifications/notification/?kind=bill_due&in_app__exact=1&read=no",
        "/admin/notifications/notification/?read=yes&q=rent",
        "/admin/notifications/notificationpreference/?kind=bill_due&q=user",
    ],
)
def test_admin_changelists_render(admin_client, user, url):
    NotificationFactory(user=user, title="Rent due", kind="bill_due")
    NotificationFactory(user=user, read_at=timezone.now())
    NotificationPreference.objects.create(user=user, kind="bill_due", email=False)
    assert admin_client.get(url).status_code == 200


def test_admin_read_filter(admin_client, user):
    NotificationFactory(user=user, title="Unread one")
    NotificationFactory(user=user, title="Read one", read_at=timezone.now())
    unread = admin_client.get("/admin/notifications/notification/?read=no").content
    assert b"Unread one" in unread and b"Read one" not in unread
    read = admin_client.get("/admin/notifications/notification/?read=yes").content
    assert b"Read one" in read and b"Unread one" not in read


def test_admin_change_form_renders(admin_client, user):
    notification = NotificationFactory(user=user)
    url = f"/admin/notifications/notification/{notification.pk}/change/"
    assert admin_client.get(url).status_code == 200
    assert admin_client.get("/admin/notifications/notification/add/").status_code == 403
