"""Model clients: the :class:`~.base.ModelClient` interface (:mod:`.base`), the offline
:class:`~.builtin.BuiltinModel` and the Responses API client (:mod:`.openai_responses`, which needs
``httpx``). The public face is :mod:`threadstore.models`."""
