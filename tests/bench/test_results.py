"""The JSONL results file: append, read back, torn lines, resume keys, latest-wins."""

from kernelwright.bench.results import CANCELLED, ResultsWriter, TaskResult, done_keys, latest_by_task, read_results

from .helpers import error, failed, ok


def test_round_trip(tmp_path):
    path = tmp_path / "r" / "results.jsonl"
    w = ResultsWriter(path)
    originals = [ok("a", 1, 2.0, 1.5), failed("b", 2, "wrong answer"), error("c", 3)]
    for r in originals:
        w.append(r)
    assert list(read_results(path)) == originals
    assert len(path.read_text().splitlines()) == 3


def test_a_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "results.jsonl"
    ResultsWriter(path).append(ok("a", 1, 2.0, 1.5))
    with open(path, "a") as f:
        f.write('{"task": "b", "lev')  # what a crash mid-write leaves
    assert [r.task for r in read_results(path)] == ["a"]
    ResultsWriter(path).append(ok("c", 1, 1.0, 1.0))  # appending after the crash starts a fresh line
    assert [r.task for r in read_results(path)] == ["a", "c"]


def test_unknown_fields_from_a_newer_version_are_ignored(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"task": "a", "level": 1, "correct": true, "outcome": "SUCCEEDED", "new_field": 3}\n')
    (r,) = read_results(path)
    assert r == TaskResult(task="a", level=1, correct=True, outcome="SUCCEEDED")


def test_done_keys_skip_finished_tasks_but_retry_errors_and_cancelled(tmp_path):
    path = tmp_path / "results.jsonl"
    assert done_keys(path) == set()
    w = ResultsWriter(path)
    cancelled = TaskResult(task="d", level=1, outcome=CANCELLED)
    for r in (ok("a", 1, 2.0, 1.5), failed("b", 2), error("c", 3), cancelled, error("e", 1), ok("e", 1, 1.0, 1.0)):
        w.append(r)
    assert done_keys(path) == {"1/a", "2/b", "1/e"}


def test_latest_result_per_task_wins_in_first_seen_order():
    results = [error("a", 1), ok("b", 1, 1.0, 1.0), ok("a", 1, 3.0, 2.0), ok("a", 2, 1.0, 1.0)]
    latest = latest_by_task(results)
    assert [(r.key, r.outcome) for r in latest] == [("1/a", "SUCCEEDED"), ("1/b", "SUCCEEDED"), ("2/a", "SUCCEEDED")]
    assert latest[0].speedup_eager == 3.0
