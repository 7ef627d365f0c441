"""kernelwright.translator.builtin: the deterministic (no LLM) CUDA generator.

Importing this package has no side effects; ``register()`` registers the ``builtin`` proposer with
``kernelwright.translator.proposers.registry`` so that ``make_proposer("builtin")`` works.
"""

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


__all__ = [
    "DEFAULT_SCHEDULES",
    "BuiltinProposer",
    "ElementwiseProgram",
    "Schedule",
    "Unsupported",
    "analyze_task",
    "generate_candidate",
    "generate_elementwise",
    "register",
]
