import factory

from categories.models import Category, Kind, Rule, RuleField, RuleOperator, Tag
from users.tests.factories import UserFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    """A category of the user's personal book (or of `book`); pass `user=None` (and no
    book) for a system category."""

    class Meta:
        model = Category

    book = None  # None: the creator's personal book (filled in on save)
    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Category {n}")
    kind = Kind.EXPENSE


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag

    book = None  # None: the creator's personal book
    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"tag{n}")


class RuleFactory(factory.django.DjangoModelFactory):
    """A rule whose category is in the rule's book (default: the user's personal book)."""

    class Meta:
        model = Rule
        skip_postgeneration_save = True

    book = None  # None: the creator's personal book
    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    field = RuleField.ANY
    operator = RuleOperator.CONTAINS
    value = "coffee"
    category = factory.SubFactory(
        CategoryFactory, user=factory.SelfAttribute("..user"), book=factory.SelfAttribute("..book")
    )

    @factory.post_generation
    def add_tags(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create and extracted:
            self.add_tags.set(extracted)
