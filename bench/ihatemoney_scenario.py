"""The splits comparison scenario entered into ihatemoney (issue 15).

Needs ihatemoney in a venv of its own, outside the project (it is no dependency of
ours and pins Flask/SQLAlchemy versions we do not use):

    python3 -m venv /tmp/ihm && /tmp/ihm/bin/pip install ihatemoney
    /tmp/ihm/bin/python bench/ihatemoney_scenario.py [--json PATH]

Then `.venv/bin/python -m bench.splits_comparison` prints its answer beside ours.

It imports the scenario from bench/splits_comparison.py (the plain-Python part) and
drives ihatemoney's own Flask app through its REST API (`/api/projects/…`, with its
test client and a throwaway SQLite file, /tmp/ihatemoney_scenario.db): a project in
EUR, three members of weight 1, one bill per expense. ihatemoney cannot express
everything the scenario does, so:

- equal splits (all or some members) are one bill with those members as owers;
- shares, percent and exact splits are one bill per person in the split, owed by that
  person alone: ihatemoney's weights belong to a member for the whole project, not to a
  bill, and it has no exact or percent bills. Shares and percent parts are entered as
  the arithmetic expression its amount field accepts (e.g. `612.37*2/4`), which it
  evaluates in floating point; exact parts as their amount;
- the settlement is a bill of type "Reimbursement" from Ben to Ana;
- USD bills are entered already converted to EUR. ihatemoney 7.x refuses a bill in
  another currency than the project's ("Failed to convert from USD currency to EUR":
  its rates API started needing a key, upstream issue #1232, so conversion is turned
  off in its forms). Each USD amount is converted once, whole, by ihatemoney's own
  `CurrencyConverter.exchange_currency` (float, rounded to 2 decimals by round()),
  given the scenario's fixed rate (1 EUR = 1.0850 USD) instead of the network; its
  parts are then split from that EUR amount.

Balances are what its `/statistics` endpoint answers; transfers are
`Project.get_transactions_to_settle_bill()`, what its "Settle" page shows (the `debts`
package). Writes bench/results/splits_ihatemoney.json.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import platform
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# Run as a script, this folder is first on sys.path, and bench/limits.py would shadow the
# `limits` package flask-limiter needs.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
RESULTS = HERE / "results" / "splits_ihatemoney.json"
DATABASE = Path("/tmp/ihatemoney_scenario.db")
PROJECT = "lisbontrip"
PASSWORD = "lisbon-trip"


def scenario() -> Any:
    """bench/splits_comparison.py, loaded by path: its top half needs no Django."""
    spec = importlib.util.spec_from_file_location(
        "splits_comparison", HERE / "splits_comparison.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Config:
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{DATABASE}"
    SECRET_KEY = "bench-only-ihatemoney-scenario"
    TESTING = True  # flask-mail does not send the project-created email
    WTF_CSRF_ENABLED = False
    ENABLE_CAPTCHA = False
    ACTIVATE_DEMO_PROJECT = False


def bills_for(sc: Any, ids: dict[str, int], to_eur: Any) -> list[dict[str, Any]]:
    """The scenario's expenses and settlements as ihatemoney bills (form fields)."""
    bills = []
    for day, description, original, currency, payer, mode, parts in sc.EXPENSES:
        amount = original if currency == sc.BASE_CURRENCY else f"{to_eur(original, currency):.2f}"
        common = {
            "date": day.isoformat(),
            "payer": ids[payer],
            "original_currency": sc.BASE_CURRENCY,
            "bill_type": "Expense",
        }
        if mode == "equal":
            owers = sc.PEOPLE if parts is None else parts
            bills.append(
                {
                    **common,
                    "what": description,
                    "amount": amount,
                    "payed_for": [ids[name] for name in owers],
                }
            )
            continue
        whole = sum(Decimal(str(value)) for value in parts.values())  # shares: "3.5", not 7/2
        for name, value in parts.items():
            if mode == "exact" and currency == sc.BASE_CURRENCY:
                expression = str(value)
            elif mode == "exact":  # a share of the converted amount, like the others
                expression = f"{amount}*{value}/{original}"
            elif mode == "percent":
                expression = f"{amount}*{value}/100"
            else:
                expression = f"{amount}*{value}/{whole}"
            bills.append(
                {
                    **common,
                    "what": f"{description} ({name})",
                    "amount": expression,
                    "payed_for": [ids[name]],
                }
            )
    for day, payer, payee, amount in sc.SETTLEMENTS:
        bills.append(
            {
                "date": day.isoformat(),
                "what": "Settlement",
                "payer": ids[payer],
                "amount": amount,
                "original_currency": sc.BASE_CURRENCY,
                "bill_type": "Reimbursement",
                "payed_for": [ids[payee]],
            }
        )
    return bills


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()

    from importlib.metadata import version

    from ihatemoney.currency_convertor import CurrencyConverter
    from ihatemoney.models import Project
    from ihatemoney.run import create_app, db

    sc = scenario()
    usd_per_usd, eur_per_usd = 1.0, 1 / float(sc.EUR_USD)
    CurrencyConverter().get_rates = lambda: {"USD": usd_per_usd, "EUR": eur_per_usd, "XXX": 1.0}

    DATABASE.unlink(missing_ok=True)
    app = create_app(Config, instance_path="/tmp", instance_relative_config=False)
    with app.app_context():
        db.create_all()
    client = app.test_client()
    token = base64.b64encode(f"{PROJECT}:{PASSWORD}".encode()).decode()
    auth = {"Authorization": f"Basic {token}"}

    def post(path: str, data: dict[str, Any]) -> Any:
        response = client.post(f"/api/projects{path}", data=data, headers=auth)
        if response.status_code != 201:
            raise SystemExit(
                f"POST {path} {data}: {response.status_code} {response.get_data(True)}"
            )
        return response.get_json()

    post(
        "",
        {
            "name": "Lisbon trip",
            "id": PROJECT,
            "password": PASSWORD,
            "contact_email": "trip@example.com",
            "default_currency": sc.BASE_CURRENCY,
        },
    )
    ids = {name: post(f"/{PROJECT}/members", {"name": name}) for name in sc.PEOPLE}
    converter = CurrencyConverter()

    def to_eur(amount: str, currency: str) -> float:
        return converter.exchange_currency(float(amount), currency, sc.BASE_CURRENCY)

    converted = {
        description: [amount, currency, to_eur(amount, currency)]
        for _, description, amount, currency, *_ in sc.EXPENSES
        if currency != sc.BASE_CURRENCY
    }
    bills = bills_for(sc, ids, to_eur)
    for bill in bills:
        post(f"/{PROJECT}/bills", bill)

    stats = client.get(f"/api/projects/{PROJECT}/statistics", headers=auth).get_json()
    listed = client.get(f"/api/projects/{PROJECT}/bills", headers=auth).get_json()
    with app.app_context():
        transfers = Project.query.get(PROJECT).get_transactions_to_settle_bill(pretty_output=True)
    by_id = {member_id: name for name, member_id in ids.items()}
    # Its suggested transfers, recorded as reimbursements: what is left afterwards.
    for transfer in transfers:
        post(
            f"/{PROJECT}/bills",
            {
                "date": "2026-03-12",
                "what": "Settle up",
                "payer": ids[transfer["ower"]],
                "amount": str(transfer["amount"]),
                "original_currency": sc.BASE_CURRENCY,
                "bill_type": "Reimbursement",
                "payed_for": [ids[transfer["receiver"]]],
            },
        )
    after = client.get(f"/api/projects/{PROJECT}/statistics", headers=auth).get_json()
    result = {
        "ihatemoney": version("ihatemoney"),
        "python": platform.python_version(),
        "bills": len(bills),
        "converted": converted,
        "bills_entered": [
            [bill["what"], bill["amount"], bill["converted_amount"]] for bill in listed
        ],
        "balances": {by_id[row["member"]["id"]]: row["balance"] for row in stats},
        "spent": {by_id[row["member"]["id"]]: -row["spent"] for row in stats},
        "paid": {by_id[row["member"]["id"]]: row["paid"] for row in stats},
        "transfers": transfers,
        "balances_after_settling": {by_id[row["member"]["id"]]: row["balance"] for row in after},
    }
    print(f"ihatemoney {result['ihatemoney']}: {len(bills)} bills")
    for name in sc.PEOPLE:
        print(
            f"{name:8} paid {result['paid'][name]:10.4f}  spent {result['spent'][name]:10.4f}  "
            f"balance {result['balances'][name]!r}"
        )
    print(f"sum of balances: {sum(result['balances'].values())!r}")
    for transfer in transfers:
        ower, receiver = transfer["ower"], transfer["receiver"]
        print(f"{ower} → {receiver} {transfer['amount']} {transfer['currency']}")
    print(f"balances after recording them: {result['balances_after_settling']!r}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"written: {args.json}")


if __name__ == "__main__":
    main()
