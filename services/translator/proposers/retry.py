"""Bounded retries with exponential backoff, full jitter and ``retry-after``."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from kernelwright.translator.proposers.base import ProposerUnavailable

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True)
class Failure:
    """How one failed call is judged: retry or not, after how long the server asked, and why."""

    retryable: bool
    reason: str
    retry_after_s: float | None = None


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    deadline_s: float | None = None
    # retry-after values beyond this are capped (a server asking for an hour is not honoured blindly).
    max_retry_after_s: float = 120.0

    def delay(self, retry: int, retry_after_s: float | None, rng: random.Random) -> float:
        backoff = min(self.backoff_max_s, self.backoff_initial_s * (2**retry))
        d = rng.uniform(backoff / 2, backoff)  # "equal jitter": never zero, never above the cap
        if retry_after_s is not None:
            d = max(d, min(retry_after_s, self.max_retry_after_s))
        return d


def parse_retry_after(headers: object) -> float | None:
    """Seconds from ``retry-after-ms`` / ``retry-after`` (delta-seconds only)."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        v = get(name)
        if v:
            try:
                return max(0.0, float(v) * scale)
            except ValueError:
                continue
    return None


async def call_with_retries(
    fn: Callable[[], Awaitable[T]],
    *,
    classify: Callable[[BaseException], Failure | None],
    policy: RetryPolicy,
    endpoint: str,
    rng: random.Random | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_retry: Callable[[int, Failure, float], None] | None = None,
) -> T:
    """Run ``fn``; on a retryable failure wait and try again, at most ``max_retries`` times.

    ``classify`` returns None for exceptions that are not endpoint failures (they propagate).
    Raises ProposerUnavailable naming the endpoint when attempts or the deadline run out, or at
    once on a non-retryable endpoint failure (e.g. 401).
    """
    rng = rng or random.Random()
    start = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        try:
            return await fn()
        except Exception as exc:  # noqa: BLE001 - classified below
            failure = classify(exc)
            if failure is None:
                raise
            if not failure.retryable:
                raise ProposerUnavailable(
                    f"{endpoint}: request failed ({failure.reason}); not retryable",
                    endpoint=endpoint, attempts=attempts,
                ) from exc
            retry = attempts - 1
            if retry >= policy.max_retries:
                raise ProposerUnavailable(
                    f"{endpoint} unavailable after {attempts} attempt(s): {failure.reason}",
                    endpoint=endpoint, attempts=attempts,
                ) from exc
            delay = policy.delay(retry, failure.retry_after_s, rng)
            if policy.deadline_s is not None and time.monotonic() - start + delay > policy.deadline_s:
                raise ProposerUnavailable(
                    f"{endpoint} unavailable: deadline of {policy.deadline_s:g}s reached after {attempts} attempt(s): "
                    f"{failure.reason}",
                    endpoint=endpoint, attempts=attempts,
                ) from exc
            if on_retry is not None:
                on_retry(attempts, failure, delay)
            await sleep(delay)
