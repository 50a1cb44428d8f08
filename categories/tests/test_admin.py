import pytest

from categories.tests.factories import CategoryFactory, RuleFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/categories/category/",
        "/admin/categories/category/?is_system=yes&kind=expense",
        "/admin/categories/category/?is_system=no&q=coffee",
        "/admin/categories/tag/?q=coffee",
        "/admin/categories/rule/?active__exact=1&category__kind=expense&q=coffee",
    ],
)
def test_admin_changelists_render(admin_client, user, url):
    CategoryFactory(user=user, name="Coffee")
    TagFactory(user=user, name="coffee")
    RuleFactory(user=user)
    response = admin_client.get(url)
    assert response.status_code == 200


def test_admin_system_filter_shows_only_system_categories(admin_client, user):
    CategoryFactory(user=user, name="Coffee")
    response = admin_client.get("/admin/categories/category/?is_system=yes")
    assert b"Coffee" not in response.content
    assert b"Groceries" in response.content
    response = admin_client.get("/admin/categories/category/?is_system=no")
    assert b"Coffee" in response.content
    assert b"Groceries" not in response.content


def test_admin_change_forms_render(admin_client, user):
    rule = RuleFactory(user=user, add_tags=[TagFactory(user=user)])
    for url in (
        f"/admin/categories/rule/{rule.pk}/change/",
        f"/admin/categories/category/{rule.category.pk}/change/",
        "/admin/categories/tag/add/",
    ):
        assert admin_client.get(url).status_code == 200
