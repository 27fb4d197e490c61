"""The engine: a step graph, a bounded parallel walk, events, the lock and the journal.

Never touches AWS: stores, runners and clocks are passed in. Waits and backoff live
below it, in `argos_cloud.waiting`, so every layer may wait.
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
from argos_cloud.engine.walk import WalkResult, one_line, walk

__all__ = [
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
    "walk",
]
