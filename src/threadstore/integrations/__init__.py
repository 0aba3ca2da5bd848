"""Adapters that let agent frameworks keep their sessions in a thread store.

Each framework has a module of its own, importable only with the framework installed (its extra):
:mod:`threadstore.integrations.openai_agents` for the OpenAI Agents SDK (``threadstore[agents]``).
Importing this package imports no framework.
"""
