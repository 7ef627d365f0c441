"""The run store: every run, candidate and verdict in one SQLite file (WAL), one transaction per change.

Why SQLite: one evolver process owns its runs; WAL gives crash-safe commits without a server, and
a killed evolver reopens the file and carries on. Candidates are keyed by (run, candidate id) where
the id is the content hash, so proposing or evaluating the same kernel twice is a no-op.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from kernelwright.common.v1 import kernel_pb2, task_pb2, verdict_pb2
from kernelwright.evolver.v1 import evolver_pb2 as pb

FINAL_STATES = (pb.RUN_STATE_SUCCEEDED, pb.RUN_STATE_FAILED, pb.RUN_STATE_CANCELLED)
VERIFIED = (verdict_pb2.VERDICT_OUTCOME_ACCEPTED, verdict_pb2.VERDICT_OUTCOME_VERIFIED_UNTIMED)
# final_verdicts rows under "<candidate id>#selection" hold the measurement that made a confirmed leader lead.
SELECTION_SUFFIX = "#selection"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    request_id TEXT UNIQUE,
    state INTEGER NOT NULL,
    stage INTEGER NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    task BLOB NOT NULL,
    budget BLOB NOT NULL,
    spent BLOB NOT NULL,
    proposers TEXT NOT NULL,
    target_pool TEXT NOT NULL DEFAULT '',
    program BLOB,
    seeded INTEGER NOT NULL DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0,
    best_id TEXT NOT NULL DEFAULT '',
    search_stopped TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS candidates (
    run_id TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    operator TEXT NOT NULL,
    candidate BLOB NOT NULL,
    verdict BLOB,
    outcome INTEGER,
    PRIMARY KEY (run_id, id)
);
CREATE INDEX IF NOT EXISTS candidates_pending ON candidates (run_id, outcome);
-- Full evaluations (eager and torch.compile timed) of a run's best candidates after a search that
-- timed candidates alone; apart from the search verdicts, so both survive and a resume sees which
-- re-evaluations are still missing.
CREATE TABLE IF NOT EXISTS final_verdicts (
    run_id TEXT NOT NULL,
    id TEXT NOT NULL,
    verdict BLOB NOT NULL,
    PRIMARY KEY (run_id, id)
);
CREATE TABLE IF NOT EXISTS conversions (
    source_hash TEXT PRIMARY KEY,
    program BLOB NOT NULL
);
"""

# Columns added after the first release: (table, column, definition). A file made before them gets
# them on open (SQLite's ADD COLUMN with a default fills existing rows).
_ADDED_COLUMNS = (
    ("runs", "search_stopped", "TEXT NOT NULL DEFAULT ''"),
)


@dataclass
class RunRecord:
    id: str
    state: int
    stage: int
    message: str
    task: task_pb2.Task
    budget: pb.Budget
    spent: pb.BudgetSpent
    proposers: dict[str, float]
    target_pool: str
    program: task_pb2.FunctionalProgram | None
    seeded: bool
    archived: bool
    best_id: str
    created: float
    updated: float
    # Why the search (stages 2-3) ended, once it has; a resumed run then goes straight on from there.
    search_stopped: str = ""

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


@dataclass
class CandidateRecord:
    candidate: kernel_pb2.KernelCandidate
    generation: int
    operator: str
    verdict: verdict_pb2.Verdict | None = None
    seq: int = 0
    final_verdict: verdict_pb2.Verdict | None = None   # the full re-evaluation, when there was one

    @property
    def verified(self) -> bool:
        return self.verdict is not None and self.verdict.outcome in VERIFIED

    @property
    def reported_verdict(self) -> verdict_pb2.Verdict | None:
        """What is reported for this candidate: the full re-evaluation when there is one."""
        return self.final_verdict if self.final_verdict is not None else self.verdict


class RunStore:
    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL: a crash of this process loses nothing committed; only power loss could.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        for table, column, definition in _ADDED_COLUMNS:
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- transactions -----------------------------------------------------------------------
    def _write(self, statements: list[tuple[str, tuple]]) -> list[sqlite3.Cursor]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cursors = [self._db.execute(sql, args) for sql, args in statements]
                self._db.execute("COMMIT")
                return cursors
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _read(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- runs -------------------------------------------------------------------------------
    def create_run(self, task: task_pb2.Task, budget: pb.Budget, proposers: dict[str, float], target_pool: str,
                   request_id: str = "") -> tuple[str, bool]:
        """Returns (run id, created); a known ``request_id`` returns the existing run."""
        if request_id:
            rows = self._read("SELECT id FROM runs WHERE request_id = ?", (request_id,))
            if rows:
                return rows[0][0], False
        run_id = uuid.uuid4().hex[:16]
        now = time.time()
        try:
            self._write([("INSERT INTO runs (id, request_id, state, stage, task, budget, spent, proposers, "
                          "target_pool, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                          (run_id, request_id or None, pb.RUN_STATE_QUEUED, pb.STAGE_UNSPECIFIED,
                           task.SerializeToString(), budget.SerializeToString(),
                           pb.BudgetSpent().SerializeToString(), json.dumps(proposers), target_pool, now, now))])
        except sqlite3.IntegrityError:  # the same request_id raced us
            return self._read("SELECT id FROM runs WHERE request_id = ?", (request_id,))[0][0], False
        return run_id, True

    def run_for_request(self, request_id: str) -> str:
        rows = self._read("SELECT id FROM runs WHERE request_id = ?", (request_id,))
        return rows[0][0] if rows else ""

    _RUN_COLUMNS = ("id, state, stage, message, task, budget, spent, proposers, target_pool, program, seeded, "
                    "archived, best_id, created, updated, search_stopped")

    @staticmethod
    def _run(row: tuple) -> RunRecord:
        (rid, state, stage, message, task, budget, spent, proposers, target_pool, program, seeded, archived,
         best_id, created, updated, search_stopped) = row
        return RunRecord(rid, state, stage, message, task_pb2.Task.FromString(task), pb.Budget.FromString(budget),
                         pb.BudgetSpent.FromString(spent), json.loads(proposers), target_pool,
                         task_pb2.FunctionalProgram.FromString(program) if program is not None else None,
                         bool(seeded), bool(archived), best_id, created, updated, search_stopped)

    def get_run(self, run_id: str) -> RunRecord | None:
        rows = self._read(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        return self._run(rows[0]) if rows else None

    def list_runs(self, states: list[int], offset: int, limit: int) -> tuple[list[RunRecord], bool]:
        where, args = "", ()
        if states:
            where = f"WHERE state IN ({','.join('?' * len(states))})"
            args = tuple(states)
        rows = self._read(f"SELECT {self._RUN_COLUMNS} FROM runs {where} ORDER BY seq LIMIT ? OFFSET ?",
                          (*args, limit + 1, offset))
        return [self._run(r) for r in rows[:limit]], len(rows) > limit

    def unfinished_runs(self) -> list[str]:
        rows = self._read("SELECT id FROM runs WHERE state IN (?, ?) ORDER BY seq",
                          (pb.RUN_STATE_QUEUED, pb.RUN_STATE_RUNNING))
        return [r[0] for r in rows]

    def unarchived_runs(self) -> list[str]:
        rows = self._read("SELECT id FROM runs WHERE state = ? AND archived = 0 ORDER BY seq",
                          (pb.RUN_STATE_SUCCEEDED,))
        return [r[0] for r in rows]

    def count_in_states(self, states: tuple[int, ...]) -> int:
        return self._read(f"SELECT COUNT(*) FROM runs WHERE state IN ({','.join('?' * len(states))})",
                          states)[0][0]

    def update_run(self, run_id: str, *, state: int | None = None, stage: int | None = None,
                   message: str | None = None, spent: pb.BudgetSpent | None = None,
                   program: task_pb2.FunctionalProgram | None = None, seeded: bool | None = None,
                   archived: bool | None = None, search_stopped: str | None = None,
                   best_id: str | None = None) -> None:
        sets: list[str] = ["updated = ?"]
        args: list[object] = [time.time()]
        for column, value in (("state", state), ("stage", stage), ("message", message),
                              ("seeded", seeded), ("archived", archived), ("search_stopped", search_stopped),
                              ("best_id", best_id)):
            if value is not None:
                sets.append(f"{column} = ?")
                args.append(int(value) if isinstance(value, bool) else value)
        if spent is not None:
            sets.append("spent = ?")
            args.append(spent.SerializeToString())
        if program is not None:
            sets.append("program = ?")
            args.append(program.SerializeToString())
        self._write([(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", (*args, run_id))])

    def finish_run_if_active(self, run_id: str, state: int, message: str) -> bool:
        """Move to a final state unless already final (a cancel racing the end keeps the first)."""
        cur = self._write([("UPDATE runs SET state = ?, message = ?, updated = ? WHERE id = ? AND state IN (?, ?)",
                            (state, message, time.time(), run_id, pb.RUN_STATE_QUEUED, pb.RUN_STATE_RUNNING))])[0]
        return cur.rowcount > 0

    # -- candidates -------------------------------------------------------------------------
    def add_candidates(self, run_id: str, generation: int,
                       items: list[tuple[kernel_pb2.KernelCandidate, str]]) -> list[kernel_pb2.KernelCandidate]:
        """Insert new candidates (pending); returns those that were not already in this run."""
        if not items:
            return []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM candidates WHERE run_id = ?",
                                       (run_id,)).fetchone()[0]
                added = []
                for candidate, operator in items:
                    cur = self._db.execute(
                        "INSERT OR IGNORE INTO candidates (run_id, id, seq, generation, operator, candidate) "
                        "VALUES (?,?,?,?,?,?)",
                        (run_id, candidate.id, seq + 1, generation, operator, candidate.SerializeToString()))
                    if cur.rowcount:
                        seq += 1
                        added.append(candidate)
                self._db.execute("COMMIT")
                return added
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def record_verdict(self, run_id: str, candidate_id: str, verdict: verdict_pb2.Verdict,
                       spent: pb.BudgetSpent, best_id: str | None) -> None:
        """The verdict, the budget spent and the best so far, in one transaction."""
        statements = [
            ("UPDATE candidates SET verdict = ?, outcome = ? WHERE run_id = ? AND id = ?",
             (verdict.SerializeToString(), verdict.outcome, run_id, candidate_id)),
            ("UPDATE runs SET spent = ?, updated = ? WHERE id = ?", (spent.SerializeToString(), time.time(), run_id)),
        ]
        if best_id is not None:
            statements.append(("UPDATE runs SET best_id = ? WHERE id = ?", (best_id, run_id)))
        self._write(statements)

    _CANDIDATE_SELECT = ("SELECT c.candidate, c.generation, c.operator, c.verdict, c.seq, f.verdict FROM candidates c "
                         "LEFT JOIN final_verdicts f ON f.run_id = c.run_id AND f.id = c.id WHERE c.run_id = ?")

    @staticmethod
    def _candidate(row: tuple) -> CandidateRecord:
        c, g, op, v, s, final = row
        return CandidateRecord(kernel_pb2.KernelCandidate.FromString(c), g, op,
                               verdict_pb2.Verdict.FromString(v) if v is not None else None, s,
                               verdict_pb2.Verdict.FromString(final) if final is not None else None)

    def candidates(self, run_id: str, *, pending_only: bool = False) -> list[CandidateRecord]:
        where = " AND c.verdict IS NULL" if pending_only else ""
        rows = self._read(f"{self._CANDIDATE_SELECT}{where} ORDER BY c.seq", (run_id,))
        return [self._candidate(r) for r in rows]

    def candidate(self, run_id: str, candidate_id: str) -> CandidateRecord | None:
        rows = self._read(f"{self._CANDIDATE_SELECT} AND c.id = ?", (run_id, candidate_id))
        return self._candidate(rows[0]) if rows else None

    # -- final (full) re-evaluations --------------------------------------------------------
    def record_final_verdict(self, run_id: str, candidate_id: str, verdict: verdict_pb2.Verdict) -> None:
        self._write([("INSERT OR REPLACE INTO final_verdicts (run_id, id, verdict) VALUES (?, ?, ?)",
                      (run_id, candidate_id, verdict.SerializeToString())),
                     ("UPDATE runs SET updated = ? WHERE id = ?", (time.time(), run_id))])

    def record_confirmation(self, run_id: str, candidate_id: str, selection: verdict_pb2.Verdict,
                            confirmation: verdict_pb2.Verdict) -> None:
        """The leader's repeat measurement becomes its final verdict; the one that selected it is kept under
        ``<id>#selection`` (which also marks the candidate as confirmed). One transaction: a crash leaves
        either both or neither."""
        self._write([("INSERT OR REPLACE INTO final_verdicts (run_id, id, verdict) VALUES (?, ?, ?)",
                      (run_id, candidate_id + SELECTION_SUFFIX, selection.SerializeToString())),
                     ("INSERT OR REPLACE INTO final_verdicts (run_id, id, verdict) VALUES (?, ?, ?)",
                      (run_id, candidate_id, confirmation.SerializeToString())),
                     ("UPDATE runs SET updated = ? WHERE id = ?", (time.time(), run_id))])

    def final_verdicts(self, run_id: str) -> dict[str, verdict_pb2.Verdict]:
        rows = self._read("SELECT id, verdict FROM final_verdicts WHERE run_id = ?", (run_id,))
        return {cid: verdict_pb2.Verdict.FromString(v) for cid, v in rows}

    def outcome_counts(self, run_id: str) -> dict[str, int]:
        rows = self._read("SELECT outcome, COUNT(*) FROM candidates WHERE run_id = ? AND outcome IS NOT NULL "
                          "GROUP BY outcome", (run_id,))
        return {verdict_pb2.VerdictOutcome.Name(o): n for o, n in rows}

    # -- stage 1 cache ----------------------------------------------------------------------
    def conversion(self, source_hash: str) -> task_pb2.FunctionalProgram | None:
        rows = self._read("SELECT program FROM conversions WHERE source_hash = ?", (source_hash,))
        return task_pb2.FunctionalProgram.FromString(rows[0][0]) if rows else None

    def save_conversion(self, source_hash: str, program: task_pb2.FunctionalProgram) -> None:
        self._write([("INSERT OR REPLACE INTO conversions (source_hash, program) VALUES (?, ?)",
                      (source_hash, program.SerializeToString()))])
