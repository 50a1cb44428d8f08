"""A demo account with a year of realistic money records, for a populated first look.

It brings data in through the services of the apps below, so it lives in imports (the
top layer), not in users."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction

from categories.models import Category, Kind
from categories.services import rule_create, tags_resolve
from core.dates import add_months
from currencies.selectors import RateUnavailable, get_rate
from currencies.services import rate_upsert
from expenses.services import expense_create
from income.services import income_create
from users.models import User
from users.services import user_delete, user_register

DEMO_USERNAME = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-budget-2026"

# (category, description, merchant, low, high, times per month, payment method)
VARIABLE_SPENDING = [
    ("Groceries", "Weekly groceries", "FreshMart", 45, 140, 4, "card"),
    ("Food", "Coffee", "Bean There", 3, 6, 8, "mobile_wallet"),
    ("Food", "Lunch", "Deli Corner", 9, 18, 6, "card"),
    ("Food", "Dinner out", "Trattoria Roma", 25, 80, 2, "card"),
    ("Transport", "Metro card top-up", "City Transit", 20, 40, 2, "card"),
    ("Transport", "Fuel", "Shell", 35, 70, 2, "card"),
    ("Entertainment", "Cinema", "Cineplex", 12, 30, 1, "card"),
    ("Shopping", "Clothes", "Urban Threads", 20, 120, 1, "card"),
    ("Healthcare", "Pharmacy", "CarePlus", 8, 45, 1, "cash"),
]
MONTHLY_BILLS = [
    ("Rent", "Rent", "Oak Street Apartments", Decimal("1400.00"), 1, "bank_transfer"),
    ("Utilities", "Electricity", "PowerCo", None, 5, "bank_transfer"),
    ("Utilities", "Internet", "FiberNet", Decimal("49.99"), 12, "card"),
    ("Entertainment", "Streaming subscription", "StreamFlix", Decimal("15.49"), 18, "card"),
]


class Command(BaseCommand):
    help = (
        f"Create the demo user '{DEMO_USERNAME}' (password '{DEMO_PASSWORD}') with about a year "
        "of expenses and income. Does nothing if the user exists, unless --reset."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--reset", action="store_true", help="Delete and recreate the demo user."
        )
        parser.add_argument(
            "--months", type=int, default=12, help="Months of history (default 12)."
        )
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (default 2026).")

    def handle(self, *args: object, **options: object) -> None:
        existing = User.objects.filter(username=DEMO_USERNAME).first()
        if existing and not options["reset"]:
            self.stdout.write(
                f"Demo user '{DEMO_USERNAME}' already exists (use --reset to recreate)."
            )
            return
        with transaction.atomic():
            if existing:
                user_delete(user=existing)
            counts = self._seed(months=int(options["months"]), rng=random.Random(options["seed"]))  # noqa: S311
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo user '{DEMO_USERNAME}' / password '{DEMO_PASSWORD}': "
                f"{counts['expenses']} expenses, {counts['incomes']} income records."
            )
        )

    def _seed(self, *, months: int, rng: random.Random) -> dict[str, int]:
        user = user_register(username=DEMO_USERNAME, email=DEMO_EMAIL, password=DEMO_PASSWORD)
        book = user.personal_book  # the demo data lives in the account's personal book
        system = {(c.kind, c.name): c for c in Category.objects.filter(book__isnull=True)}
        expense_cat = {name: cat for (kind, name), cat in system.items() if kind == Kind.EXPENSE}
        income_cat = {name: cat for (kind, name), cat in system.items() if kind == Kind.INCOME}
        rule_create(
            user=user,
            book=book,
            data={
                "name": "Coffee shops are Food",
                "field": "any",
                "operator": "contains",
                "value": "coffee",
                "category": expense_cat["Food"],
                "add_tags": ["caffeine"],
                "priority": 10,
            },
        )
        tags_resolve(user=user, book=book, names=["caffeine", "holiday", "work"])

        today = date.today()
        first_year, first_month = add_months(today.year, today.month, -(months - 1))
        # Euro rates for the holiday spending below, one per month (ECB style: EUR base),
        # only where no real rate exists (the bundled ECB rates normally cover them all).
        for i in range(months + 1):
            year, month = add_months(first_year, first_month, i - 1)
            try:
                get_rate(from_currency="EUR", to_currency="USD", on=date(year, month, 1))
                continue
            except RateUnavailable:
                pass
            rate = Decimal("1.05") + Decimal(rng.randint(0, 80)) / 1000
            rate_upsert(
                base="EUR", quote="USD", date=date(year, month, 1), rate=rate, source="demo"
            )

        counts = {"expenses": 0, "incomes": 0}

        def spend(
            day: date,
            category: str,
            description: str,
            merchant: str,
            amount: Decimal,
            method: str,
            **extra: object,
        ) -> None:
            if day > today:
                return
            expense_create(
                user=user,
                book=book,
                data={
                    "amount": amount,
                    "date": day,
                    "description": description,
                    "merchant": merchant,
                    "payment_method": method,
                    "category": None if description == "Coffee" else expense_cat[category],
                    **extra,
                },
            )
            counts["expenses"] += 1

        def earn(day: date, category: str, description: str, source: str, amount: Decimal) -> None:
            if day > today:
                return
            income_create(
                user=user,
                book=book,
                data={
                    "amount": amount,
                    "date": day,
                    "description": description,
                    "source": source,
                    "category": income_cat[category],
                },
            )
            counts["incomes"] += 1

        for i in range(months):
            year, month = add_months(first_year, first_month, i)
            for category, description, merchant, amount, day, method in MONTHLY_BILLS:
                value = amount or Decimal(rng.randint(6000, 14000)) / 100
                spend(date(year, month, day), category, description, merchant, value, method)
            for category, description, merchant, low, high, times, method in VARIABLE_SPENDING:
                for _ in range(times):
                    day = date(year, month, rng.randint(1, 28))
                    value = Decimal(rng.randint(low * 100, high * 100)) / 100
                    spend(day, category, description, merchant, value, method)
            earn(
                date(year, month, 25), "Salary", "Monthly salary", "Globex Corp", Decimal("4200.00")
            )
            if rng.random() < 0.4:
                value = Decimal(rng.randint(300, 1500))
                earn(
                    date(year, month, rng.randint(1, 28)),
                    "Freelance",
                    "Freelance project",
                    "Client Co",
                    value,
                )
            if month == 7:
                trip = date(year, month, 10)
                for offset, (description, amount) in enumerate(
                    [
                        ("Hotel Lisbon", "420.00"),
                        ("Tram tickets", "18.50"),
                        ("Dinner in Alfama", "64.00"),
                    ]
                ):
                    spend(
                        trip + timedelta(days=offset),
                        "Travel",
                        description,
                        "Lisboa",
                        Decimal(amount),
                        "card",
                        currency="EUR",
                        tags=["holiday"],
                    )
        return counts
