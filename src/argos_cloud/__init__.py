"""argos-cloud: commission, deploy to, decommission and clean application environments on AWS."""

__version__ = "0.1.0"
