"""A shared book's money writes against a change of its base currency (PostgreSQL).

A change of a book's base currency holds the book's change lock exclusively for as long
as it converts (`users.base_currency.base_currency_change_lock`); every write of a record
takes it shared first (`ledger.services.book_base_currency_lock`): it waits for a
change, boundedly (409), and never for another member's write.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from books.models import Book
from expenses.models import Expense
from tests.concurrency import require_postgresql
from users.base_currency import base_currency_change_lock, base_currency_lock

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"amount": "5.00", "date": "2026-03-10", "description": "Bread"}


def hold_change_lock(book: Book, *, shared: bool) -> tuple[threading.Event, threading.Thread]:
    """Another session holds the book's change lock (a change, or shared: a write)."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                if shared:
                    base_currency_lock(book_id=book.pk)
                else:
                    base_currency_change_lock(book_id=book.pk)
                held.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    return release, holder


def test_a_write_during_the_books_currency_change_is_409_and_stores_nothing(
    settings, user, auth_client, shared_book
):
    require_postgresql()
    settings.BASE_CURRENCY_LOCK_WAIT_SECONDS = 0.3
    book = shared_book(owner=user)
    release, holder = hold_change_lock(book, shared=False)  # the book's currency changing
    # A first request warms up (imports, URL resolver): the timing below is the wait's.
    assert auth_client.get(f"/api/v1/books/{book.pk}/expenses/").status_code == 200
    try:
        started = time.monotonic()
        response = auth_client.post(f"/api/v1/books/{book.pk}/expenses/", BODY, format="json")
        elapsed = time.monotonic() - started
    finally:
        release.set()
        holder.join()
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "base_currency_change_in_progress"
    assert elapsed < 5, elapsed
    assert not Expense.objects.filter(book=book).exists()


def test_writes_in_one_book_do_not_wait_for_each_other(settings, user, auth_client, shared_book):
    require_postgresql()
    settings.BASE_CURRENCY_LOCK_WAIT_SECONDS = 0.3
    book = shared_book(owner=user)
    release, holder = hold_change_lock(book, shared=True)  # another member's write
    try:
        response = auth_client.post(f"/api/v1/books/{book.pk}/expenses/", BODY, format="json")
    finally:
        release.set()
        holder.join()
    assert response.status_code == 201, response.content
    assert Expense.objects.get(book=book).base_amount == 5
