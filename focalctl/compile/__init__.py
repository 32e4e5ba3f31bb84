"""Compile: a valid bundle → one canonical snapshot per tenant, plus provenance."""
