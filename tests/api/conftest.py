from __future__ import annotations

import pytest

from tests.api.support import bearer, token_for


@pytest.fixture
async def api(site):
    """``await api(username, scope=…)``: an httpx client holding a fresh token for that
    person (signed up on the way, unless their signed-in ``client`` is given)."""
    opened = []

    async def make(username: str, *, scope: str = "read write follow push", client=None):
        token = await token_for(site, username, scope=scope, client=client)
        http = bearer(site, token)
        http.token = token
        opened.append(http)
        return http

    yield make
    for http in opened:
        await http.aclose()
