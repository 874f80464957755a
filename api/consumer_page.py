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
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from traceability.facts.models import PublicFacts

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

    def org(self, name: str, name_en: str | None) -> str:
        """An organisation's name in this language (its English name where registered)."""
        return name_en if self.lang == "en" and name_en else name


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
        processing=[s for s in facts.steps if s.methods],
    )
