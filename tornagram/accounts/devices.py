""""Chrome on macOS": a session's User-Agent as a person names their device.

Parsing is ua-parser's (the maintained Browserscope/uap-core rules), not ours: User-Agent
strings are a moving target. Pure functions, no I/O; the rules compile on first use (about half
a second), so callers run ``describe`` in an executor, never on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ua_parser import parse

# The families as the rules spell them -> the names people know today.
OS_NAMES = {"Mac OS X": "macOS", "Windows": "Windows", "Chrome OS": "ChromeOS"}
BROWSER_NAMES = {
    "Mobile Safari": "Safari",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "HeadlessChrome": "Chrome",
}
# Distinct strings kept; the sessions page shows a handful per user.
DESCRIBED_MAX = 4096
USER_AGENT_MAX_CHARS = 1000  # longer is no browser; the rules would only take longer


@dataclass(frozen=True, slots=True)
class Device:
    browser: str | None
    os: str | None


@lru_cache(maxsize=DESCRIBED_MAX)
def describe(user_agent: str) -> Device:
    if not user_agent:
        return Device(None, None)
    result = parse(user_agent[:USER_AGENT_MAX_CHARS])
    browser = result.user_agent.family if result.user_agent else None
    os_name = result.os.family if result.os else None
    if browser == "Other":
        browser = None
    if os_name == "Other":
        os_name = None
    if browser:
        browser = BROWSER_NAMES.get(browser, browser)
    if os_name:
        os_name = OS_NAMES.get(os_name, os_name)
    return Device(browser, os_name)
