"""Fixtures of the insights tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ai.llm import reset_llm

from .fake_ollama import FakeOllama, RunningFakeOllama


@pytest.fixture
def fake_ollama(settings) -> Iterator[FakeOllama]:
    """A fake Ollama on 127.0.0.1 that `ai.llm.llm()` talks to (AI_PROVIDER=ollama, a 1 s
    timeout so "slow" costs a second). Set `fake_ollama.mode` (ai/tests/fake_ollama.py)."""
    with RunningFakeOllama() as server:
        settings.AI_PROVIDER = "ollama"
        settings.OLLAMA_URL = server.url
        settings.OLLAMA_MODEL = "fake-model"
        settings.OLLAMA_TIMEOUT_SECONDS = 1.0
        reset_llm()
        try:
            yield server
        finally:
            reset_llm()
