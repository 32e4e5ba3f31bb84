"""Publish targets: the file target (directory + atomic pointer) and the Redis target."""
