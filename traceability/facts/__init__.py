"""The read model: what the records say about a product, and the proofs behind it.

`records` reads a batch's or unit's facts from the domain's indexes and the log's signed
events (`entries`, typed by `schemas.events`), `quality` judges its tests against the
catalogue, `public` makes the consumer view anyone may see, and `proofs` bundles a batch's
entries with their inclusion proofs. Nothing here knows HTTP: the web layer (`api/`) caches
and renders these facts, the CLI and the EPCIS export may read them too.
"""
