from django.core.management.base import BaseCommand

from users.roles import ensure_roles


class Command(BaseCommand):
    help = "Create the Admin and User role groups (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        groups = ensure_roles()
        self.stdout.write(self.style.SUCCESS("Roles present: " + ", ".join(g.name for g in groups)))
