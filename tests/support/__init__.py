"""Test-only helpers that start the real services the suite needs."""
