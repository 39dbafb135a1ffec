"""s1_engine: thinking formats, budget forcing, backends and live sessions.

The bottom layer of the s1 console; imports nothing else of ours.
"""

from .engine import Engine, default_model
from .errors import S1Error
from .events import Event, Result, TokenDelta
from .forcing import BudgetForcer
from .formats import FORMATS, S1, THINK_TAGS, ThinkingFormat, detect_format, get_format
from .policy import BudgetPolicy, SamplingConfig, parse_budget, parse_ignore_str
from .session import Session

__all__ = [
    "FORMATS",
    "S1",
    "THINK_TAGS",
    "BudgetForcer",
    "BudgetPolicy",
    "Engine",
    "Event",
    "Result",
    "S1Error",
    "SamplingConfig",
    "Session",
    "ThinkingFormat",
    "TokenDelta",
    "default_model",
    "detect_format",
    "get_format",
    "parse_budget",
    "parse_ignore_str",
]
