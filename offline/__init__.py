"""Offline engine: runs the Pulumi program under mocks against a deterministic fake world.

Importing this package registers no resource; ``offline.run.evaluate`` runs a stack.
"""
