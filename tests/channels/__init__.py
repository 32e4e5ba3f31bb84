"""Tests of runtime.channels."""
