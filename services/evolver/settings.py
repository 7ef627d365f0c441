"""Evolver settings: ``KW_EVOLVER_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from pydantic_settings import SettingsConfigDict

from kernelwright.core.discovery import DiscoverySettings


def default_state_path() -> str:
    return str(Path.home() / ".local" / "state" / "kernelwright" / "evolver.sqlite")


def parse_weights(text: str) -> dict[str, float]:
    """``"builtin=1,anthropic=0.5"`` -> ``{"builtin": 1.0, "anthropic": 0.5}`` (a bare name weighs 1)."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        try:
            weight = float(value) if value else 1.0
        except ValueError:
            raise ValueError(f"proposer weight {part!r}: {value!r} is not a number") from None
        if weight < 0:
            raise ValueError(f"proposer weight {part!r} is negative")
        weights[name.strip().lower()] = weight
    return weights


class EvolverSettings(DiscoverySettings):
    model_config = SettingsConfigDict(env_prefix="KW_EVOLVER_", extra="ignore")

    port: int = Field(50053, ge=0, le=65535)
    state_path: str = Field(default_factory=default_state_path,
                            description="SQLite file with every run, candidate and verdict (WAL mode); "
                            "':memory:' keeps nothing across restarts.")
    converter_addr: str = Field("", description="host:port of the converter; empty: KW_CONVERTER_ADDR or the "
                                "`kernelwright up` mesh file.")
    translator_addr: str = Field("", description="host:port of the translator service; empty: seed the first "
                                 "generation with the proposers in-process.")
    archive_addr: str = Field("", description="host:port of the archive; empty: KW_ARCHIVE_ADDR or the mesh "
                              "file; none found: no stepping stones and no archive write.")
    # Default budget (a StartRun field left 0 takes these).
    default_max_candidates: int = Field(64, ge=1)
    default_max_generations: int = Field(8, ge=1)
    default_max_wall_seconds: float = Field(3600.0, gt=0)
    default_max_llm_cost_usd: float = Field(5.0, ge=0)
    # Beyond these a budget is refused as absurd (INVALID_ARGUMENT).
    limit_max_candidates: int = Field(100_000, ge=1)
    limit_max_generations: int = Field(10_000, ge=1)
    limit_max_wall_seconds: float = Field(7 * 24 * 3600.0, gt=0)
    limit_max_llm_cost_usd: float = Field(10_000.0, ge=0)
    proposer_weights: str = Field("builtin=1", description="Default ensemble, e.g. builtin=1,anthropic=0.5.")
    max_active_runs: int = Field(8, ge=1, description="Runs evolving at once; more wait QUEUED.")
    max_queued_runs: int = Field(1000, ge=0, description="QUEUED runs beyond which StartRun is RESOURCE_EXHAUSTED.")
    seed_candidates: int = Field(3, ge=1, le=1000, description="Stage-2 candidates taken from each proposer "
                                 "to seed a run (the builtin one offers its whole schedule grid); the rest of "
                                 "the candidate budget goes to evolution.")
    offspring_per_generation: int = Field(8, ge=1, le=1000)
    generations_in_flight: int = Field(2, ge=1, le=16, description="Generations of one run evaluated at once: "
                                       "the next is bred from the verdicts in so far while earlier ones are still "
                                       "being evaluated; 1: each generation waits for the previous one's last "
                                       "verdict (a barrier that leaves evaluators idle).")
    crossover_rate: float = Field(0.25, ge=0, le=1)
    schedule_search_rate: float = Field(0.35, ge=0, le=1)
    stale_generations: int = Field(3, ge=1, description="Stop after this many generations with no new candidate.")
    stepping_stones: int = Field(4, ge=0, le=100, description="Archive hits given to proposers for seeding.")
    archive_elites: int = Field(3, ge=0, description="Besides the winner, this many other cell elites are archived "
                                "as stepping stones.")
    candidate_format: Literal["fast", "kernelbench"] = "fast"
    convert_trials: int = Field(0, ge=0, le=20, description="Converter validation trials; 0: its default.")
    convert_device: Literal["", "cpu", "cuda", "auto"] = ""
    stage_deadline_s: float = Field(600.0, gt=0, description="How long a stage call (converter, archive, "
                                    "translator) is retried through UNAVAILABLE / RESOURCE_EXHAUSTED.")
    # Evaluator dispatch.
    evaluator_inflight_per_endpoint: int = Field(0, ge=0, description="Candidates in flight per evaluator "
                                                 "endpoint; 0: twice its workers (from GetCapabilities), at least 2.")
    evaluator_rpc_timeout_s: float = Field(1800.0, gt=0)
    evaluator_no_pool_timeout_s: float = Field(120.0, gt=0, description="How long a candidate waits for a "
                                               "matching evaluator pool to appear before the run fails.")
    evaluator_verify_only: bool = False
    search_timing: Literal["candidate", "full"] = Field(
        "candidate", description="candidate: during seeding and evolution the evaluator times only the candidate "
        "(EvaluateOptions.skip_baselines; about a third of the GPU time per candidate), ranking is by its median "
        "time, and the best FINAL_REEVALUATIONS elites are evaluated again with eager and torch.compile timed "
        "when the search ends: every reported speedup comes from those. full: every candidate is timed with "
        "both baselines.")
    final_reevaluations: int = Field(2, ge=1, le=100, description="With search_timing=candidate: how many of the "
                                     "best distinct elites get a full evaluation at the end; the winner is the "
                                     "fastest of them by that evaluation.")
    confirm_winner: bool = Field(True, description="After the search (and the final full evaluations), evaluate "
                                 "the leader once more with both baselines, timed anew, and report that measurement: "
                                 "the one that selected it is the best of several noisy ones (winner's curse). A "
                                 "leader that falls behind is replaced by the next, which is confirmed too.")
    evaluator_timeout_s: float = Field(0.0, ge=0, description="Per-candidate limit sent to the evaluator; 0: its own.")

    @field_validator("proposer_weights")
    @classmethod
    def _weights(cls, value: str) -> str:
        if not parse_weights(value):
            raise ValueError("proposer_weights names no proposer")
        return value

    def default_weights(self) -> dict[str, float]:
        return parse_weights(self.proposer_weights)
