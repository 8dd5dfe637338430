"""--behind-proxy trusts exactly what the documented nginx sets: the right-most hop of
X-Forwarded-For (appended by nginx from the connection it accepted) and X-Forwarded-Proto.
A client-set X-Real-Ip, or hops a client put in front, change nothing."""

from __future__ import annotations

import pytest

from tests.helpers import site_settings
from tornagram.accounts import throttle


@pytest.fixture
def settings(tmp_path, database_url):
    return site_settings(tmp_path, database_url, behind_proxy=True)


async def test_rotating_x_real_ip_still_reaches_the_per_ip_limit(site):
    c = site.client()
    # What nginx sends for one client who sets X-Real-Ip and a fake first hop every time.
    for i in range(throttle.MAX_FAILURES_PER_IP + 5):
        headers = {
            "X-Real-Ip": f"10.9.{i // 250}.{i % 250 + 1}",
            "X-Forwarded-For": f"198.51.100.{i % 250 + 1}, 203.0.113.7",
        }
        r = await c.http.post(
            "/login",
            data={"_xsrf": await c.xsrf(), "login": f"name{i}", "password": "wrong password"},
            headers=headers,
        )
        expected = 400 if i < throttle.MAX_FAILURES_PER_IP else 429
        assert r.status_code == expected, (i, r.status_code)
    # Another client behind the same proxy has its own count.
    r = await c.http.post(
        "/login",
        data={"_xsrf": await c.xsrf(), "login": "someone", "password": "wrong password"},
        headers={"X-Forwarded-For": "203.0.113.8"},
    )
    assert r.status_code == 400


async def test_forwarded_proto_from_the_proxy_makes_cookies_secure(site):
    c = site.client()
    token = await c.xsrf()
    data = {
        "_xsrf": token,
        "username": "cleo",
        "email": "c@example.org",
        "password": "long enough pw",
    }
    r = await c.http.post(
        "/signup", data=data, headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.1"}
    )
    assert r.status_code == 303
    assert "Secure" in r.headers["set-cookie"]
    # A made-up scheme is not believed.
    r = await site.client().get("/login", headers={"X-Forwarded-Proto": "gopher"})
    assert r.status_code == 200
