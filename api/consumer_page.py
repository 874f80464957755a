"""The consumer page: a unit's or batch's public facts as mobile-first HTML, in zh-CN or English.

The page is rendered here from `PublicFacts` with Jinja2 (`api/templates/consumer.html`,
every value autoescaped) and enhanced in the browser by `api/static/consumer/consumer.js`,
which verifies the facts against the log and records the scan. Its texts come from one
message catalogue, `api/static/consumer/messages.json` (`{"zh-CN": {key: text}, "en": …}`,
the same keys in both; `{name}` marks a value filled in). The page embeds the catalogue of its
language and the facts the script needs as JSON data blocks, so it runs no inline script and
is served with a Content-Security-Policy that allows only this origin's scripts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.romanize import place, reading
from traceability.facts.models import PublicFacts, QualityLimit, QualityResult, Region
from traceability.facts.public import INDIVIDUAL_GROWER

Lang = Literal["zh-CN", "en"]
LANGS: tuple[Lang, ...] = ("zh-CN", "en")
DEFAULT_LANG: Lang = "zh-CN"

HERE = Path(__file__).parent
MESSAGES = HERE / "static" / "consumer" / "messages.json"
TEMPLATES = HERE / "templates"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""Only this origin's scripts, styles and requests; no inline script, no framing."""

FORM_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""The home page and the code-error page (which load no script): a form sent to this origin."""


def pick_lang(value: str | None) -> Lang:
    """The page language for a `?lang=` value: English for `en` (any region), else Chinese.

    An unsupported or missing language falls back to Chinese rather than refusing the
    shopper a page.
    """
    if value and value.strip().lower().split("-")[0] == "en":
        return "en"
    return DEFAULT_LANG


def lang_query(lang: Lang) -> str:
    """The query string that keeps `lang` on a link ("" for the default language)."""
    return "" if lang == DEFAULT_LANG else f"?lang={lang}"


@cache
def messages() -> dict[Lang, dict[str, str]]:
    """Return the message catalogue of every language (read once)."""
    data: dict[Lang, dict[str, str]] = json.loads(MESSAGES.read_text(encoding="utf-8"))
    return data


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # `tojson` still escapes < > & ' (so a data block cannot close its <script>)
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return env


_PHARMACOPOEIA = re.compile(r"《中华人民共和国药典》\s*(\d{4})\s*年版\s*([一二三四])部")
_VOLUMES = {"一": "I", "二": "II", "三": "III", "四": "IV"}


@cache
def _step_codes() -> dict[str, str]:
    """Each processing step's Chinese name, as the catalogue of messages writes it, to its code."""
    return {
        text: key.removeprefix("step.")
        for key, text in messages()["zh-CN"].items()
        if key.startswith("step.")
    }


class Translator:
    """Texts of one language: `t(key, name=value…)` fills `{name}`; an unknown key shows as is."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self.table = messages()[lang]

    def __call__(self, key: str, **values: object) -> str:
        text = self.table.get(key, key)
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return text

    def limit(self, limit: QualityLimit) -> str:
        """A limit as the page writes it: "≤ 12.0 %", "≥ 0.30 %", "1.0 – 3.0 %"."""
        if limit.min is not None and limit.max is not None:
            bound = self("limit.range", min=limit.min, max=limit.max)
        elif limit.max is not None:
            bound = self("limit.max", value=limit.max)
        else:
            bound = self("limit.min", value=limit.min)
        return f"{bound} {limit.unit}"

    def failing(self, test: QualityResult) -> str:
        """The items `test` failed, each with its value and limit."""
        return self("list_sep").join(
            self(
                "failed_item",
                name=i.en if self.lang == "en" else i.zh,
                value=f"{i.value} {i.unit}",
                limit=self.limit(i.limit) if i.limit else "—",
            )
            for i in test.items
            if i.status == "fail"
        )

    def org(self, name: str, name_en: str | None) -> str:
        """An organisation's name in this language: its English name where registered, else
        the Chinese name with its reading on the English page; an individual grower as such."""
        if name == INDIVIDUAL_GROWER:
            return self("individual_grower")
        if self.lang != "en":
            return name
        return name_en or self.named(name)

    def reading(self, text: str) -> str:
        """The pinyin reading of a name recorded in Chinese, on the English page only."""
        return reading(text) if self.lang == "en" and text else ""

    def named(self, text: str) -> str:
        """A name recorded in Chinese, followed on the English page by its reading."""
        spoken = self.reading(text)
        return f"{text} ({spoken})" if spoken and spoken != text else text

    def region(self, region: Region) -> str:
        """A region as this language writes it: 吉林省 白山市 抚松县, or Fusong County, Baishan
        City, Jilin Province."""
        parts = (region.province, region.city, region.county)
        if self.lang == "en":
            return ", ".join(place(p) for p in reversed(parts) if p)
        return " ".join(p for p in parts if p)

    def citation(self, text: str) -> str:
        """A standard as cited, the pharmacopoeia's title and edition in English on the
        English page: "《中华人民共和国药典》2020年版一部 红参" is "Chinese Pharmacopoeia 2020,
        vol. I: 红参" (the monograph and section stay as the standard prints them)."""
        if self.lang != "en":
            return text
        return _PHARMACOPOEIA.sub(
            lambda m: f"Chinese Pharmacopoeia {m.group(1)}, vol. {_VOLUMES[m.group(2)]}:", text
        )

    def parameter(self, name: str) -> str:
        """A processing parameter's recorded name: a step's name in this language where the
        name is one (蒸制 is steaming), else as recorded (with its reading in English)."""
        code = _step_codes().get(name)
        return self("step." + code) if code else self.named(name)


VerdictKind = Literal["recalled", "failed", "pending", "ok"]
"""The product verdict as the records give it. The page's script then settles `pending` (a
unit whose scans are being checked) as `ok` or `copied`, and turns `ok` into `unverified`
when the records do not verify."""


@dataclass(frozen=True)
class Retest:
    """A failed test and the later passing test of the same material that cleared it."""

    failed: QualityResult
    passed: QualityResult


@dataclass(frozen=True)
class ProductVerdict:
    """What the records mean for the shopper's product, shown before anything else."""

    kind: VerdictKind
    failed_test: QualityResult | None = None
    retests: list[Retest] = field(default_factory=list)


def _when(test: QualityResult) -> tuple[str, int]:
    return test.tested_on, -1 if test.log_index is None else test.log_index


def product_verdict(facts: PublicFacts) -> ProductVerdict:
    """Recalled first; then failed, if the latest test failed; then pending for a unit (its
    scans decide between fine and copied), fine for a batch. A failed test that a later test
    passed is a retest, explained on the page.

    A batch that failed a test is not packed, shipped or sold until a passing retest
    (`traceability/domain/rules/quality.py`), so a pass after a fail is that retest.
    """
    tests = sorted(facts.tests, key=_when)
    retests = []
    for k, test in enumerate(tests):
        if test.result == "fail":
            later = next((t for t in tests[k + 1 :] if t.result == "pass"), None)
            if later is not None:
                retests.append(Retest(failed=test, passed=later))
    failed = tests[-1] if tests and tests[-1].result == "fail" else None
    if facts.recall is not None:
        kind: VerdictKind = "recalled"
    elif failed is not None:
        kind = "failed"
    else:
        kind = "pending" if facts.serial else "ok"
    return ProductVerdict(kind=kind, failed_test=failed, retests=retests)


def script_data(facts: PublicFacts, lang: Lang) -> dict[str, Any]:
    """What consumer.js needs: the identifiers, the batch to verify, and each shown entry."""
    return {
        "lang": lang,
        "gtin": facts.gtin,
        "lot": facts.lot,
        "serial": facts.serial,
        "batch": facts.batch,
        "entries": [
            {"index": s.log_index, "type": s.type} for s in facts.steps if s.log_index is not None
        ],
        "verdict": product_verdict(facts).kind,
    }


def render_template(name: str, lang: Lang, **values: object) -> str:
    """Render template `name` in `lang` with the translator `t` and `values`."""
    t = Translator(lang)
    template = _environment().get_template(name)
    return template.render(t=t, lang=lang, **values)


def render_page(facts: PublicFacts, lang: Lang, log_key: str, switch_url: str) -> str:
    """Render the consumer page of `facts` in `lang`, pinning `log_key` for the verifier.

    `switch_url` is the same page in the other language.
    """
    t = Translator(lang)
    template = _environment().get_template("consumer.html")
    return template.render(
        facts=facts,
        t=t,
        lang=lang,
        log_key=log_key,
        switch_url=switch_url,
        messages=t.table,
        data=script_data(facts, lang),
        verdict=product_verdict(facts),
        failing=t.failing,
        processing=[s for s in facts.steps if s.methods],
    )
