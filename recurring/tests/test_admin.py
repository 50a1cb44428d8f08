from datetime import date

import pytest

from recurring.services import create_due_occurrences
from users.tests.factories import UserFactory

from .factories import RecurringItemFactory

pytestmark = pytest.mark.django_db


def test_admin_lists_items_and_occurrences(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    item = RecurringItemFactory(description="Rent", start_date=date(2026, 3, 1))
    create_due_occurrences(today=date(2026, 3, 1))
    client.force_login(admin)
    listing = client.get("/admin/recurring/recurringitem/?kind__exact=expense&q=Rent")
    assert listing.status_code == 200 and b"Rent" in listing.content
    assert client.get(f"/admin/recurring/recurringitem/{item.pk}/change/").status_code == 200
    occurrences = client.get("/admin/recurring/recurringoccurrence/?q=Rent")
    assert occurrences.status_code == 200 and b"2026" in occurrences.content
