from __future__ import annotations

import pytest

from .fake_llm_server import FakeLLMServer


@pytest.fixture
def fake_llm():
    server = FakeLLMServer().start()
    try:
        yield server
    finally:
        server.stop()
