"""Adapters that let the agent frameworks of the day keep their sessions in a thread store.

Each adapter is a module of its own, imported by name, and needs its framework installed (an
extra of this package); importing this package imports no framework.
"""
