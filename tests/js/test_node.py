"""The browser modules' own tests (live connection, danmaku lanes, page glue) run on Node's
built-in test runner; this brings them into the pytest run so a red JS test fails the build."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.helpers import require

JS_TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = JS_TESTS_DIR.parents[1]
# The suite takes about a second; this only stops a hung test from hanging the build.
NODE_TIMEOUT_SECS = 120


def test_js_modules_pass_their_node_tests() -> None:
    node = shutil.which("node")
    require(node is not None, "node", "not on PATH; the JS tests need Node 20 or newer")
    assert node is not None
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"}
    result = subprocess.run(
        [node, "--test", "--test-reporter=spec", str(JS_TESTS_DIR.relative_to(REPO_ROOT)) + "/"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_SECS,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"node --test tests/js/ failed:\n{output}"
    assert "# fail 0" in output or "ℹ fail 0" in output, output
