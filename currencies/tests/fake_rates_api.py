"""A tiny Frankfurter-style rates API served on 127.0.0.1 for the provider tests."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeReply:
    status: int = 200
    body: object = None  # a dict is sent as JSON, bytes as they are
    delay: float = 0.0


@dataclass
class FakeRatesServer:
    url: str
    replies: list[FakeReply] = field(default_factory=list)
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)

    def reply(self, *replies: FakeReply | dict) -> None:
        """Queue replies (a dict is a 200 with that JSON), used in order; the last repeats."""
        self.replies.extend(r if isinstance(r, FakeReply) else FakeReply(body=r) for r in replies)

    @staticmethod
    def rates(day: str = "2026-11-20", base: str = "EUR", **rates: float) -> dict:
        return {"amount": 1.0, "base": base, "date": day, "rates": rates}
