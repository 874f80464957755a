"""Demo data: realistic, correctly signed supply-chain stories for `herbtrace seed` and demos."""

from traceability.demo.parties import SIGNERS, DemoSigner
from traceability.demo.seed import demo_envelopes, register_demo_signers, seed_events
from traceability.demo.stories import cycle, events_from, registrations
from traceability.demo.story import Event

__all__ = [
    "SIGNERS",
    "DemoSigner",
    "Event",
    "cycle",
    "demo_envelopes",
    "events_from",
    "register_demo_signers",
    "registrations",
    "seed_events",
]
