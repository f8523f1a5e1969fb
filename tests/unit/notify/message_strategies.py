"""Hypothesis strategies for notify: messages with hostile text of every size.

Long texts are built by repeating a short drawn text, which is far quicker to draw than a long
one and still gives entities, emoji, control characters and quotes at every cut position.
"""

from __future__ import annotations

import operator
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from launchdeck.notify import Audience, Fact, Link, Message, Tone
from launchdeck.notify.model import SEVERITIES

__all__ = ["messages"]

_HOSTILE = ("<script>&", "<!channel>", "&amp;", "😀", "\x00", '"\\', "\u202e", "*_~`", "|>")

short_texts = st.one_of(st.text(max_size=12), st.sampled_from(_HOSTILE))
texts = st.builds(operator.mul, short_texts, st.integers(min_value=0, max_value=800))
titles = st.builds(operator.add, st.sampled_from(["A", "😀", "<", "&"]), texts)
names = st.lists(st.text(min_size=1, max_size=30), max_size=6).map(tuple)
facts = st.builds(Fact, label=titles, value=texts)
links = st.builds(
    Link,
    text=titles,
    url=st.builds(
        operator.add,
        st.just("https://launchdeck.example/"),
        st.builds(operator.mul, st.sampled_from(["a", "%3C", "?x=1&y=<|>"]), st.integers(0, 900)),
    ),
)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    return Message(
        kind=draw(st.sampled_from(["incident.opened", "gate.blocked", "deploy.recorded"])),
        title=draw(titles),
        summary=draw(texts),
        tone=draw(st.sampled_from(Tone)),
        occurred_at=datetime(2026, 11, 27, tzinfo=UTC)
        + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400))),
        systems=draw(names),
        environment=draw(st.none() | st.text(max_size=40)),
        severity=draw(st.none() | st.sampled_from(SEVERITIES)),
        campaigns=draw(names),
        facts=tuple(draw(st.lists(facts, max_size=60))),
        links=tuple(draw(st.lists(links, max_size=12))),
        audience=draw(st.sampled_from(Audience)),
        owners=draw(names),
    )
