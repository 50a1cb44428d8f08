"""A demo account with a year of realistic money records, for a populated first look.

Every page of the web app has something to show (SPEC §18): this month's budgets in all
three states (within, nearly used, exceeded — sized from what was actually spent, so the
states hold whatever day the demo is seeded), goals (one achieved, two under way with
contributions), recurring bills and salary coming up, an unusually large purchase this
month (an anomaly), and the notifications those raise.

Besides the demo user's personal book, a second demo member (`demo-partner`) and a shared
book, "Shared flat", with about three months of split expenses (every split mode, a
couple in euros) and one settlement, so balances and settle-up show something (SPEC §15).

It brings data in through the services of the apps below, so it lives in imports (the
top layer), not in users."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Sum

from books.models import Book, BookKind, Membership, Role
from books.services import book_create, book_delete, member_remove
from budgets.models import Scope
from budgets.services import budget_upsert
from categories.models import Category, Kind
from categories.services import rule_create, tags_resolve
from core.dates import add_months, budget_month_of
from currencies.selectors import RateUnavailable, get_rate
from currencies.services import rate_upsert
from expenses.models import Expense
from expenses.services import expense_create
from goals.services import contribution_create, goal_create
from income.services import income_create
from recurring.models import Frequency
from recurring.services import recurring_create
from splits.selectors import book_settle_up
from splits.services import settlement_create
from users.models import User
from users.services import user_delete, user_register

DEMO_USERNAME = "demo"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-budget-2026"
PARTNER_USERNAME = "demo-partner"
PARTNER_EMAIL = "demo-partner@example.com"
PARTNER_PASSWORD = "partner-budget-2026"
SHARED_BOOK_NAME = "Shared flat"
SHARED_MONTHS = 3  # of shared history (at most --months)

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
        months = int(options["months"])
        rng = random.Random(options["seed"])  # noqa: S311
        with transaction.atomic():
            self._remove_demo_accounts()
            counts = self._seed(months=months, rng=rng)
            user = User.objects.get(username=DEMO_USERNAME)
            shared = self._seed_shared(user=user, months=min(SHARED_MONTHS, months), rng=rng)
            plans = self._seed_plans(user=user, months=months)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo user '{DEMO_USERNAME}' / password '{DEMO_PASSWORD}': "
                f"{counts['expenses']} expenses, {counts['incomes']} income records.\n"
                f"Demo partner '{PARTNER_USERNAME}' / password '{PARTNER_PASSWORD}': "
                f'shares the book "{SHARED_BOOK_NAME}" with {DEMO_USERNAME} '
                f"({shared['expenses']} split expenses, {shared['settlements']} settlement).\n"
                f"{plans['budgets']} budgets, {plans['goals']} goals, "
                f"{plans['recurring']} recurring items."
            )
        )

    def _remove_demo_accounts(self) -> None:
        """Delete the demo user and the demo partner, whichever exist.

        A member with a balance in a shared book can neither leave it nor delete their
        account (409, SPEC §15), and a book is deleted only once its owner is alone in it.
        So each shared book that only the two of them hold is squared up first (the
        settle-up's transfers recorded as settlements), the partner leaves it, and it is
        deleted; then the accounts go. A book someone else has joined is left to the
        API's rules (the deletion is then refused with their message)."""
        demo = User.objects.filter(username=DEMO_USERNAME).first()
        partner = User.objects.filter(username=PARTNER_USERNAME).first()
        if demo is not None and partner is not None:
            books = (
                Book.objects.filter(kind=BookKind.SHARED, memberships__user=demo)
                .filter(memberships__user=partner)
                .distinct()
            )
            for book in books:
                members = {m.user_id: m for m in Membership.objects.filter(book=book)}
                if set(members) != {demo.pk, partner.pk}:
                    continue
                for transfer in book_settle_up(book=book):
                    settlement_create(
                        book=book,
                        user=demo,
                        data={
                            "from_user": transfer.from_user,
                            "to_user": transfer.to_user,
                            "amount": transfer.amount,
                            "date": date.today(),
                            "note": "Squared up before the demo reset",
                        },
                    )
                leaving = members[partner.pk]
                member_remove(book=book, member=leaving, by=partner, by_role=leaving.role)
                book_delete(book=book)
        for account in (partner, demo):
            if account is not None:
                user_delete(user=account)

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

    def _seed_plans(self, *, user: User, months: int) -> dict[str, int]:
        """Budgets, goals, recurring items and one unusual purchase in the personal book.

        The purchase comes first, so the anomaly check (run after each expense write)
        sees a year of ordinary shopping behind it. The budgets are sized from this
        budget month's actual spending: the biggest category exceeded, the next nearly
        used, the third comfortably within — their alerts become notifications."""
        book = user.personal_book
        today = date.today()
        expense_cat = {
            c.name: c for c in Category.objects.filter(book__isnull=True, kind=Kind.EXPENSE)
        }
        income_cat = {
            c.name: c for c in Category.objects.filter(book__isnull=True, kind=Kind.INCOME)
        }
        expense_create(
            user=user,
            book=book,
            data={
                "amount": Decimal("1899.00"),
                "date": today,
                "description": "New laptop",
                "merchant": "TechStore",
                "payment_method": "card",
                "category": expense_cat["Shopping"],
            },
        )
        year, month = budget_month_of(today, book.month_start_day)
        first = date(year, month, min(book.month_start_day, 28))
        spent = (
            Expense.objects.filter(book=book, date__gte=first, date__lte=today)
            .exclude(category=None)
            .values("category")
            .annotate(total=Sum("base_amount"))
            .order_by("-total")
        )
        budgets = 0
        for row, factor in zip(
            spent[:3], (Decimal("0.85"), Decimal("1.1"), Decimal("2")), strict=False
        ):
            budget_upsert(
                book=book,
                user=user,
                data={
                    "month": date(year, month, 1),
                    "scope": Scope.CATEGORY,
                    "category": Category.objects.get(pk=row["category"]),
                    "amount": (row["total"] * factor).quantize(Decimal("1")),
                },
            )
            budgets += 1
        goals = 0
        for name, target, target_date, saved_per_month in (
            ("Emergency fund", "10000.00", None, "400.00"),
            ("Trip to Japan", "3500.00", date(today.year + 1, 4, 1), "250.00"),
            ("New bike", "800.00", None, "200.00"),
        ):
            goal = goal_create(
                user=user,
                book=book,
                data={"name": name, "target_amount": Decimal(target), "target_date": target_date},
            )
            goals += 1
            saved, step = Decimal(0), Decimal(saved_per_month)
            for i in range(12):
                if saved >= goal.target_amount:
                    break
                y, m = add_months(today.year, today.month, i - 12 + 1)
                contribution_create(
                    goal=goal, user=user, data={"amount": step, "date": date(y, m, 1)}
                )
                saved += step
        next_year, next_month = add_months(today.year, today.month, 1)
        recurring = 0
        for kind, category, description, merchant, amount, day in (
            ("expense", expense_cat["Rent"], "Rent", "Oak Street Apartments", "1400.00", 1),
            ("expense", expense_cat["Utilities"], "Internet", "FiberNet", "49.99", 12),
            (
                "expense",
                expense_cat["Entertainment"],
                "Streaming subscription",
                "StreamFlix",
                "15.49",
                18,
            ),
            ("income", income_cat["Salary"], "Monthly salary", "Globex Corp", "4200.00", 25),
        ):
            # Starting next month: the history above already holds this month's.
            recurring_create(
                book=book,
                user=user,
                data={
                    "kind": kind,
                    "amount": Decimal(amount),
                    "description": description,
                    "category": category,
                    "merchant": merchant,
                    "frequency": Frequency.MONTHLY,
                    "start_date": date(next_year, next_month, day),
                    "auto_create": False,
                    "remind_days_before": 3,
                },
            )
            recurring += 1
        return {"budgets": budgets, "goals": goals, "recurring": recurring}

    def _seed_shared(self, *, user: User, months: int, rng: random.Random) -> dict[str, int]:
        """The demo partner and the shared book "Shared flat" (owner: the demo user,
        partner: editor, the demo's base currency) with `months` of split expenses —
        rent split equally, groceries 2:1, internet in exact amounts, dinners by percent,
        a weekend away in euros — and one settlement."""
        partner = user_register(
            username=PARTNER_USERNAME,
            email=PARTNER_EMAIL,
            password=PARTNER_PASSWORD,
            base_currency=user.base_currency,
        )
        book = book_create(user=user, name=SHARED_BOOK_NAME, base_currency=user.base_currency)
        # The one way into a book is an invitation whose token only goes out by email;
        # the demo partner joins directly, as its accepted invitation would make them.
        Membership.objects.create(book=book, user=partner, role=Role.EDITOR)
        category = {
            c.name: c for c in Category.objects.filter(book__isnull=True, kind=Kind.EXPENSE)
        }
        today = date.today()
        me, them = user.pk, partner.pk
        counts = {"expenses": 0, "settlements": 0}

        def split(mode: str, mine: str | None = None, theirs: str | None = None) -> dict:
            if mine is None or theirs is None:
                return {"mode": mode}
            return {
                "mode": mode,
                "parts": [
                    {"user": me, "value": Decimal(mine)},
                    {"user": them, "value": Decimal(theirs)},
                ],
            }

        def share(
            day: date,
            payer: User,
            category_name: str,
            description: str,
            merchant: str,
            amount: Decimal,
            how: dict,
            **extra: object,
        ) -> None:
            if day > today:
                return
            expense_create(
                user=payer,
                book=book,
                data={
                    "amount": amount,
                    "date": day,
                    "description": description,
                    "merchant": merchant,
                    "payment_method": "card",
                    "category": category[category_name],
                    "paid_by_id": payer.pk,
                    "split": how,
                    **extra,
                },
            )
            counts["expenses"] += 1

        first_year, first_month = add_months(today.year, today.month, -(months - 1))
        for i in range(months):
            year, month = add_months(first_year, first_month, i)
            rent = Decimal("1800.00")
            share(
                date(year, month, 1),
                user,
                "Rent",
                "Rent",
                "Oak Street Apartments",
                rent,
                split("equal"),
            )
            for week in range(3):
                share(
                    date(year, month, 4 + 8 * week),
                    user if week != 1 else partner,
                    "Groceries",
                    "Weekly groceries",
                    "FreshMart",
                    Decimal(rng.randint(4000, 16000)) / 100,
                    split("shares", "2", "1"),
                )
            share(
                date(year, month, 12),
                partner,
                "Utilities",
                "Internet and phone",
                "FiberNet",
                Decimal("59.99"),
                split("exact", "35.00", "24.99"),
            )
            share(
                date(year, month, 21),
                partner,
                "Food",
                "Dinner out",
                "Trattoria Roma",
                Decimal(rng.randint(5000, 12000)) / 100,
                split("percent", "60", "40"),
            )
        # A weekend away in euros (converted at the rates the personal part ensured).
        trip = date(first_year, first_month, 15)
        share(
            trip,
            partner,
            "Travel",
            "Hotel Porto",
            "Ribeira Guest House",
            Decimal("240.00"),
            split("equal"),
            currency="EUR",
        )
        share(
            trip + timedelta(days=1),
            user,
            "Travel",
            "Train to Porto",
            "CP Comboios",
            Decimal("86.40"),
            split("equal"),
            currency="EUR",
        )
        # The partner pays back part of their rent share: balances move, but stay open.
        settlement_create(
            book=book,
            user=partner,
            data={
                "from_user": them,
                "to_user": me,
                "amount": Decimal("500.00"),
                "date": min(date(first_year, first_month, 28), today),
                "note": "Rent, first half",
            },
        )
        counts["settlements"] += 1
        return counts
