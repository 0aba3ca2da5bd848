"""Hostile values for the property tests: any JSON, any text, timestamps of every shape."""

from __future__ import annotations

from hypothesis import strategies as st

# Text that includes what breaks naive code: lone surrogates, NUL, line separators, long runs.
texts = st.text(alphabet=st.characters(codec=None, categories=None), max_size=40) | st.sampled_from(
    ["", "\x00", "\ud800", "\u2028", "'", '"', "\\", "%", "_", "*", " " * 50, "ß", "ﬃ", "İ"]
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | texts
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)

timestamps = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "9999-12-31T23:00:00-05:00",
            "0001-01-01T00:30:00+01:00",
            "2026-02-30T00:00:00Z",
            "2026-01-01T00:00:00.123456789Z",
            "2026-01-01T00-00-00",
            "not a time",
            "",
        ]
    ),
    texts,
)

items = st.fixed_dictionaries(
    {"type": st.sampled_from(["event_msg", "response_item", "session_meta", "turn_context", "other"]) | texts},
    optional={"payload": json_values | st.dictionaries(texts, json_values, max_size=4), "timestamp": timestamps},
)
