"""Plain data types of the converter: options in, result out.

Everything here is picklable and free of torch / gRPC imports so that it can
cross the sandbox boundary and be used by the service layer and scripts alike.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field


class Outcome(str, enum.Enum):
    VALIDATED = "validated"          # converted, every check ran and passed
    NOT_VALIDATED = "not_validated"  # converted, but validation could not run (reason given)
    MISMATCH = "mismatch"            # converted, a check failed
    TASK_ERROR = "task_error"        # the task's own code raised (get_inputs, __init__, forward) — message says where
    UNSUPPORTED = "unsupported"      # neither fx nor export could convert it — message names the op/construct
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    FORBIDDEN = "forbidden"


@dataclass
class TrialCheck:
    trial: int
    seed: int
    distribution: str
    passed: bool
    max_abs_error: float
    max_rel_error: float
    message: str


@dataclass
class TensorSpec:
    shape: list[int]
    dtype: str


@dataclass
class ConvertOptions:
    trials: int = 3
    timeout_s: float = 600.0
    # Extra address space for the sandbox child beyond what torch itself maps
    # (CPU validation only; CUDA runs without an address-space limit).
    memory_limit_bytes: int = 16 * 2**30
    # Estimated bytes of inputs + parameters (both models, inputs and one copy, both outputs) above
    # which validation is skipped with NOT_VALIDATED instead of attempted.
    max_tensor_bytes: int = 8 * 2**30
    device: str = "auto"  # "cpu" | "cuda" | "auto"
    base_seed: int = 0
    # Skip the numeric comparison (the result is NOT_VALIDATED, saying so).
    convert_only: bool = False
    # torch intra-op threads in the child; None keeps torch's default.
    threads: int | None = None


@dataclass
class ConversionResult:
    outcome: Outcome
    message: str
    method: str  # "fx" | "export" | ""
    functional_source: str = ""
    function_name: str = "module_fn"
    parameter_names: list[str] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)
    inputs: list[TensorSpec] = field(default_factory=list)
    checks: list[TrialCheck] = field(default_factory=list)
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    atol: float = 0.0
    rtol: float = 0.0
    not_validated_reason: str = ""
    device: str = ""
    duration_s: float = 0.0

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["outcome"] = self.outcome.value
        return d


class TaskInvalid(ValueError):
    """Static problems found WITHOUT running user code."""
