"""Alerts: rules (CONTRACTS.md section 4), the engine that evaluates them, and its output."""

from hub.alerts.engine import AlertEngine, AlertState, Change, Repeat, Transition
from hub.alerts.rules import (
    KNOWN_MEASUREMENTS,
    Rule,
    check_rules,
    load_rules,
    measurement_problem,
    parse_rules,
)

__all__ = [
    "KNOWN_MEASUREMENTS",
    "AlertEngine",
    "AlertState",
    "Change",
    "Repeat",
    "Rule",
    "Transition",
    "check_rules",
    "load_rules",
    "measurement_problem",
    "parse_rules",
]
