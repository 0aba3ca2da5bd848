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

Every test of the suite then runs against your store. A backend registered by URL scheme (the
``threadstore.backends`` entry points) needs no class of its own:
``backend_class = url_backend("myscheme:{tmp}/db")``; :func:`schemes` lists the schemes known
here. :func:`remote_over` runs the suite through a real ``threadstore serve`` in front of any
backend.
"""

from threadstore.testing import _requires  # noqa: F401  # first: names the extra when pytest is missing
from threadstore.testing._backend import Backend, Capabilities
from threadstore.testing._backends import UrlBackend, remote_over, schemes, url_backend
from threadstore.testing._builders import append, create_params, new_thread, read_items, turn
from threadstore.testing._suite import ConformanceSuite

__all__ = [
    "Backend",
    "Capabilities",
    "ConformanceSuite",
    "UrlBackend",
    "append",
    "create_params",
    "new_thread",
    "read_items",
    "remote_over",
    "schemes",
    "turn",
    "url_backend",
]
