"""Slow node-by-node references the fast engines are tested against (importable as ``tests.references``)."""
