"""TranslatorService: validates the request, builds the proposers, gets the functional program,
finds an evaluator, then runs the attempt loop (``translate.py``).

Errors (the proto's contract): INVALID_ARGUMENT for no task and no program or an unknown proposer;
FAILED_PRECONDITION for a proposer missing its setting (unless KW_TRANSLATOR_FALLBACK_TO_BUILTIN) or an
evaluator that cannot evaluate (CPU-only); UNAVAILABLE when no evaluator endpoint is reachable. Every
candidate problem is an attempt in the response.
"""

from __future__ import annotations

from collections.abc import Callable

from grpc import aio

from kernelwright.common.v1 import kernel_pb2, task_pb2
from kernelwright.core.discovery import PoolDirectory, StaticPoolDirectory, directory_from_settings, parse_static_pools
from kernelwright.core.errors import FailedPrecondition, InvalidArgument, Unavailable
from kernelwright.core.logger import bind_request, get_logger
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2 as epb
from kernelwright.translator.evaluator_client import EvaluatorClient, EvaluatorRefused, EvaluatorUnavailable
from kernelwright.translator.functional import functional_program
from kernelwright.translator.proposers import Proposer, ProposerConfigError, ProposerSettings, make_proposer
from kernelwright.translator.settings import TranslatorSettings
from kernelwright.translator.translate import TranslationJob, translate
from kernelwright.translator.v1 import translator_pb2 as pb
from kernelwright.translator.v1 import translator_pb2_grpc

log = get_logger("kernelwright.translator")

_FORMATS = {"fast": kernel_pb2.CANDIDATE_FORMAT_FAST, "kernelbench": kernel_pb2.CANDIDATE_FORMAT_KERNELBENCH}
MAX_ATTEMPTS_LIMIT = 200


def local_mesh_address(service: str) -> str:
    """The address a running ``kernelwright up`` recorded for ``service`` ('' when none runs).

    Local mode only: ``up`` starts every service at once and writes the addresses after all are
    serving, so the translator looks them up per request instead of at start-up.
    """
    from kernelwright.cli.mesh import running_mesh

    return running_mesh().get(service, "")


def default_directory(settings: TranslatorSettings) -> PoolDirectory:
    """Configured pools (or Kubernetes); with none configured, the local mesh's evaluator as pool 'local'."""
    directory = directory_from_settings(settings)
    if isinstance(directory, StaticPoolDirectory) and not directory.pools():
        address = local_mesh_address("gpu-evaluator")
        if address:
            return StaticPoolDirectory(parse_static_pools(f"local={address}"))
    return directory


def build_proposers(names: list[str], settings: ProposerSettings) -> tuple[list[tuple[str, Proposer]], list[str]]:
    """Proposers in order (duplicates after fallback dropped) and notes on substitutions."""
    built: list[tuple[str, Proposer]] = []
    notes: list[str] = []
    for name in names:
        try:
            proposer = make_proposer(name, settings)
        except ProposerConfigError as exc:
            if str(exc).startswith("unknown proposer"):
                raise InvalidArgument(str(exc)) from None
            raise FailedPrecondition(str(exc)) from None
        label = getattr(proposer, "name", name) or name
        if label != name.strip().lower() and label == "builtin":
            notes.append(f"{name} is not configured; using builtin (fallback_to_builtin)")
        if any(label == existing for existing, _ in built):
            continue
        built.append((label, proposer))
    return built, notes


class TranslatorServicer(translator_pb2_grpc.TranslatorServiceServicer):
    def __init__(self, settings: TranslatorSettings, *, proposer_settings: ProposerSettings | None = None,
                 directory_factory: Callable[[], PoolDirectory] | None = None) -> None:
        self._settings = settings
        self._proposer_settings = proposer_settings
        options = epb.EvaluateOptions(verify_only=not settings.time_candidates)
        self._evaluator = EvaluatorClient(directory_factory or (lambda: default_directory(settings)),
                                          options=options, timeout_s=settings.evaluate_timeout_s,
                                          allow_shared=not settings.time_candidates,
                                          cooldown_s=settings.evaluator_cooldown_s)

    def _proposer_settings_now(self) -> ProposerSettings:
        # Read per request when not injected: a mounted key file may appear after start-up.
        return self._proposer_settings if self._proposer_settings is not None else ProposerSettings()

    def _converter_address(self) -> str:
        return self._settings.converter_addr or local_mesh_address("converter")

    async def Translate(self, request: pb.TranslateRequest, context: aio.ServicerContext) -> pb.TranslateResponse:
        has_task = request.HasField("task") and request.task.source.strip()
        has_program = request.HasField("program") and request.program.source.strip()
        if not has_task and not has_program:
            raise InvalidArgument("send task (KernelBench source) or program (a functional program); both are empty")
        if not 0 <= request.max_attempts <= MAX_ATTEMPTS_LIMIT:
            raise InvalidArgument(f"max_attempts must be 0..{MAX_ATTEMPTS_LIMIT}, got {request.max_attempts}")
        if request.format not in (kernel_pb2.CANDIDATE_FORMAT_UNSPECIFIED, *_FORMATS.values()):
            raise InvalidArgument(f"unknown candidate format {request.format}")
        # A functional program is itself a KernelBench-format task (Model, get_inputs, get_init_inputs).
        task = request.task if has_task else task_pb2.Task(name="program", source=request.program.source)
        bind_request(task=task.name or "task")

        names = list(request.proposers) or list(self._settings.proposers)
        proposers, notes = build_proposers(names, self._proposer_settings_now())
        target_gpu = request.target_gpu or self._settings.target_gpu
        try:
            pool = await self._evaluator.pool_for(target_gpu)   # before spending anything on proposals
        except EvaluatorUnavailable as exc:
            raise Unavailable(str(exc)) from None

        if has_program:
            program = request.program
        else:
            stage1 = await functional_program(task, self._converter_address(), self._settings.convert_timeout_s)
            program = stage1.program
            notes.extend(stage1.notes)

        job = TranslationJob(
            task=task, program=program, proposers=proposers,
            format=request.format or _FORMATS[self._settings.candidate_format],
            target_gpu=target_gpu,
            max_attempts=request.max_attempts or self._settings.max_attempts,
            max_rounds=self._settings.max_rounds_per_proposer,
            propose_timeout_s=self._settings.propose_timeout_s,
            notes=notes,
        )

        async def evaluate(t: task_pb2.Task, c: kernel_pb2.KernelCandidate):
            return await self._evaluator.evaluate(t, c, target_gpu)

        try:
            response = await translate(job, evaluate)
        except EvaluatorUnavailable as exc:
            raise Unavailable(str(exc)) from None
        except EvaluatorRefused as exc:
            raise FailedPrecondition(str(exc)) from None
        log.info("translated" if response.translated else "not translated", pool=pool.name,
                 attempts=len(response.attempts), proposers=[n for n, _ in proposers])
        return response

    async def close(self) -> None:
        await self._evaluator.close()
