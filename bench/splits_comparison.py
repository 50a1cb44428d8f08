"""Splits compared: one trip computed here, by hand, and (if recorded) by ihatemoney.

    .venv/bin/python -m bench.splits_comparison [--json PATH] [--ihatemoney PATH]

A fixed scenario (issue 15): 3 people (Ana, Ben, Chloé), a shared book in EUR, 20
expenses, 6 of them in USD at a fixed rate (1 EUR = 1.0850 USD, created here), in all
four split modes, paid by different people, plus one settlement. It is computed:

- here: through the services (`expenses.services.expense_create`,
  `splits.services.settlement_create`), then `splits.selectors.book_balances` and
  `book_settle_up`, on a throwaway SQLite database (recreated on each run:
  /tmp/bt_splits_comparison.sqlite3, or SPLITS_COMPARISON_DATABASE_URL);
- by hand: in exact rational arithmetic, independent of the project's code. Each USD
  expense is converted to EUR and rounded half up to the cent once (what the bank
  statement shows), then each person's part is amount × weight ÷ total weight, never
  rounded; balances are rounded to the cent only when printed;
- by ihatemoney: `bench/ihatemoney_scenario.py` (run in its own venv, see its docstring)
  writes bench/results/splits_ihatemoney.json; when that file exists its answer is
  printed alongside.

Prints the tables and writes JSON (default bench/results/splits_comparison.json).
Never run by the test suite. Everything above the `here` section is plain Python, so
the ihatemoney driver can import the scenario without Django.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT_ROOT / "bench" / "results" / "splits_comparison.json"
IHATEMONEY_RESULTS = PROJECT_ROOT / "bench" / "results" / "splits_ihatemoney.json"
DEFAULT_DATABASE_URL = "sqlite:////tmp/bt_splits_comparison.sqlite3"

PEOPLE = ["Ana", "Ben", "Chloé"]
BASE_CURRENCY = "EUR"
# ECB style: 1 EUR buys 1.0850 USD, from 1 March 2026 (one rate for the whole trip).
RATE_DATE = date(2026, 3, 1)
EUR_USD = Decimal("1.0850")

# (date, description, amount, currency, paid by, mode, parts). Parts: None = equal among
# everyone; for `equal` a list of names; otherwise {name: value} (shares: weights,
# exact: amounts in the expense currency, percent: summing to 100).
EXPENSES: list[tuple[date, str, str, str, str, str, Any]] = [
    (date(2026, 3, 2), "Groceries", "100.00", "EUR", "Ana", "equal", None),
    (date(2026, 3, 2), "Airport taxi", "47.90", "EUR", "Ben", "equal", None),
    (date(2026, 3, 3), "Dinner", "128.45", "USD", "Chloé", "equal", None),
    (date(2026, 3, 3), "Museum", "45.00", "EUR", "Ana", "equal", ["Ana", "Chloé"]),
    (
        date(2026, 3, 4),
        "Apartment",
        "612.37",
        "EUR",
        "Ana",
        "shares",
        {"Ana": 2, "Ben": 1, "Chloé": 1},
    ),
    (date(2026, 3, 4), "Coffee", "10.01", "EUR", "Ben", "shares", {"Ana": 2, "Ben": 1, "Chloé": 1}),
    (
        date(2026, 3, 5),
        "Car rental",
        "199.99",
        "USD",
        "Ben",
        "percent",
        {"Ana": 50, "Ben": 25, "Chloé": 25},
    ),
    (
        date(2026, 3, 5),
        "Fuel",
        "61.20",
        "USD",
        "Chloé",
        "percent",
        {"Ana": "33.33", "Ben": "33.33", "Chloé": "33.34"},
    ),
    (
        date(2026, 3, 6),
        "Concert",
        "150.00",
        "USD",
        "Chloé",
        "exact",
        {"Ana": "50.00", "Ben": "60.00", "Chloé": "40.00"},
    ),
    (date(2026, 3, 6), "Pharmacy", "23.17", "EUR", "Ana", "exact", {"Ben": "23.17"}),
    (date(2026, 3, 7), "Lunch", "76.55", "EUR", "Ben", "equal", None),
    (
        date(2026, 3, 7),
        "Boat trip",
        "240.00",
        "USD",
        "Ana",
        "shares",
        {"Ana": 1, "Ben": 1, "Chloé": 2},
    ),
    (date(2026, 3, 8), "Wine", "33.33", "EUR", "Chloé", "equal", ["Ben", "Chloé"]),
    (date(2026, 3, 8), "Supermarket", "88.88", "USD", "Ana", "equal", None),
    (
        date(2026, 3, 9),
        "Bike rental",
        "64.00",
        "EUR",
        "Ben",
        "percent",
        {"Ana": 40, "Ben": 40, "Chloé": 20},
    ),
    (
        date(2026, 3, 9),
        "Souvenirs",
        "19.99",
        "EUR",
        "Chloé",
        "exact",
        {"Ana": "9.99", "Chloé": "10.00"},
    ),
    (date(2026, 3, 10), "Breakfast", "27.40", "EUR", "Chloé", "equal", None),
    (
        date(2026, 3, 10),
        "Train",
        "134.70",
        "EUR",
        "Ana",
        "shares",
        {"Ana": "1.5", "Ben": 1, "Chloé": 1},
    ),
    (date(2026, 3, 11), "Parking", "14.00", "EUR", "Ben", "equal", None),
    (
        date(2026, 3, 11),
        "Farewell dinner",
        "210.50",
        "EUR",
        "Ben",
        "percent",
        {"Ana": 30, "Ben": 30, "Chloé": 40},
    ),
]
# (date, from, to, amount in EUR): Ben paid Ana back part of what he owed mid-trip.
SETTLEMENTS = [(date(2026, 3, 6), "Ben", "Ana", "100.00")]

CENT = Decimal("0.01")


def weights_of(mode: str, parts: Any) -> dict[str, Fraction]:
    """Each person's weight in an expense (exact parts: their amount)."""
    if parts is None:
        return {name: Fraction(1) for name in PEOPLE}
    if mode == "equal":
        return {name: Fraction(1) for name in parts}
    return {name: Fraction(Decimal(str(value))) for name, value in parts.items()}


def to_eur_by_hand(amount: str, currency: str) -> Decimal:
    """The expense in EUR, rounded half up to the cent once."""
    if currency == BASE_CURRENCY:
        return Decimal(amount)
    return (Decimal(amount) / EUR_USD).quantize(CENT, rounding=ROUND_HALF_UP)


def hand_compute() -> dict[str, Any]:
    """Balances (paid − share + settled out − settled in, in EUR) as exact fractions."""
    paid = {name: Fraction(0) for name in PEOPLE}
    share = {name: Fraction(0) for name in PEOPLE}
    for _, _, amount, currency, payer, mode, parts in EXPENSES:
        eur = Fraction(to_eur_by_hand(amount, currency))
        paid[payer] += eur
        weights = weights_of(mode, parts)
        whole = sum(weights.values())
        for name, weight in weights.items():
            share[name] += eur * weight / whole
    out = {name: Fraction(0) for name in PEOPLE}
    into = {name: Fraction(0) for name in PEOPLE}
    for _, payer, payee, amount in SETTLEMENTS:
        out[payer] += Fraction(Decimal(amount))
        into[payee] += Fraction(Decimal(amount))
    balance = {name: paid[name] - share[name] + out[name] - into[name] for name in PEOPLE}
    assert sum(balance.values()) == 0
    # Settle-up by hand: the biggest debtor pays the biggest creditor, repeatedly.
    left = dict(balance)
    transfers = []
    while any(left.values()):
        debtor = min(left, key=lambda name: left[name])
        creditor = max(left, key=lambda name: left[name])
        amount = min(-left[debtor], left[creditor])
        transfers.append((debtor, creditor, amount))
        left[debtor] += amount
        left[creditor] -= amount
    return {"paid": paid, "share": share, "balance": balance, "transfers": transfers}


def cents(value: Fraction | Decimal) -> Decimal:
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def exact_text(value: Fraction) -> str:
    """A fraction to 6 decimals, marked `…` when that is not exact."""
    text = f"{Decimal(value.numerator) / Decimal(value.denominator):.6f}"
    return text if (value * 10**6).denominator == 1 else text + "…"


# --- here: through the project's services (needs Django) ----------------------------------


def configure_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    for key, value in {
        "DJANGO_SETTINGS_MODULE": "budget_tracker.settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-splits-comparison-7d2e9c",
        "ALLOWED_HOSTS": "localhost",
        "RATES_BUNDLED_AUTOLOAD": "false",  # the scenario creates the one rate it needs
        "RATES_FETCH_ON_MISS": "false",
        "LOG_LEVEL": "WARNING",
    }.items():
        os.environ.setdefault(key, value)
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def here_compute() -> dict[str, Any]:
    from books.models import Membership, Role
    from books.services import book_create
    from currencies.services import rate_create
    from expenses.services import expense_create
    from splits.selectors import book_balances, book_settle_up
    from splits.services import settlement_create
    from users.services import user_register

    users = {
        name: user_register(
            username=f"comparison_{index}",
            email=f"comparison{index}@example.invalid",
            password="Splits-comparison-2026",
            base_currency=BASE_CURRENCY,
        )
        for index, name in enumerate(PEOPLE)
    }
    names = {user.pk: name for name, user in users.items()}
    book = book_create(user=users["Ana"], name="Lisbon trip", base_currency=BASE_CURRENCY)
    for name in PEOPLE[1:]:
        Membership.objects.create(book=book, user=users[name], role=Role.EDITOR)
    rate_create(base="EUR", quote="USD", date=RATE_DATE, rate=EUR_USD, source="comparison")
    expenses = []
    for day, description, amount, currency, payer, mode, parts in EXPENSES:
        if parts is None:
            split_parts = []
        elif mode == "equal":
            split_parts = [{"user": users[name].pk} for name in parts]
        else:
            split_parts = [
                {"user": users[name].pk, "value": Decimal(str(value))}
                for name, value in parts.items()
            ]
        expense = expense_create(
            user=users[payer],
            book=book,
            data={
                "amount": Decimal(amount),
                "currency": currency,
                "date": day,
                "description": description,
                "paid_by_id": users[payer].pk,
                "split": {"mode": mode, "parts": split_parts},
            },
        )
        expenses.append(
            {
                "description": description,
                "amount": f"{amount} {currency}",
                "base_amount": str(cents(expense.base_amount)),
                "parts": {
                    names[share.user_id]: [str(cents(share.amount)), str(cents(share.base_amount))]
                    for share in expense.shares.order_by("user_id")
                },
            }
        )
    for day, payer, payee, amount in SETTLEMENTS:
        settlement_create(
            book=book,
            user=users[payer],
            data={
                "from_user": users[payer].pk,
                "to_user": users[payee].pk,
                "amount": Decimal(amount),
                "currency": BASE_CURRENCY,
                "date": day,
            },
        )
    rows = {names[row["user"]]: row for row in book_balances(book=book)}
    transfers = [
        (names[transfer.from_user], names[transfer.to_user], transfer.amount)
        for transfer in book_settle_up(book=book)
    ]
    # The settle-up, recorded as settlements: what is left afterwards.
    for payer, payee, amount in transfers:
        settlement_create(
            book=book,
            user=users[payer],
            data={
                "from_user": users[payer].pk,
                "to_user": users[payee].pk,
                "amount": amount,
                "currency": BASE_CURRENCY,
                "date": date(2026, 3, 12),
            },
        )
    after = {names[row["user"]]: row["balance"] for row in book_balances(book=book)}
    return {"rows": rows, "transfers": transfers, "expenses": expenses, "after": after}


# --- output ---------------------------------------------------------------------------------


def load_ihatemoney(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    return json.loads(path.read_text())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--ihatemoney", type=Path, default=IHATEMONEY_RESULTS)
    args = parser.parse_args(argv)

    hand = hand_compute()
    configure_django(os.environ.get("SPLITS_COMPARISON_DATABASE_URL", DEFAULT_DATABASE_URL))
    here = here_compute()
    ihm = load_ihatemoney(args.ihatemoney)

    print(
        f"{len(EXPENSES)} expenses, {len(SETTLEMENTS)} settlement, book in {BASE_CURRENCY}, "
        f"1 EUR = {EUR_USD} USD\n"
    )
    print(f"{'expense':16} {'amount':>12} {'EUR':>8}  parts here (EUR)")
    for row in here["expenses"]:
        parts = ", ".join(f"{name} {base}" for name, (_, base) in row["parts"].items())
        print(f"{row['description']:16} {row['amount']:>12} {row['base_amount']:>8}  {parts}")
    print()
    header = (
        f"{'member':8} {'paid':>9} {'share':>9} {'balance here':>13} {'by hand (exact)':>16} "
        f"{'here − hand':>12}"
    )
    if ihm:
        header += f" {'ihatemoney':>18}"
    print(header)
    print("-" * len(header))
    for name in PEOPLE:
        row = here["rows"][name]
        exact = hand["balance"][name]
        gap = Fraction(row["balance"]) - exact
        line = (
            f"{name:8} {cents(row['paid']):>9} {cents(row['share']):>9} "
            f"{cents(row['balance']):>13} {exact_text(exact):>16} {float(gap):>+12.6f}"
        )
        if ihm:
            line += f" {ihm['balances'][name]:>18.12f}"
        print(line)
    total_here = sum((Decimal(here["rows"][name]["balance"]) for name in PEOPLE), Decimal(0))
    total_hand = exact_text(sum(hand["balance"].values()))
    print(
        f"{'sum':8} {'':>9} {'':>9} {cents(total_here):>13} {total_hand:>16} {'':>12}"
        + (f" {sum(ihm['balances'].values()):>18.3g}" if ihm else "")
    )
    print()

    def show(label: str, transfers: list[tuple[str, str, Any]]) -> None:
        text = "; ".join(f"{a} → {b} {amount}" for a, b, amount in transfers) or "none"
        print(f"{label:20} {text}")

    show("settle-up here", [(a, b, cents(amount)) for a, b, amount in here["transfers"]])
    show("by hand (cents)", [(a, b, cents(amount)) for a, b, amount in hand["transfers"]])
    if ihm:
        show(
            "ihatemoney",
            [(t["ower"], t["receiver"], f"{t['amount']:.2f}") for t in ihm["transfers"]],
        )
    else:
        print(f"(no ihatemoney answer at {args.ihatemoney}: run bench/ihatemoney_scenario.py)")
    print()
    print("balances once the settle-up is recorded:")
    exact = all(value == 0 for value in here["after"].values())
    shown = ", ".join(f"{name} {cents(value)}" for name, value in here["after"].items())
    print(f"  here        {shown}{' (exactly zero)' if exact else ' (NOT zero)'}")
    if ihm:
        left = ihm["balances_after_settling"]
        print(f"  ihatemoney  {', '.join(f'{n} {left[n]!r}' for n in PEOPLE)}")

    report = {
        "scenario": {"people": PEOPLE, "expenses": len(EXPENSES), "eur_usd": str(EUR_USD)},
        "here": {
            "balances": {
                name: {key: str(cents(row[key])) for key in ("paid", "share", "balance")}
                for name, row in here["rows"].items()
            },
            "transfers": [[a, b, str(cents(amount))] for a, b, amount in here["transfers"]],
            "balances_after_settling": {name: str(value) for name, value in here["after"].items()},
            "expenses": here["expenses"],
        },
        "by_hand": {
            "balances": {name: exact_text(value) for name, value in hand["balance"].items()},
            "transfers": [[a, b, str(cents(amount))] for a, b, amount in hand["transfers"]],
        },
        "ihatemoney": ihm,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten: {args.json}")


if __name__ == "__main__":
    main()
