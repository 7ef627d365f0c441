import io
import json

from kernelwright.core.logger import bind_request, clear_request, configure_logging, get_logger


def test_json_lines_off_tty_with_bound_ids():
    stream = io.StringIO()  # not a TTY -> JSON
    configure_logging("info", "auto", stream=stream)
    try:
        bind_request(run_id="r-1", task="19_ReLU")
        get_logger("t").info("hello", n=3)
    finally:
        clear_request()
    record = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert record["event"] == "hello"
    assert record["run_id"] == "r-1" and record["task"] == "19_ReLU" and record["n"] == 3
    assert record["level"] == "info"


def test_level_filters_debug():
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    get_logger("t").debug("hidden")
    assert "hidden" not in stream.getvalue()


def test_stdlib_logging_goes_through_same_renderer():
    import logging

    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    logging.getLogger("grpc.something").warning("from stdlib")
    record = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert record["event"] == "from stdlib"


def test_logging_to_stderr_follows_its_replacement(monkeypatch):
    # A CLI command configures logging with the stderr of its time; servers it started may log
    # after that stream is closed (pytest capture). The line must go to the current stderr.
    import io
    import sys

    old = io.StringIO()
    monkeypatch.setattr(sys, "stderr", old)
    configure_logging("info", "json", stream=sys.stderr)
    old.close()
    new = io.StringIO()
    monkeypatch.setattr(sys, "stderr", new)
    get_logger("t").warning("after the swap", n=1)
    assert '"after the swap"' in new.getvalue()
