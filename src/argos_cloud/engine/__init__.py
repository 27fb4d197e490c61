"""The engine: a step graph, a bounded parallel walk, events, and waits on a clock.

Never touches AWS: stores, runners and clocks are passed in.
"""

from argos_cloud.engine.events import (
    Event,
    Hook,
    MultiHook,
    NullHook,
    RecordingHook,
    StepFailed,
    StepProgress,
    StepSkipped,
    StepStarted,
    StepSucceeded,
    WalkInterrupted,
)
from argos_cloud.engine.graph import StepGraph, critical_path, makespan
from argos_cloud.engine.wait import Backoff, retry_on, wait_for
from argos_cloud.engine.walk import WalkResult, one_line, walk

__all__ = [
    "Backoff",
    "Event",
    "Hook",
    "MultiHook",
    "NullHook",
    "RecordingHook",
    "StepFailed",
    "StepGraph",
    "StepProgress",
    "StepSkipped",
    "StepStarted",
    "StepSucceeded",
    "WalkInterrupted",
    "WalkResult",
    "critical_path",
    "makespan",
    "one_line",
    "retry_on",
    "wait_for",
    "walk",
]
