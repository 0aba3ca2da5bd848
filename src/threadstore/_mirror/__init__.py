"""A live, exact mirror of Codex homes into any store (``threadstore mirror``).

:class:`Mirror` follows one or more Codex homes and keeps a target store an exact copy of every
thread in them, line for line as ``threadstore copy`` writes threads, while Codex writes: only
new lines travel, each append keyed so that it is stored once, and how far each rollout was
mirrored is kept in the target itself (:mod:`.checkpoint`). See :mod:`.engine` for how it runs,
:mod:`.sync` for what it does to one thread.
"""
