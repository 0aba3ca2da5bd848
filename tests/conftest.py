"""Settings shared by the whole suite: hypothesis profiles.

``ci`` (the default) keeps every property suite to a few seconds; ``THREADSTORE_HYPOTHESIS=deep``
runs thousands of examples each (minutes), for a longer hunt.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("THREADSTORE_HYPOTHESIS", "ci"))
