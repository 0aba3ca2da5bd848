"""The kit runs under pytest: importing it without ``threadstore[testing]`` says so."""

from threadstore._extras import import_module

import_module("pytest_asyncio", "threadstore.testing")
