"""Pluggable proposers for the translator: an LLM (Anthropic or an OpenAI-compatible server) is
asked for candidates; answers are parsed into KernelCandidates, never trusted.

    proposer = make_proposer("anthropic", ProposerSettings())
    result = await proposer.propose(ProposalRequest(task_name=..., task_source=..., functional_source=...))
"""

from kernelwright.translator.proposers.base import (
    Attempt,
    ProposalRequest,
    ProposalResult,
    Proposer,
    ProposerConfigError,
    ProposerError,
    ProposerUnavailable,
    SteppingStone,
    Usage,
)
from kernelwright.translator.proposers.config import ProposerSettings
from kernelwright.translator.proposers.parsing import extract_code_blocks, parse_answer
from kernelwright.translator.proposers.prompts import build_prompt
from kernelwright.translator.proposers.registry import available_proposers, make_proposer, register_proposer
from kernelwright.translator.proposers.repair import RepairOutcome, propose_with_repair

__all__ = [
    "Attempt",
    "ProposalRequest",
    "ProposalResult",
    "Proposer",
    "ProposerConfigError",
    "ProposerError",
    "ProposerSettings",
    "ProposerUnavailable",
    "RepairOutcome",
    "SteppingStone",
    "Usage",
    "available_proposers",
    "build_prompt",
    "extract_code_blocks",
    "make_proposer",
    "parse_answer",
    "propose_with_repair",
    "register_proposer",
]
