"""The plan as values: pure data, printed as text or JSON, then executed as is.

Made by `argos_cloud.planning.build_plan` (beside discovery, which reads the kinds);
this package holds only values and pure helpers, and imports no kind.
"""

from argos_cloud.plan.types import Action, Actual, Change, Plan, Resource

__all__ = ["Action", "Actual", "Change", "Plan", "Resource"]
