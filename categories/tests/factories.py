import factory

from categories.models import Category, Kind, Rule, RuleField, RuleOperator, Tag
from users.tests.factories import UserFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    """A user's own category; pass `user=None` for a system category."""

    class Meta:
        model = Category

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Category {n}")
    kind = Kind.EXPENSE


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"tag{n}")


class RuleFactory(factory.django.DjangoModelFactory):
    """A rule whose category belongs to the same user."""

    class Meta:
        model = Rule
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    field = RuleField.ANY
    operator = RuleOperator.CONTAINS
    value = "coffee"
    category = factory.SubFactory(CategoryFactory, user=factory.SelfAttribute("..user"))

    @factory.post_generation
    def add_tags(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create and extracted:
            self.add_tags.set(extracted)
