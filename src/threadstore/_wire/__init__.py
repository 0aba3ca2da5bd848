"""The wire protocol ``codex.thread_store.v1``, shared by the client (:mod:`threadstore._backends.remote`)
and the server (:mod:`threadstore._server`): the generated messages, the method table, the
conversions, the status-code mapping. Needs the ``grpc`` extra."""
