"""The JSON log format: one object a line, the record's fields and what the code passed."""

from __future__ import annotations

import json
import logging

from tornagram.logs import JsonFormatter


def record(msg: str, *args, exc_info=None, **extra) -> logging.LogRecord:
    rec = logging.getLogger("tornagram.test").makeRecord(
        "tornagram.test", logging.WARNING, __file__, 1, msg, args, exc_info, extra=extra
    )
    return rec


def test_a_line_is_one_json_object_with_the_extra_fields():
    line = JsonFormatter().format(record("saved %s for %s", "猫", 42, request_id="abc12345"))
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "saved 猫 for 42"
    assert parsed["level"] == "warning" and parsed["logger"] == "tornagram.test"
    assert parsed["request_id"] == "abc12345"
    assert parsed["time"].endswith("Z")
    # LogRecord's own attributes stay out: the line carries what was said, not the plumbing.
    assert not {"args", "msg", "pathname", "lineno", "exc_info"} & set(parsed)


def test_an_exception_is_one_field_of_the_same_line():
    try:
        raise ValueError("no good")
    except ValueError:
        import sys

        line = JsonFormatter().format(record("failed", exc_info=sys.exc_info()))
    assert "\n" not in line
    parsed = json.loads(line)
    assert "ValueError: no good" in parsed["exception"]
