"""Re-encrypt every stored secret under the first key of ENCRYPTION_KEYS (core/crypto.py)."""

from typing import Any

from django.core.management.base import BaseCommand

from core.crypto import rotate_all


class Command(BaseCommand):
    help = (
        "Write every encrypted secret again under the first key of ENCRYPTION_KEYS. Run it "
        "after putting a new key first; drop the old keys once it reports no unreadable values."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = rotate_all()
        unreadable = counts.pop("unreadable")
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count} re-encrypted")
        if unreadable:
            self.stderr.write(
                f"{unreadable} values could not be decrypted with any key of ENCRYPTION_KEYS "
                "and were left as they are (their owners must reconnect)."
            )
        else:
            self.stdout.write("No unreadable values: keys after the first may be removed.")
