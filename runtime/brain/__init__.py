"""The brain: the turn semantics the bundle language exists for (see :mod:`.engine`), over a
snapshot compiled once for turns (:mod:`.compiled`)."""

from runtime.brain.compiled import CompiledSnapshot, CompileError
from runtime.brain.engine import (
    MAX_CHAIN,
    Brain,
    CancelToken,
    GoalDecision,
    Message,
    ToolReport,
    TurnCancelled,
    TurnResult,
)

__all__ = [
    "MAX_CHAIN",
    "Brain",
    "CancelToken",
    "CompileError",
    "CompiledSnapshot",
    "GoalDecision",
    "Message",
    "ToolReport",
    "TurnCancelled",
    "TurnResult",
]
