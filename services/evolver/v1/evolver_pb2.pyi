import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from kernelwright.common.v1 import kernel_pb2 as _kernel_pb2
from kernelwright.common.v1 import task_pb2 as _task_pb2
from kernelwright.common.v1 import verdict_pb2 as _verdict_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RunState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RUN_STATE_UNSPECIFIED: _ClassVar[RunState]
    RUN_STATE_QUEUED: _ClassVar[RunState]
    RUN_STATE_RUNNING: _ClassVar[RunState]
    RUN_STATE_SUCCEEDED: _ClassVar[RunState]
    RUN_STATE_FAILED: _ClassVar[RunState]
    RUN_STATE_CANCELLED: _ClassVar[RunState]

class Stage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STAGE_UNSPECIFIED: _ClassVar[Stage]
    STAGE_CONVERT: _ClassVar[Stage]
    STAGE_TRANSLATE: _ClassVar[Stage]
    STAGE_EVOLVE: _ClassVar[Stage]
    STAGE_ARCHIVE: _ClassVar[Stage]
RUN_STATE_UNSPECIFIED: RunState
RUN_STATE_QUEUED: RunState
RUN_STATE_RUNNING: RunState
RUN_STATE_SUCCEEDED: RunState
RUN_STATE_FAILED: RunState
RUN_STATE_CANCELLED: RunState
STAGE_UNSPECIFIED: Stage
STAGE_CONVERT: Stage
STAGE_TRANSLATE: Stage
STAGE_EVOLVE: Stage
STAGE_ARCHIVE: Stage

class Budget(_message.Message):
    __slots__ = ("max_candidates", "max_generations", "max_wall_seconds", "max_llm_cost_usd")
    MAX_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    MAX_GENERATIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_LLM_COST_USD_FIELD_NUMBER: _ClassVar[int]
    max_candidates: int
    max_generations: int
    max_wall_seconds: float
    max_llm_cost_usd: float
    def __init__(self, max_candidates: _Optional[int] = ..., max_generations: _Optional[int] = ..., max_wall_seconds: _Optional[float] = ..., max_llm_cost_usd: _Optional[float] = ...) -> None: ...

class ProposerWeight(_message.Message):
    __slots__ = ("name", "weight")
    NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    name: str
    weight: float
    def __init__(self, name: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class StartRunRequest(_message.Message):
    __slots__ = ("task", "budget", "proposers", "target_pool", "request_id")
    TASK_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    PROPOSERS_FIELD_NUMBER: _ClassVar[int]
    TARGET_POOL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    task: _task_pb2.Task
    budget: Budget
    proposers: _containers.RepeatedCompositeFieldContainer[ProposerWeight]
    target_pool: str
    request_id: str
    def __init__(self, task: _Optional[_Union[_task_pb2.Task, _Mapping]] = ..., budget: _Optional[_Union[Budget, _Mapping]] = ..., proposers: _Optional[_Iterable[_Union[ProposerWeight, _Mapping]]] = ..., target_pool: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class StartRunResponse(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class BudgetSpent(_message.Message):
    __slots__ = ("candidates", "generations", "wall_seconds", "llm_cost_usd")
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    GENERATIONS_FIELD_NUMBER: _ClassVar[int]
    WALL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LLM_COST_USD_FIELD_NUMBER: _ClassVar[int]
    candidates: int
    generations: int
    wall_seconds: float
    llm_cost_usd: float
    def __init__(self, candidates: _Optional[int] = ..., generations: _Optional[int] = ..., wall_seconds: _Optional[float] = ..., llm_cost_usd: _Optional[float] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ("id", "task", "budget", "spent", "state", "stage", "message", "best", "best_verdict", "created_at", "updated_at", "target_pool", "proposers", "outcomes", "archived")
    class OutcomesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    SPENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    BEST_FIELD_NUMBER: _ClassVar[int]
    BEST_VERDICT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    TARGET_POOL_FIELD_NUMBER: _ClassVar[int]
    PROPOSERS_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    id: str
    task: _task_pb2.Task
    budget: Budget
    spent: BudgetSpent
    state: RunState
    stage: Stage
    message: str
    best: _kernel_pb2.KernelCandidate
    best_verdict: _verdict_pb2.Verdict
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    target_pool: str
    proposers: _containers.RepeatedCompositeFieldContainer[ProposerWeight]
    outcomes: _containers.ScalarMap[str, int]
    archived: bool
    def __init__(self, id: _Optional[str] = ..., task: _Optional[_Union[_task_pb2.Task, _Mapping]] = ..., budget: _Optional[_Union[Budget, _Mapping]] = ..., spent: _Optional[_Union[BudgetSpent, _Mapping]] = ..., state: _Optional[_Union[RunState, str]] = ..., stage: _Optional[_Union[Stage, str]] = ..., message: _Optional[str] = ..., best: _Optional[_Union[_kernel_pb2.KernelCandidate, _Mapping]] = ..., best_verdict: _Optional[_Union[_verdict_pb2.Verdict, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., target_pool: _Optional[str] = ..., proposers: _Optional[_Iterable[_Union[ProposerWeight, _Mapping]]] = ..., outcomes: _Optional[_Mapping[str, int]] = ..., archived: _Optional[bool] = ...) -> None: ...

class RunProgress(_message.Message):
    __slots__ = ("run_id", "stage", "generation", "candidates_evaluated", "outcomes", "best_speedup_vs_eager", "best_speedup_vs_compile", "llm_cost_usd", "state", "message", "best_candidate_ms")
    class OutcomesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_EVALUATED_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    BEST_SPEEDUP_VS_EAGER_FIELD_NUMBER: _ClassVar[int]
    BEST_SPEEDUP_VS_COMPILE_FIELD_NUMBER: _ClassVar[int]
    LLM_COST_USD_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    BEST_CANDIDATE_MS_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    stage: Stage
    generation: int
    candidates_evaluated: int
    outcomes: _containers.ScalarMap[str, int]
    best_speedup_vs_eager: float
    best_speedup_vs_compile: float
    llm_cost_usd: float
    state: RunState
    message: str
    best_candidate_ms: float
    def __init__(self, run_id: _Optional[str] = ..., stage: _Optional[_Union[Stage, str]] = ..., generation: _Optional[int] = ..., candidates_evaluated: _Optional[int] = ..., outcomes: _Optional[_Mapping[str, int]] = ..., best_speedup_vs_eager: _Optional[float] = ..., best_speedup_vs_compile: _Optional[float] = ..., llm_cost_usd: _Optional[float] = ..., state: _Optional[_Union[RunState, str]] = ..., message: _Optional[str] = ..., best_candidate_ms: _Optional[float] = ...) -> None: ...

class WatchRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class WatchRunResponse(_message.Message):
    __slots__ = ("progress",)
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    progress: RunProgress
    def __init__(self, progress: _Optional[_Union[RunProgress, _Mapping]] = ...) -> None: ...

class GetRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class GetRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: Run
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ...) -> None: ...

class ListRunsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "states")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    states: _containers.RepeatedScalarFieldContainer[RunState]
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., states: _Optional[_Iterable[_Union[RunState, str]]] = ...) -> None: ...

class ListRunsResponse(_message.Message):
    __slots__ = ("runs", "next_page_token")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[Run]
    next_page_token: str
    def __init__(self, runs: _Optional[_Iterable[_Union[Run, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelRunRequest(_message.Message):
    __slots__ = ("run_id",)
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    run_id: str
    def __init__(self, run_id: _Optional[str] = ...) -> None: ...

class CancelRunResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: Run
    def __init__(self, run: _Optional[_Union[Run, _Mapping]] = ...) -> None: ...
