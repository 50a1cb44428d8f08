"""Book events: what happened to a book's records, told to whoever listens (SPEC §17).

The apps that write records sit below the apps that react to them (webhooks), so they
announce instead of calling: inside the write's transaction they call

    emit(book_id=expense.book_id, event="expense.created", data={...})

and every registered listener runs there and then, inside the same transaction. A
listener must only record what it needs (the webhooks app stores one pending delivery
per subscribed hook — a transactional outbox) and queue slow work with
`transaction.on_commit`: a write that rolls back leaves no event behind, and no write
waits for the network. Core knows no listener; apps register in `AppConfig.ready()`.

The event names are declared once, here: the webhooks API validates subscriptions
against `EVENTS` and the docs list them from it. Bulk writes announce themselves once
(`import.committed`, not one `expense.created` per imported row); a bulk recategorise
(≤ 1000 records a person picked) is announced as one `<kind>.updated` per record, like
the single edits it stands for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EVENTS: dict[str, str] = {
    "expense.created": "An expense was added to the book (by hand, recurring or the app).",
    "expense.updated": "An expense of the book was changed.",
    "expense.deleted": "An expense of the book was deleted.",
    "income.created": "An income was added to the book.",
    "income.updated": "An income of the book was changed.",
    "income.deleted": "An income of the book was deleted.",
    "budget.warn": "A budget of the book passed its warning threshold this month.",
    "budget.exceeded": "A budget of the book was exceeded this month.",
    "import.committed": "A statement import or bank sync stored records in the book.",
    "import.undone": "An import was undone: the records it stored were deleted.",
    "settlement.created": "A member recorded a settlement in a shared book.",
    "settlement.deleted": "A settlement of a shared book was deleted.",
}

Listener = Callable[..., None]
_listeners: list[Listener] = []


def register_listener(listener: Listener) -> None:
    """Call `listener(book_id=, event=, data=)` on every emit (once, however often
    `ready()` runs)."""
    if listener not in _listeners:
        _listeners.append(listener)


def unregister_listener(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


EventData = dict[str, Any] | Callable[[], dict[str, Any]]


def event_data(data: EventData) -> dict[str, Any]:
    """The event's data; a listener calls this only once it knows it needs it."""
    return data() if callable(data) else data


def emit(*, book_id: int, event: str, data: EventData) -> None:
    """Announce `event` on a book with its JSON-ready `data` — or a function building it,
    so a write in a book nobody listens to does not pay for it (`event_data`). Call it
    inside the write's transaction; raises ValueError for an event not declared in EVENTS."""
    if event not in EVENTS:
        raise ValueError(f"Undeclared book event: {event!r}")
    for listener in list(_listeners):
        listener(book_id=book_id, event=event, data=data)
