"""The catalogue's part of the facts: a herb's names, and each test's items against its limits.

Every measured item of a `quality_test` body is judged again here with
`Catalogue.check_item` (the same check the rules applied when the test was recorded), so the
consumer sees the value in the limit's unit, the limit, and the standard that sets it. An
item the catalogue no longer knows, or can no longer compare, shows as `no_limit` with the
value as reported rather than hiding the test.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from schemas.events.quality import Measurement, QualityTest
from traceability.catalogue.lookup import Catalogue, load_catalogue
from traceability.errors import InvalidInput, NotFound
from traceability.facts.models import HerbName, MeasuredItem, QualityLimit, QualityResult
from traceability.settings import Settings


@lru_cache(maxsize=4)
def _load(path: Path | None) -> Catalogue:
    # model_construct: no environment is read; only the path matters to load_catalogue
    return load_catalogue(path, settings=Settings.model_construct(catalogue_path=path))


def catalogue_for(settings: Settings) -> Catalogue:
    """Return the catalogue `settings` names (the packaged one by default), loaded once."""
    return _load(settings.catalogue_path)


def herb_name(catalogue: Catalogue, code: str | None) -> HerbName | None:
    """Return the herb's names, or None for no herb or one the catalogue does not know."""
    if code is None:
        return None
    try:
        h = catalogue.herb(code)
    except NotFound:
        return None
    return HerbName(
        code=h.code, zh=h.zh, pinyin=h.pinyin, latin=h.latin, part=h.part, part_en=h.part_en
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def measured_item(catalogue: Catalogue, herb: str | None, measured: Measurement) -> MeasuredItem:
    """Judge one measurement of a test against the catalogue."""
    code, value, unit = measured.item, measured.value, measured.unit
    below = measured.below_detection
    try:
        zh, en = catalogue.item(code).zh, catalogue.item(code).en
    except NotFound:
        zh = en = code
    try:
        if herb is None:
            raise NotFound("no herb to look the limit up for")
        verdict = catalogue.check_item(herb, code, Decimal(value), unit)
    except (InvalidInput, NotFound, InvalidOperation):
        return MeasuredItem(
            item=code,
            zh=zh,
            en=en,
            value=value,
            unit=unit,
            below_detection=below,
            status="no_limit",
        )
    limit = verdict.limit
    return MeasuredItem(
        item=code,
        zh=zh,
        en=en,
        value=f"{verdict.value:f}",
        unit=verdict.unit,
        below_detection=below,
        status=verdict.status,
        limit=limit
        and QualityLimit(
            min=_text(limit.min), max=_text(limit.max), unit=limit.unit, source=limit.source
        ),
    )


def quality_result(
    catalogue: Catalogue,
    herb: str | None,
    test: QualityTest,
    lab: tuple[str, str | None],
    log_index: int,
) -> QualityResult:
    """The test a `quality_test` body records; `lab` is the laboratory's (name, English name)."""
    return QualityResult(
        report_no=test.report_no,
        tested_on=test.tested_on,
        lab=lab[0],
        lab_en=lab[1],
        method=test.method,
        result=test.result,
        items=[measured_item(catalogue, herb, m) for m in test.items],
        log_index=log_index,
    )
