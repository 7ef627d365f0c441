"""One run, start to end: convert (stage 1) -> translate (stage 2) -> evolve (stage 3) -> archive (stage 4).

Re-entrant by design: everything a run learns is in the store before it is acted on, so executing a
run again after a crash skips what is done (the conversion, the seeding, a search that has ended),
re-sends candidates that were proposed but have no verdict yet, rebuilds the population from the
stored verdicts, and goes on.

With ``search_timing=candidate`` (the default) the search asks the evaluator to time candidates alone
(``skip_baselines``) and ranks them by their own median time; when the search ends, the best
``final_reevaluations`` elites are evaluated again with eager and torch.compile timed, and only those
full verdicts are reported, archived and put into the run's final message.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from grpc import aio

from kernelwright.archive.v1 import archive_pb2, archive_pb2_grpc
from kernelwright.common.v1 import kernel_pb2, task_pb2, verdict_pb2
from kernelwright.converter.v1 import converter_pb2, converter_pb2_grpc
from kernelwright.core.errors import ServiceError
from kernelwright.core.logger import get_logger
from kernelwright.evolver.budget import BudgetTracker
from kernelwright.evolver.dispatcher import EvaluatorDispatcher, EvaluatorRefused
from kernelwright.evolver.ensemble import SUPPORTS_PARENTS, Ensemble
from kernelwright.evolver.population import Elite, Population
from kernelwright.evolver.settings import EvolverSettings
from kernelwright.evolver.stages import Channels, StageUnavailable, call_with_retry, resolve_address, source_hash
from kernelwright.evolver.store import SELECTION_SUFFIX, VERIFIED, RunRecord, RunStore
from kernelwright.evolver.v1 import evolver_pb2 as pb
from kernelwright.gpu_evaluator.pool import candidate_id
from kernelwright.translator.proposers import Attempt, ProposalRequest, ProposerSettings, SteppingStone

log = get_logger("kernelwright.evolver.run")
FORMATS = {"fast": kernel_pb2.CANDIDATE_FORMAT_FAST, "kernelbench": kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH}
_CONVERTED = (converter_pb2.CONVERSION_OUTCOME_VALIDATED, converter_pb2.CONVERSION_OUTCOME_NOT_VALIDATED)


class RunFailed(Exception):
    """The run cannot go on; the message is the run's final reason."""


@dataclass
class _Context:
    record: RunRecord
    tracker: BudgetTracker
    ensemble: Ensemble
    program: task_pb2.FunctionalProgram = field(default_factory=task_pb2.FunctionalProgram)
    population: Population = field(default_factory=Population)
    known: set[str] = field(default_factory=set)
    history: list[Attempt] = field(default_factory=list)   # recent evaluated candidates, for feedback
    stones: list[SteppingStone] = field(default_factory=list)
    proposer_problems: int = 0

    @property
    def run_id(self) -> str:
        return self.record.id


class RunExecutor:
    def __init__(self, settings: EvolverSettings, store: RunStore, dispatcher: EvaluatorDispatcher,
                 channels: Channels, publish: Callable[[str], None],
                 proposer_settings: ProposerSettings | None = None) -> None:
        self.settings = settings
        self.store = store
        self.dispatcher = dispatcher
        self.channels = channels
        self.publish = publish
        self.proposer_settings = proposer_settings
        self._convert_locks: dict[str, asyncio.Lock] = {}

    # -- the run ----------------------------------------------------------------------------------
    async def execute(self, run_id: str) -> None:
        record = self.store.get_run(run_id)
        if record is None or record.final:
            return
        self.store.update_run(run_id, state=pb.RUN_STATE_RUNNING)
        self.publish(run_id)
        try:
            ensemble = Ensemble(record.proposers, self.proposer_settings)
            ctx = _Context(record, BudgetTracker(record.budget, record.spent), ensemble)
            await self._run(ctx)
        except (RunFailed, EvaluatorRefused, ServiceError) as exc:
            self._finish(run_id, pb.RUN_STATE_FAILED, str(exc))

    def _first_failure(self, run_id: str) -> str:
        """The first evaluated candidate's verdict message, so a failed run says why, not only how often."""
        for c in self.store.candidates(run_id):
            if c.verdict is not None and c.verdict.message:
                msg = " ".join(c.verdict.message.split())
                return f"; first ({c.candidate.id[:12]}): {msg[:300]}"
        return ""

    @property
    def _search_skips_baselines(self) -> bool:
        # Verify-only evaluations time nothing, so there is nothing to skip (and nothing to re-evaluate).
        return self.settings.search_timing == "candidate" and not self.settings.evaluator_verify_only

    async def _run(self, ctx: _Context) -> None:
        ctx.program = ctx.record.program or await self._convert(ctx)
        for c in self.store.candidates(ctx.run_id):
            ctx.known.add(c.candidate.id)
            if c.verdict is not None:
                ctx.population.add(c.candidate, c.verdict)
                ctx.history = (ctx.history + [Attempt(c.candidate, c.verdict)])[-4:]
        stop = ctx.record.search_stopped
        if not stop:
            stop = await self._search(ctx)
            self.store.update_run(ctx.run_id, search_stopped=stop)
        if not len(ctx.population):
            self._stage(ctx, pb.STAGE_ARCHIVE)
            counts = self.store.outcome_counts(ctx.run_id)
            detail = ", ".join(f"{k.removeprefix('VERDICT_OUTCOME_')}: {v}" for k, v in sorted(counts.items()))
            problems = f"; {ctx.proposer_problems} proposer problems" if ctx.proposer_problems else ""
            self._finish(ctx.run_id, pb.RUN_STATE_FAILED,
                         f"no verified candidate: {sum(counts.values())} evaluated ({detail or 'none'}){problems}; "
                         f"stopped: {stop}{self._first_failure(ctx.run_id)}")
            return
        winners = await self._final_elites(ctx)
        self._stage(ctx, pb.STAGE_ARCHIVE)
        if not winners:
            finals = self.store.final_verdicts(ctx.run_id)
            counts: dict[str, int] = {}
            for v in finals.values():
                name = verdict_pb2.VerdictOutcome.Name(v.outcome).removeprefix("VERDICT_OUTCOME_")
                counts[name] = counts.get(name, 0) + 1
            detail = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
            self._finish(ctx.run_id, pb.RUN_STATE_FAILED,
                         f"no candidate passed the final full evaluation: {len(finals)} re-evaluated ({detail}); "
                         f"stopped: {stop}")
            return
        note = await self.archive(ctx.record, ctx.program, winners)
        best = winners[0]
        t = best.verdict.timings
        self._finish(ctx.run_id, pb.RUN_STATE_SUCCEEDED,
                     f"best {best.candidate.id[:12]}: {t.speedup_vs_eager:.3g}x vs eager, "
                     f"{t.speedup_vs_compile:.3g}x vs compile; stopped: {stop}{note}")

    async def _search(self, ctx: _Context) -> str:
        """Stages 2-3 (with candidates left pending by a crash first); returns why the search stopped."""
        pending = [c.candidate for c in self.store.candidates(ctx.run_id, pending_only=True)]
        if pending:
            log.info("resuming candidates without a verdict", run=ctx.run_id, count=len(pending))
        stop = await self._evaluate(ctx, pending)
        if not ctx.record.seeded and not stop:
            self._stage(ctx, pb.STAGE_TRANSLATE)
            stop = await self._seed(ctx)
            self.store.update_run(ctx.run_id, seeded=True)
        if not stop:
            self._stage(ctx, pb.STAGE_EVOLVE)
            stop = await self._evolve(ctx)
        return stop

    # -- after the search: full evaluations of the best -----------------------------------------
    def _needs_final(self, elites: list[Elite]) -> bool:
        if self.settings.evaluator_verify_only:
            return False
        top = elites[: self.settings.final_reevaluations]
        # Also after "full": a run resumed under it may hold candidate-only verdicts from before.
        return self._search_skips_baselines or any(ranked_only(e.verdict) for e in top)

    async def _final_elites(self, ctx: _Context) -> list[Elite]:
        """The elites whose verdicts are reported, best first.

        With candidate-only search timing: the best ``final_reevaluations`` elites are evaluated again with
        both baselines; the winner is the fastest by that evaluation. Should none of them pass it, the next
        ones are tried, as many at a time. Then (``confirm_winner``) the leader is measured once more.
        Each verdict is stored as it arrives, so a resume only evaluates what is missing.
        """
        elites = ctx.population.elites()
        winners = await self._selected(ctx, elites)
        if self.settings.confirm_winner and not self.settings.evaluator_verify_only:
            winners = await self._confirm_leader(ctx, elites, winners)
        if winners:
            self.store.update_run(ctx.run_id, best_id=winners[0].candidate.id)
            self.publish(ctx.run_id)
        return winners

    async def _selected(self, ctx: _Context, elites: list[Elite]) -> list[Elite]:
        if not self._needs_final(elites):
            return reported_elites(elites, self.store.final_verdicts(ctx.run_id))
        k = self.settings.final_reevaluations
        finals = self.store.final_verdicts(ctx.run_id)
        for start in range(0, len(elites), k):
            batch = elites[start:start + k]
            missing = [e.candidate for e in batch if e.candidate.id not in finals]
            if missing:
                log.info("final full evaluation", run=ctx.run_id, count=len(missing))
                await self._evaluate_final(ctx, missing)
                finals = self.store.final_verdicts(ctx.run_id)
            if any(finals[e.candidate.id].outcome in VERIFIED for e in batch):
                break
        return reported_elites(elites, finals)

    async def _confirm_leader(self, ctx: _Context, elites: list[Elite], winners: list[Elite]) -> list[Elite]:
        """Measure the leader again and report that measurement, until the leader is a confirmed one.

        The verdict that made a candidate lead is the best of several noisy measurements, so it flatters
        it (session 8: two runs of one DenseNet201 search reported 1.10x and 0.83x). The repeat is timed anew
        (EvaluateOptions.measurement = 1, never a cached verdict); it replaces the candidate's final verdict,
        and the selecting one is kept under ``<id>#selection``. A confirmed leader that now ranks below an
        unconfirmed one hands the lead over, and that one is confirmed too: each candidate at most once.
        """
        finals = self.store.final_verdicts(ctx.run_id)
        while winners and winners[0].candidate.id + SELECTION_SUFFIX not in finals:
            top = winners[0]
            log.info("confirming the leader", run=ctx.run_id, candidate=top.candidate.id[:12])
            verdict = await self.dispatcher.evaluate(ctx.run_id, ctx.record.target_pool, ctx.record.task,
                                                     top.candidate, measurement=1)
            verdict.candidate_id = verdict.candidate_id or top.candidate.id
            self.store.record_confirmation(ctx.run_id, top.candidate.id, top.verdict, verdict)
            self.publish(ctx.run_id)
            finals = self.store.final_verdicts(ctx.run_id)
            # Re-rank with the confirmation in place of the selecting verdict (a failed one drops out).
            winners = reported_elites(elites, finals)
        return winners

    async def _evaluate_final(self, ctx: _Context, candidates: list[kernel_pb2.KernelCandidate]) -> None:
        """Full evaluations (never cut by the wall budget: a handful of them decide what is reported)."""
        async def one(candidate: kernel_pb2.KernelCandidate) -> None:
            verdict = await self.dispatcher.evaluate(ctx.run_id, ctx.record.target_pool, ctx.record.task, candidate)
            verdict.candidate_id = verdict.candidate_id or candidate.id
            self.store.record_final_verdict(ctx.run_id, candidate.id, verdict)
            self.publish(ctx.run_id)

        try:
            async with asyncio.TaskGroup() as group:
                for candidate in candidates:
                    group.create_task(one(candidate))
        except ExceptionGroup as group_error:
            raise group_error.exceptions[0] from None

    def _stage(self, ctx: _Context, stage: int) -> None:
        self.store.update_run(ctx.run_id, stage=stage, spent=ctx.tracker.tick())
        self.publish(ctx.run_id)

    def _finish(self, run_id: str, state: int, message: str) -> None:
        if self.store.finish_run_if_active(run_id, state, message):
            log.info("run ended", run=run_id, state=pb.RunState.Name(state), message=message)
        self.publish(run_id)

    # -- stage 1 ----------------------------------------------------------------------------------
    async def _convert(self, ctx: _Context) -> task_pb2.FunctionalProgram:
        self._stage(ctx, pb.STAGE_CONVERT)
        key = source_hash(ctx.record.task.source)
        # One conversion per distinct source at a time: 50 runs of one task convert it once.
        async with self._convert_locks.setdefault(key, asyncio.Lock()):
            program = self.store.conversion(key)
            if program is None:
                program = await self._call_converter(ctx.record.task)
                self.store.save_conversion(key, program)
        self.store.update_run(ctx.run_id, program=program)
        return program

    async def _call_converter(self, task: task_pb2.Task) -> task_pb2.FunctionalProgram:
        address = resolve_address("converter", self.settings.converter_addr)
        if not address:
            raise RunFailed("stage 1: no converter address (set KW_EVOLVER_CONVERTER_ADDR or run `kernelwright up`)")
        stub = converter_pb2_grpc.ConverterServiceStub(self.channels.get(address))
        request = converter_pb2.ConvertRequest(task=task, validation=converter_pb2.ValidationOptions(
            trials=self.settings.convert_trials, device=self.settings.convert_device))
        try:
            reply = await call_with_retry("converter", lambda: stub.Convert(request), self.settings.stage_deadline_s)
        except aio.AioRpcError as exc:
            raise RunFailed(f"stage 1 refused the task: {exc.code().name}: {exc.details()}") from exc
        except StageUnavailable as exc:
            raise RunFailed(f"stage 1: {exc}") from exc
        outcome = reply.verdict.outcome
        if outcome not in _CONVERTED or not reply.HasField("program"):
            raise RunFailed(f"stage 1 failed: {converter_pb2.ConversionOutcome.Name(outcome)}: {reply.verdict.message}")
        return reply.program

    # -- evaluation -------------------------------------------------------------------------------
    def _admit(self, ctx: _Context, generation: int, items: list[tuple[kernel_pb2.KernelCandidate, str]]
               ) -> list[kernel_pb2.KernelCandidate]:
        """Store new candidates (pending) within the candidate budget; returns those to evaluate."""
        fresh: list[tuple[kernel_pb2.KernelCandidate, str]] = []
        for candidate, operator in items:
            if not candidate.HasField("program"):
                candidate.program.CopyFrom(ctx.program)
            candidate.id = candidate_id(candidate)
            if candidate.id not in ctx.known and candidate.id not in {c.id for c, _ in fresh}:
                fresh.append((candidate, operator))
        fresh = fresh[:ctx.tracker.candidates_left()]
        added = self.store.add_candidates(ctx.run_id, generation, fresh)
        ctx.known.update(c.id for c in added)
        for _ in added:
            ctx.tracker.charge_candidate()
        self.store.update_run(ctx.run_id, spent=ctx.tracker.tick())
        return added

    async def _evaluate(self, ctx: _Context, candidates: list[kernel_pb2.KernelCandidate]) -> str:
        """Evaluate concurrently (the dispatcher spreads them); empty, or why the run must stop."""
        if not candidates:
            return ""
        try:
            async with asyncio.timeout(ctx.tracker.wall_left()):
                try:
                    async with asyncio.TaskGroup() as group:
                        for candidate in candidates:
                            group.create_task(self._evaluate_one(ctx, candidate))
                except ExceptionGroup as group_error:
                    # The first failure ends the run (e.g. EvaluatorRefused); the others were cancelled.
                    raise group_error.exceptions[0] from None
        except TimeoutError:
            return f"wall-time budget spent ({ctx.tracker.budget.max_wall_seconds:g} s)"
        return ""

    async def _evaluate_one(self, ctx: _Context, candidate: kernel_pb2.KernelCandidate) -> None:
        verdict = await self.dispatcher.evaluate(ctx.run_id, ctx.record.target_pool, ctx.record.task, candidate,
                                                 skip_baselines=self._search_skips_baselines)
        self._record(ctx, candidate, verdict)

    def _record(self, ctx: _Context, candidate: kernel_pb2.KernelCandidate, verdict: verdict_pb2.Verdict) -> None:
        verdict.candidate_id = verdict.candidate_id or candidate.id
        improved = ctx.population.add(candidate, verdict)
        best = ctx.population.best()
        best_id = best.candidate.id if improved and best is not None and best.candidate.id == candidate.id else None
        self.store.record_verdict(ctx.run_id, candidate.id, verdict, ctx.tracker.tick(), best_id)
        ctx.history = (ctx.history + [Attempt(candidate, verdict)])[-4:]
        self.publish(ctx.run_id)

    # -- stage 2 ----------------------------------------------------------------------------------
    async def _seed(self, ctx: _Context) -> str:
        ctx.stones, direct = await self._stepping_stones(ctx)
        items = [(c, "archive") for c in direct]
        if self.settings.translator_addr:
            items += await self._translate_remote(ctx)
        rng = random.Random(f"{ctx.run_id}:seed")
        calls = [(name, "translate", self._request(ctx, []))
                 for name in ctx.ensemble.weights if ctx.tracker.cost_left() > 0 or name == "builtin"]
        rng.shuffle(calls)
        items += await self._propose(ctx, calls, share=self.settings.seed_candidates)
        return await self._evaluate(ctx, self._admit(ctx, 0, items))

    async def _stepping_stones(self, ctx: _Context) -> tuple[list[SteppingStone], list[kernel_pb2.KernelCandidate]]:
        address = resolve_address("archive", self.settings.archive_addr)
        if not address or not self.settings.stepping_stones:
            return [], []
        stub = archive_pb2_grpc.ArchiveServiceStub(self.channels.get(address))
        request = archive_pb2.SearchRequest(ops=list(ctx.program.ops), inputs=list(ctx.program.inputs),
                                            functional_source=ctx.program.source, limit=self.settings.stepping_stones)
        try:
            reply = await call_with_retry("archive", lambda: stub.Search(request, timeout=30),
                                          min(30.0, self.settings.stage_deadline_s))
        except (aio.AioRpcError, StageUnavailable) as exc:
            # Stepping stones help; they are not required. The run goes on without them.
            log.warning("no stepping stones", run=ctx.run_id, reason=str(exc)[:200])
            return [], []
        stones, direct = [], []
        signature = "+".join(ctx.program.ops)
        for hit in reply.hits:
            e = hit.entry
            stones.append(SteppingStone(e.cuda_source, e.speedup_eager, f"{e.task_name} ({e.op_signature})"))
            # A kernel of the very same computation in the self-contained format can be tried as is.
            if (e.op_signature == signature and e.format == kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH
                    and "ModelNew" in e.cuda_source):
                direct.append(kernel_pb2.KernelCandidate(format=e.format, kernelbench_source=e.cuda_source,
                                                         proposer=f"archive:{e.id}"))
        return stones, direct

    async def _translate_remote(self, ctx: _Context) -> list[tuple[kernel_pb2.KernelCandidate, str]]:
        """Stage 2 through the translator service; its attempts are recorded (already evaluated), except
        verified-but-untimed ones, which are returned to be evaluated (timed) with the other seeds."""
        from kernelwright.translator.v1 import translator_pb2, translator_pb2_grpc

        stub = translator_pb2_grpc.TranslatorServiceStub(self.channels.get(self.settings.translator_addr))
        request = translator_pb2.TranslateRequest(
            task=ctx.record.task, program=ctx.program, proposers=list(ctx.ensemble.weights),
            max_attempts=min(ctx.tracker.candidates_left(), 8), target_gpu=ctx.record.target_pool,
            format=FORMATS[self.settings.candidate_format])
        try:
            reply = await call_with_retry("translator", lambda: stub.Translate(request),
                                          self.settings.stage_deadline_s)
        except (aio.AioRpcError, StageUnavailable) as exc:
            log.warning("translator failed; seeding in-process", run=ctx.run_id, reason=str(exc)[:200])
            return []
        retime: list[tuple[kernel_pb2.KernelCandidate, str]] = []
        for attempt in reply.attempts:
            if self._needs_timing(attempt.verdict):
                # The translator only verifies (by default): an untimed verdict ranks below every timed
                # one, so its candidate - often the best first guess - could never win. Evaluate it here.
                retime.append((attempt.candidate, "translate"))
                continue
            added = self._admit(ctx, 0, [(attempt.candidate, "translate")])
            if added:
                self._record(ctx, added[0], attempt.verdict)
        return retime

    def _needs_timing(self, verdict: verdict_pb2.Verdict) -> bool:
        return (verdict.outcome == verdict_pb2.VERDICT_OUTCOME_VERIFIED_UNTIMED
                and not self.settings.evaluator_verify_only)

    # -- stage 3 ----------------------------------------------------------------------------------
    async def _evolve(self, ctx: _Context) -> str:
        """Generations overlap: the next one is bred from the population as it stands and sent while up to
        ``generations_in_flight - 1`` earlier ones are still being evaluated. With a barrier (1) a run's
        slowest candidate held back its next generation and the evaluators ran dry between generations."""
        depth = self.settings.generations_in_flight
        inflight: deque[asyncio.Task[str]] = deque()
        stale = 0
        why = ""
        try:
            while not why:
                why = ctx.tracker.exhausted()
                if why:
                    break
                generation = ctx.tracker.spent.generations + 1
                items = await self._propose(ctx, self._breed(ctx, generation))
                added = self._admit(ctx, generation, items)
                ctx.tracker.spent.generations = generation
                self.store.update_run(ctx.run_id, spent=ctx.tracker.tick())
                self.publish(ctx.run_id)
                if not added:
                    if inflight:
                        # Nothing new from a population still waiting for verdicts: not convergence.
                        why = await inflight.popleft()
                        continue
                    stale += 1
                    if stale >= self.settings.stale_generations:
                        why = f"converged: no new candidate in {stale} generations"
                    continue
                stale = 0
                inflight.append(asyncio.create_task(self._evaluate(ctx, added)))
                while len(inflight) >= depth and not why:
                    why = await inflight.popleft()
            # Candidates already sent are evaluated to the end (each is bounded by the wall budget).
            while inflight:
                reason = await inflight.popleft()
                why = why or reason
            return why
        finally:
            for task in inflight:
                task.cancel()
            await asyncio.gather(*inflight, return_exceptions=True)

    def _breed(self, ctx: _Context, generation: int) -> list[tuple[str, str, ProposalRequest]]:
        """Proposer calls for one generation: mutation, crossover, schedule search, or (no parent yet)
        a fresh translation with the recent failures as feedback."""
        rng = random.Random(f"{ctx.run_id}:{generation}")
        s = self.settings
        calls = []
        for _ in range(s.offspring_per_generation):
            free_only = ctx.tracker.cost_left() <= 0
            if not len(ctx.population):
                name = ctx.ensemble.choose(rng, free_only=free_only)
                if name:
                    calls.append((name, "retranslate", self._request(ctx, list(ctx.history))))
                continue
            r = rng.random()
            parent = ctx.population.select(rng)
            pair = ctx.population.select_pair(rng)
            if r < s.schedule_search_rate and parent.candidate.schedule and ctx.ensemble.has("builtin"):
                calls.append(("builtin", "schedule", self._request(ctx, [_attempt(parent)])))
            elif r < s.schedule_search_rate + s.crossover_rate and pair is not None:
                name = ctx.ensemble.choose(rng, free_only=free_only)
                if name:
                    history = [_attempt(pair[0]), _attempt(pair[1])]
                    calls.append((name, "crossover", self._request(ctx, history, parents=history)))
            else:
                name = ctx.ensemble.choose(rng, free_only=free_only)
                if name:
                    calls.append((name, "mutate", self._request(ctx, [_attempt(parent)])))
        return calls

    def _request(self, ctx: _Context, history: list[Attempt], parents: list[Attempt] | None = None) -> ProposalRequest:
        kwargs = {}
        if parents is not None and SUPPORTS_PARENTS:
            kwargs["parents"] = parents
        return ProposalRequest(
            task_name=ctx.record.task.name, task_source=ctx.record.task.source, functional_source=ctx.program.source,
            format=FORMATS[self.settings.candidate_format], ops=list(ctx.program.ops),
            input_specs=list(ctx.program.inputs), target_gpu=ctx.record.target_pool, stepping_stones=ctx.stones,
            history=history, parameter_names=None, program=ctx.program, **kwargs)

    async def _propose(self, ctx: _Context, calls: list[tuple[str, str, ProposalRequest]],
                       share: int | None = None) -> list[tuple[kernel_pb2.KernelCandidate, str]]:
        """Run proposer calls (a few at a time); each call contributes at most its share of new candidates."""
        if not calls:
            return []
        share = share or max(1, math.ceil(self.settings.offspring_per_generation / len(calls)))
        gate = asyncio.Semaphore(4)

        async def one(name: str, operator: str, request: ProposalRequest):
            async with gate:
                if name != "builtin" and ctx.tracker.cost_left() <= 0:
                    return []
                try:
                    result = await ctx.ensemble.proposers[name].propose(request)
                except Exception as exc:  # noqa: BLE001 - a failing proposer costs a turn, not the run
                    ctx.proposer_problems += 1
                    log.warning("proposer failed", run=ctx.run_id, proposer=name, error=str(exc)[:200])
                    return []
            ctx.tracker.charge_cost(result.usage.cost_usd)
            ctx.proposer_problems += len(result.problems)
            parent_ids = [a.candidate.id for a in request.history if a.candidate.id]
            out = []
            for c in result.candidates:
                c.proposer = c.proposer or name
                if not c.parent_ids and operator not in ("translate", "retranslate"):
                    c.parent_ids.extend(parent_ids)
                c.id = candidate_id(c)
                if c.id not in ctx.known:
                    out.append((c, operator))
            return out[:share]

        results = await asyncio.gather(*(one(*call) for call in calls))
        return [item for result in results for item in result]

    # -- stage 4 ----------------------------------------------------------------------------------
    async def archive(self, record: RunRecord, program: task_pb2.FunctionalProgram, reported: list[Elite]) -> str:
        """Write the winner and a few other elites (stepping stones) with their reported (full) verdicts;
        ``reported`` is best first (:func:`reported_elites`). Returns a note for the run's message."""
        address = resolve_address("archive", self.settings.archive_addr)
        if not address:
            return "; not archived: no archive address"
        stub = archive_pb2_grpc.ArchiveServiceStub(self.channels.get(address))
        elites = reported[: 1 + self.settings.archive_elites]
        try:
            for elite in elites:
                entry = archive_entry(record.task, program, elite)
                await call_with_retry("archive", lambda e=entry: stub.PutEntry(archive_pb2.PutEntryRequest(entry=e)),
                                      self.settings.stage_deadline_s)
        except (aio.AioRpcError, StageUnavailable) as exc:
            log.warning("archive write failed; will retry on restart", run=record.id, reason=str(exc)[:200])
            return f"; archive write pending ({str(exc)[:120]})"
        self.store.update_run(record.id, archived=True)
        return f"; archived {len(elites)}"


def ranked_only(verdict: verdict_pb2.Verdict) -> bool:
    """A timed verdict without baselines (EvaluateOptions.skip_baselines): good for ranking, not reporting."""
    t = verdict.timings
    return verdict.outcome == verdict_pb2.VERDICT_OUTCOME_ACCEPTED and t.candidate.median_ms > 0 and not t.eager.median_ms


def reported_elites(elites: list[Elite], finals: dict[str, verdict_pb2.Verdict]) -> list[Elite]:
    """The elites to report, best first, each with the verdict that reports it: its final verdict (a full
    re-evaluation or a confirmation) where it has one, else its search verdict if that one timed the
    baselines (full-timing searches); candidate-only verdicts and failed ones are not reported."""
    chosen = []
    for e in elites:
        verdict = finals.get(e.candidate.id)
        if verdict is None and not ranked_only(e.verdict):
            verdict = e.verdict
        if verdict is not None and verdict.outcome in VERIFIED:
            chosen.append(Elite(e.candidate, verdict, e.order))
    return sorted(chosen, key=lambda e: e.score, reverse=True)


def _attempt(elite: Elite) -> Attempt:
    return Attempt(elite.candidate, elite.verdict)


def archive_entry(task: task_pb2.Task, program: task_pb2.FunctionalProgram, elite: Elite) -> archive_pb2.ArchiveEntry:
    c, v = elite.candidate, elite.verdict
    t = v.timings
    return archive_pb2.ArchiveEntry(
        task_name=task.name or "task", op_signature="+".join(program.ops), level=task.level, task_id=task.task_id,
        ops=list(program.ops), inputs=list(program.inputs), module_source=task.source,
        functional_source=program.source, cuda_source=c.cuda_source or c.kernelbench_source, format=c.format,
        correct=True, verified=True, max_abs_error=v.max_abs_error, max_rel_error=v.max_rel_error,
        runtime_ms=t.candidate.median_ms, eager_ms=t.eager.median_ms, compile_ms=t.compiled.median_ms,
        speedup_eager=t.speedup_vs_eager, speedup_compile=t.speedup_vs_compile, hardware=v.hardware,
        parent_ids=list(c.parent_ids), provenance="kernelwright", torch_profile=v.profile.text)
