"""The demo's whole sequence of events: registrations, then story cycles 0, 1, 2, … forever.

Cycle n tells the ginseng, 五味子, 黄芪 and deer velvet stories with number n. The stories
vary only with n mod PERIOD, so the number of events of a cycle, and of each signer in it,
depends on n mod PERIOD alone: the event at any position is found without telling the
cycles before it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from functools import cache

from traceability.demo import parties as p
from traceability.demo.field_herbs import huangqi, wuweizi
from traceability.demo.ginseng import ginseng
from traceability.demo.places import ORGANISATIONS, SITES
from traceability.demo.story import Event, Story
from traceability.demo.velvet import velvet

PERIOD = 3
"""The stories of cycle n depend on n mod 3 (retest, cold-chain excursion, recall)."""


def registrations() -> list[Event]:
    """Every organisation, then every site, registered by the platform's registrar in 2020."""
    s = Story(0)
    for k, body in enumerate((*ORGANISATIONS, *SITES)):
        s.add(p.ADMIN, s.on(2020, 3, 2 + k // 8), body)
    return s.events


def cycle(n: int) -> list[Event]:
    """The events of story cycle n, each story's in order."""
    return [e for story in (ginseng, wuweizi, huangqi, velvet) for e in story(n).events]


@cache
def _shape(residue: int) -> tuple[int, Counter[str]]:
    """Events per cycle, in all and by signer label, of the cycles n ≡ residue (mod PERIOD)."""
    events = cycle(residue)
    return len(events), Counter(e.party.label for e in events)


def _locate(position: int) -> tuple[int, int, Counter[str]]:
    """Where the event at `position` after the registrations falls in the story's cycles.

    Returns its cycle, its offset in the cycle, and how many events each signer has in the
    cycles before.
    """
    per_period = sum(_shape(r)[0] for r in range(PERIOD))
    periods, rest = divmod(position, per_period)
    counts: Counter[str] = Counter()
    for r in range(PERIOD):
        counts.update({label: c * periods for label, c in _shape(r)[1].items()})
    n = periods * PERIOD
    while rest >= _shape(n % PERIOD)[0]:
        rest -= _shape(n % PERIOD)[0]
        counts.update(_shape(n % PERIOD)[1])
        n += 1
    return n, rest, counts


def events_from(position: int = 0) -> Iterator[Event]:
    """Every demo event from `position` on (0 is the first registration); never ends."""
    prologue = registrations()
    if position < len(prologue):
        yield from prologue[position:]
        n, skip = 0, 0
    else:
        n, skip, _ = _locate(position - len(prologue))
    while True:
        yield from cycle(n)[skip:]
        n, skip = n + 1, 0


def signed_before(position: int) -> Counter[str]:
    """How many of the first `position` demo events each signer (by label) signs."""
    prologue = registrations()
    if position <= len(prologue):
        return Counter(e.party.label for e in prologue[:position])
    n, skip, counts = _locate(position - len(prologue))
    counts.update(e.party.label for e in prologue)
    counts.update(e.party.label for e in cycle(n)[:skip])
    return counts
