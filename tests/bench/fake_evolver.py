"""A scripted EvolverService on a free loopback port, for CLI tests that must not depend on the real one.

Each task name maps to a ``Script``: the progress events WatchRun streams and the final run state.
Requests are recorded so tests can check what the CLI sent.
"""

from __future__ import annotations

import threading
from concurrent import futures
from dataclasses import dataclass, field

import grpc

from kernelwright.common.v1 import hardware_pb2, kernel_pb2, verdict_pb2
from kernelwright.evolver.v1 import evolver_pb2 as pb
from kernelwright.evolver.v1 import evolver_pb2_grpc

GPU = "NVIDIA H100 80GB HBM3"
CUDA = 'extern "C" __global__ void relu(const float* x, float* y, long n) {}\n'


@dataclass
class Script:
    state: int = pb.RUN_STATE_SUCCEEDED
    speedup_eager: float = 2.0
    speedup_compile: float = 1.25
    message: str = ""
    refuse: grpc.StatusCode | None = None  # StartRun fails with this code
    events: int = 3


def best_candidate(name: str) -> kernel_pb2.KernelCandidate:
    plan = kernel_pb2.LaunchPlan(
        allocations=[kernel_pb2.Allocation(name="out", shape=[kernel_pb2.ShapeExpr(expr="in0.shape[0]")],
                                           dtype="float32", is_output=True)],
        steps=[kernel_pb2.LaunchStep(launch=kernel_pb2.KernelLaunch(
            kernel="relu", grid=[kernel_pb2.ShapeExpr(expr="ceil_div(in0.numel, 256)")],
            block=[kernel_pb2.ShapeExpr(expr="256")],
            args=[kernel_pb2.LaunchArg(tensor="in0"), kernel_pb2.LaunchArg(tensor="out"),
                  kernel_pb2.LaunchArg(int_expr=kernel_pb2.ShapeExpr(expr="in0.numel"))]))])
    return kernel_pb2.KernelCandidate(id=f"cand-{name}", format=kernel_pb2.CANDIDATE_FORMAT_FAST, cuda_source=CUDA,
                                      plan=plan, proposer="builtin", parent_ids=[f"parent-{name}"],
                                      schedule={"block": 256})


def final_run(run_id: str, request: pb.StartRunRequest, script: Script) -> pb.Run:
    run = pb.Run(id=run_id, task=request.task, budget=request.budget, state=script.state, message=script.message,
                 stage=pb.STAGE_ARCHIVE, spent=pb.BudgetSpent(candidates=script.events * 4, generations=script.events))
    if script.state == pb.RUN_STATE_SUCCEEDED:
        ours = 0.5
        run.best.CopyFrom(best_candidate(request.task.name))
        run.best_verdict.CopyFrom(verdict_pb2.Verdict(
            candidate_id=run.best.id, outcome=verdict_pb2.VERDICT_OUTCOME_ACCEPTED, compiled=True, correct=True,
            checks=[verdict_pb2.CheckResult(name=f"trial-{i}", passed=True) for i in range(5)],
            max_abs_error=1e-6,
            timings=verdict_pb2.Timings(
                candidate=verdict_pb2.TimingStats(median_ms=ours, trials=100),
                eager=verdict_pb2.TimingStats(median_ms=ours * script.speedup_eager, trials=100),
                compiled=verdict_pb2.TimingStats(median_ms=ours * script.speedup_compile, trials=100),
                speedup_vs_eager=script.speedup_eager, speedup_vs_compile=script.speedup_compile),
            hardware=hardware_pb2.Hardware(gpu_name=GPU)))
    return run


class FakeEvolver(evolver_pb2_grpc.EvolverServiceServicer):
    def __init__(self, scripts: dict[str, Script] | None = None) -> None:
        self.scripts = scripts or {}
        self.requests: list[pb.StartRunRequest] = []
        self.runs: dict[str, tuple[pb.StartRunRequest, Script]] = {}
        self.by_request_id: dict[str, str] = {}
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def StartRun(self, request, context):
        script = self.scripts.get(request.task.name, Script())
        with self._lock:
            self.requests.append(request)
            if script.refuse is not None:
                context.abort(script.refuse, f"refused {request.task.name}")
            if request.request_id and request.request_id in self.by_request_id:
                return pb.StartRunResponse(run_id=self.by_request_id[request.request_id])
            run_id = f"run-{len(self.runs) + 1}"
            self.runs[run_id] = (request, script)
            if request.request_id:
                self.by_request_id[request.request_id] = run_id
        return pb.StartRunResponse(run_id=run_id)

    def _get(self, run_id, context) -> tuple[pb.StartRunRequest, Script]:
        if run_id not in self.runs:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no run {run_id}")
        return self.runs[run_id]

    def WatchRun(self, request, context):
        req, script = self._get(request.run_id, context)
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            for g in range(script.events):
                yield pb.WatchRunResponse(progress=pb.RunProgress(
                    run_id=request.run_id, stage=pb.STAGE_EVOLVE, generation=g, candidates_evaluated=4 * (g + 1),
                    outcomes={"VERDICT_OUTCOME_ACCEPTED": g + 1, "VERDICT_OUTCOME_WRONG_ANSWER": 1},
                    best_speedup_vs_eager=script.speedup_eager, best_speedup_vs_compile=script.speedup_compile,
                    state=pb.RUN_STATE_RUNNING))
            yield pb.WatchRunResponse(progress=pb.RunProgress(run_id=request.run_id, state=script.state,
                                                              stage=pb.STAGE_ARCHIVE, message=script.message))
        finally:
            with self._lock:
                self.active -= 1

    def GetRun(self, request, context):
        req, script = self._get(request.run_id, context)
        return pb.GetRunResponse(run=final_run(request.run_id, req, script))

    def CancelRun(self, request, context):
        req, script = self._get(request.run_id, context)
        return pb.CancelRunResponse(run=final_run(request.run_id, req, script))

    def ListRuns(self, request, context):
        return pb.ListRunsResponse()


class FakeEvolverServer:
    """Context manager: a blocking gRPC server with the fake on 127.0.0.1:<free port>."""

    def __init__(self, scripts: dict[str, Script] | None = None) -> None:
        self.fake = FakeEvolver(scripts)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        evolver_pb2_grpc.add_EvolverServiceServicer_to_server(self.fake, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"

    def __enter__(self) -> "FakeEvolverServer":
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop(grace=None)
