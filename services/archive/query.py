"""Query / result value types and the retrieval plan shared by every back end."""

from __future__ import annotations

from dataclasses import dataclass, field

from .entry import ArchiveEntry

# Retrieval plan (identical for the in-process engine and the Qdrant server engine):
#   1. candidates = top CANDIDATES(limit) by cosine of the dense "graph" vector, payload-filtered
#   2. rank the candidates by the sparse "code" dot product (only those sharing a token)
#   3. weighted reciprocal-rank fusion: score = sum_i w_i / (rank_i + 1 + w_i * (RRF_K - 1))
#      (Qdrant's RRF formula with k=RRF_K and weights [W_GRAPH, W_CODE])
RRF_K = 1
W_GRAPH = 2.0
W_CODE = 1.0
MIN_CANDIDATES = 64


def candidates_for(limit: int) -> int:
    return max(MIN_CANDIDATES, 4 * limit)


def rrf_term(pos: int, weight: float, k: int = RRF_K) -> float:
    if weight <= 0:
        return 0.0
    return 1.0 / ((pos + 1.0) / weight + k - 1.0)


@dataclass
class SearchQuery:
    ops: list[str] = field(default_factory=list)
    input_shapes: list[list[int]] = field(default_factory=list)
    input_dtypes: list[str] = field(default_factory=list)
    functional_source: str = ""
    correct_only: bool = True
    verified_only: bool = False
    hardware: str | None = None
    exclude_task: str | None = None


@dataclass
class SearchHit:
    entry: ArchiveEntry
    score: float


@dataclass
class PutResult:
    id: str
    duplicate: bool = False
    replaced: bool = False  # duplicate whose stored row was overwritten (verified beats unverified)


@dataclass
class ArchiveStats:
    total: int = 0
    correct: int = 0
    verified: int = 0
    by_hardware: dict[str, int] = field(default_factory=dict)
    by_format: dict[str, int] = field(default_factory=dict)
    by_level: dict[str, int] = field(default_factory=dict)  # "1", "2", ... ; "" = unknown
