"""Figures kept in the currency they were written in, so a base-currency change converts
from what the user entered and never from an already-converted value.

Budgets, goals and contributions hold an amount in their book's base currency (what
the API shows and every total uses) and, beside it, `amount_original` and
`currency_original`: the amount as last written and the base currency it was written
in. `OriginalAmountMixin` keeps the pair true on every write through the ORM, so no
service can forget it: a new row, or a save that changed the amount, records the
amount and the book's base currency (read under the lock of `base_currency_lock`);
`bulk_create` fills the pair for rows that lack it. Only a base-currency change
rewrites the converted amount without touching the originals (with `bulk_update`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models

from books.models import Book, fill_personal_book
from users.base_currency import base_currency_lock

_UNSET = object()


class OriginalsQuerySet(models.QuerySet):
    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        objs = list(objs)
        missing = [obj for obj in objs if not obj.currency_original]
        if missing:
            books = {obj.original_book_id() for obj in missing}
            currencies = dict(Book.objects.filter(pk__in=books).values_list("pk", "base_currency"))
            for obj in missing:
                setattr(obj, obj.original_field, getattr(obj, obj.converted_field))
                obj.currency_original = currencies[obj.original_book_id()]
        created = super().bulk_create(objs, *args, **kwargs)
        for obj in objs:
            obj._loaded_amount = getattr(obj, obj.converted_field)
        return created


class OriginalAmountMixin(models.Model):
    """Keeps `amount_original`/`currency_original` in step with `converted_field`."""

    converted_field: ClassVar[str] = "amount"
    original_field: ClassVar[str] = "amount_original"

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        amount = getattr(self, self.converted_field)
        loaded = self.__dict__.get("_loaded_amount", _UNSET)
        if not self.currency_original or (loaded is not _UNSET and amount != loaded):
            setattr(self, self.original_field, amount)
            self.currency_original = base_currency_lock(book_id=self.original_book_id())
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {
                    *kwargs["update_fields"],
                    self.original_field,
                    "currency_original",
                }
        super().save(*args, **kwargs)
        self._loaded_amount = amount

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Any:
        instance = super().from_db(db, field_names, values)
        instance._loaded_amount = instance.__dict__.get(cls.converted_field, _UNSET)
        return instance

    def original_book_id(self) -> int:
        """The id of the book whose base currency the amount is in."""
        book_id = getattr(self, "book_id", None)
        if book_id is None:
            # A record saved without a book goes to its creator's personal book.
            fill_personal_book(self)
            book_id = self.book_id
        return book_id
