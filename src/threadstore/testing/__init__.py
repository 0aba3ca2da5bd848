"""The conformance kit: the behaviours every :class:`~threadstore.ThreadStore` must show, as a
pytest suite any backend can run (``pip install threadstore[testing]``).

Write a :class:`Backend` that opens your store, then subclass :class:`ConformanceSuite`::

    import pytest
    from threadstore.testing import Backend, Capabilities, ConformanceSuite

    class MyBackend(Backend):
        name = "mine"
        capabilities = Capabilities(durable=True)

        async def _open(self):
            return MyThreadStore(self.tmp_path / "db")

    class TestMyStore(ConformanceSuite):
        backend_class = MyBackend

Every test of the suite then runs against your store. :mod:`threadstore.testing._backends` has
this package's own backends, and :func:`~threadstore.testing._backends.remote_over` runs the
suite through ``threadstore serve`` in front of any of them.
"""

from threadstore.testing._backend import Backend, Capabilities
from threadstore.testing._builders import append, create_params, new_thread, read_items, turn
from threadstore.testing._suite import ConformanceSuite

__all__ = [
    "Backend",
    "Capabilities",
    "ConformanceSuite",
    "append",
    "create_params",
    "new_thread",
    "read_items",
    "turn",
]
