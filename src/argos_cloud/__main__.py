"""`python -m argos_cloud` runs the same CLI as the console script."""

from argos_cloud.cli.main import run

run()
