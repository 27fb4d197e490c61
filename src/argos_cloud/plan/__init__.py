"""Desired × actual → Plan: pure data, printed as text or JSON, then executed as is."""

from argos_cloud.plan.types import Action, Actual, Change, Plan, Resource

__all__ = ["Action", "Actual", "Change", "Plan", "Resource"]
