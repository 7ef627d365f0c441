"""kernelwright.translator.builtin: the deterministic (no LLM) CUDA generator.

Two generators: ``elementwise`` (one vectorized kernel for a forward that is a single elementwise
chain) and the general lowering (``graph`` -> ``lowering`` -> ``stage_*`` -> ``codegen``).
Importing this package has no side effects; ``register()`` registers the ``builtin`` proposer with
``kernelwright.translator.proposers.registry`` so that ``make_proposer("builtin")`` works.
"""

from kernelwright.translator.builtin.codegen import LoweringUnsupported, analyze_program, build_candidate
from kernelwright.translator.builtin.elementwise import (
    DEFAULT_SCHEDULES,
    ElementwiseProgram,
    Schedule,
    Unsupported,
    analyze_task,
    generate_candidate,
    generate_elementwise,
)
from kernelwright.translator.builtin.proposer import BuiltinProposer, register
from kernelwright.translator.builtin.schedule import LoweringSchedule

__all__ = [
    "DEFAULT_SCHEDULES",
    "BuiltinProposer",
    "ElementwiseProgram",
    "LoweringSchedule",
    "LoweringUnsupported",
    "Schedule",
    "Unsupported",
    "analyze_program",
    "analyze_task",
    "build_candidate",
    "generate_candidate",
    "generate_elementwise",
    "register",
]
