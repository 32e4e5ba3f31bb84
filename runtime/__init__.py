"""The thin Focal runtime: loads snapshots and serves the behaviours they configure.

It never imports ``focalctl`` (enforced by an import-linter contract) and never parses YAML:
the snapshot format in :mod:`runtime.snapshot` is its only input.
"""
