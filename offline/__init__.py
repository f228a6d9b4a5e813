"""Offline engine: runs the Pulumi program under mocks against a deterministic fake world.

Importing this package registers no resource; ``offline.engine.evaluate`` runs a stack.
"""
