"""The default Salt state tree, shipped as package data (`states/`, `pillar/`)."""
