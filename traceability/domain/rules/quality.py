"""Quality: a batch that failed a test is not packed, shipped or sold until a passing retest.

A test fails when the laboratory says `fail` or when any measured item breaks the herb
catalogue's limit; either way a `quality_failed` alert is raised (saying so when the lab
said `pass` against a broken limit). Only a signer of the testing laboratory named in the
body, registered as a `testing_lab`, may record a test (or an importer, for a laboratory
registered as a `testing_lab`). Tests may arrive after the batch was
used up (a retained sample): the alert then counts the batches downstream.
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.events.quality import QualityTest
from traceability.domain.context import Context
from traceability.domain.herbs import ItemResult
from traceability.domain.lineage import downstream_ids
from traceability.domain.roles import LABORATORY_KIND, TESTER_ROLES
from traceability.domain.rules.importer import is_import
from traceability.domain.state import BatchRecord
from traceability.errors import InvalidInput


def require_not_failed(ctx: Context, batch: BatchRecord, action: str) -> None:
    """Refuse (`quality_failed`) to `action` a batch whose latest test failed."""
    if batch.quality == "failed":
        ctx.refuse(
            "quality_failed",
            f"batch {batch.id} failed its quality test and may not be {action} until a "
            "passing retest",
            batch=batch.id,
            action=action,
        )


def require_tester(ctx: Context, body: QualityTest) -> None:
    """Refuse unless the signer belongs to the registered testing laboratory `body.lab`.

    An importer speaks for the laboratory: it must still be registered as a `testing_lab`.
    """
    if ctx.role not in TESTER_ROLES and not is_import(ctx):
        ctx.refuse(
            "unauthorised",
            f"a {ctx.role} may not record a quality test",
            role=ctx.role,
        )
    if ctx.org != body.lab and not is_import(ctx):
        ctx.refuse(
            "unauthorised",
            f"the test names laboratory {body.lab}, but its signer belongs to {ctx.org}",
            lab=body.lab,
            signer_organisation=ctx.org,
        )
    kind = ctx.state.organisation_kind(body.lab)
    if kind is None:
        ctx.refuse("unknown_organisation", f"laboratory {body.lab} is not registered", org=body.lab)
    if kind != LABORATORY_KIND:
        ctx.refuse(
            "unauthorised",
            f"{body.lab} is registered as a {kind}, not as a {LABORATORY_KIND}",
            lab=body.lab,
            kind=kind,
        )


def evaluate(ctx: Context, body: QualityTest, batch: BatchRecord) -> str:
    """The test's verdict for the batch (`passed` or `failed`), alerting when it failed."""
    items = [ItemResult(m.item, m.value, m.unit, m.below_detection) for m in body.items]
    try:
        breaches = ctx.herbs.breaches(batch.herb, items)
    except InvalidInput as exc:
        ctx.refuse("unit_mismatch", str(exc), batch=batch.id)
    if body.result == "pass" and not breaches:
        return "passed"
    listed = "; ".join(
        f"{b.item} {b.value} {b.unit} breaks the limit {b.limit}".strip() for b in breaches
    )
    if body.result == "pass":
        detail = (
            f"laboratory {body.lab} reported pass for {batch.id} (report {body.report_no}), "
            f"but the catalogue's limits are broken: {listed}"
        )
    else:
        detail = f"laboratory {body.lab} reported fail for {batch.id} (report {body.report_no})"
        if listed:
            detail += f": {listed}"
    evidence: dict[str, object] = {
        "lab": body.lab,
        "report_no": body.report_no,
        "lab_result": body.result,
    }
    for b in breaches[:6]:
        evidence[b.item] = f"{b.value} {b.unit} (limit {b.limit})"
    if breaches and breaches[0].source:
        evidence["source"] = breaches[0].source
    if batch.status != "active":
        reached = downstream_ids(ctx.state.flushed(), batch.id)
        evidence["downstream_batches"] = len(reached) - 1
        detail += f"; the batch is already {batch.status}, {len(reached) - 1} batch(es) downstream"
    ctx.alert("quality_failed", "critical", detail, batch=batch.id, evidence=evidence)
    return "failed"


def inherited(parents: Iterable[BatchRecord], *, same_material: bool) -> str:
    """The quality a new batch starts with.

    Failure follows the material everywhere (a failed input taints every output until a
    retest); a pass carries over only when the material is unchanged (split, pack).
    """
    qualities = [p.quality for p in parents]
    if "failed" in qualities:
        return "failed"
    if same_material and qualities and all(q == "passed" for q in qualities):
        return "passed"
    return "untested"
