"""A curious anonymous client reads every public answer for persons' names (issue 10 item 18).

The story: the grower of the 红参 is one person (an organisation registered with
`natural_person`), and a regulator signed in by name recalls the product. Then every answer
an anonymous client can get about it is fetched (consumer pages in both languages, their
JSON, the batch's resolver, the public batch resources and proofs, every log entry) and
searched for the grower's name, the regulator's and the operators' user names. On SQLite
and PostgreSQL.

Signed log entries are public by design and never change: the recall the regulator office
signs names the regulator by user ID only. The one place a natural person's name remains is
the registration entry the registrar signed (docs/security.md says so); nothing derived
from it shows the name.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from resource_support import COOP, OPERATORS, ResourceApi, body, open_resource_api

from traceability import users
from traceability.facts.public import INDIVIDUAL_GROWER

GROWER_ZH, GROWER_EN = "王建国", "Wang Jianguo"
REGULATOR = "li.jian"
GTIN, LOT, SERIALS = "06901234567892", "HS2026001", ("0001", "0002", "0003")
BATCHES = ("FS-PL-2020-001", "FS-RS-2026-001", "FS-XS-2026-001", "JA-HS-2026-001")
PACKED = "JA-HS-2026-001-P"


@pytest.fixture(name="story")
def _story(db_url: str) -> Iterator[tuple[ResourceApi, int]]:
    """The grower re-registered as the natural person 王建国, the story packed into three
    units, and a recall by the regulator li.jian; the log index of the grower's registration."""
    with open_resource_api(db_url) as api:
        registration = api.world.ok(
            COOP,
            body(
                "organisation",
                id=COOP,
                kind="cooperative",
                name=GROWER_ZH,
                name_en=GROWER_EN,
                credit_code=None,
                natural_person=True,
            ),
            "admin",
        )
        api.world.packed()
        users.create_user(api.engine, REGULATOR, "regulator")
        token = users.issue_token(api.engine, REGULATOR, "desk").token
        recall = {"batch": "JA-HS-2026-001", "level": "II", "reason": "镉超标复检确认"}
        answer = api.client.post(
            "/v1/recalls", json=recall, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["regulator"] == REGULATOR  # the regulator's own answer names them
        yield api, registration


def anonymous_answers(api: ResourceApi, skip_entries: set[int]) -> dict[str, str]:
    """Every anonymous answer about the story, by URL (each must be 200)."""
    urls = []
    for serial in (None, *SERIALS):
        link = f"/01/{GTIN}/10/{LOT}" + (f"/21/{serial}" if serial else "")
        urls += [(link, "text/html"), (f"{link}?lang=en", "text/html")]
        urls.append((link, "application/json"))
    for batch in (*BATCHES, PACKED):
        for tail in ("", "/events", "/trace?direction=backward", "/trace?direction=forward"):
            urls.append((f"/v1/batches/{batch}{tail}", "application/json"))
        urls.append((f"/v1/batches/{batch}/proofs?scope=trace", "application/json"))
    size = api.domain.ledger.size()
    urls += [(f"/v1/log/entries/{i}", "application/json") for i in range(size)]
    urls += [("/v1/log/checkpoint", "*/*"), ("/healthz", "*/*")]
    answers = {}
    for url, accept in urls:
        if url in {f"/v1/log/entries/{i}" for i in skip_entries}:
            continue
        response = api.client.get(url, headers={"Accept": accept})
        assert response.status_code == 200, (url, response.status_code, response.text)
        assert "authorization" not in {k.lower() for k in response.request.headers}
        answers[f"{url} ({accept})"] = response.text
    return answers


def names_in(text: str) -> list[str]:
    """The persons' and users' names that `text` contains."""
    people = [GROWER_ZH, GROWER_EN, REGULATOR, *(name for name, _ in OPERATORS.values())]
    return [name for name in people if name in text]


def test_no_person_or_user_name_reaches_an_anonymous_answer(
    story: tuple[ResourceApi, int],
) -> None:
    """No consumer page, resolver JSON, public batch resource, proof or log entry (but the
    grower's own registration) carries the grower's, the regulator's or a user's name."""
    api, registration = story
    answers = anonymous_answers(api, skip_entries={registration})
    assert len(answers) > 40
    leaks = {url: names_in(text) for url, text in answers.items() if names_in(text)}
    assert not leaks, leaks


def test_the_natural_person_grower_is_shown_as_an_individual_grower_with_the_county(
    story: tuple[ResourceApi, int],
) -> None:
    """The unit's consumer JSON shows the grower as 个体种植户 with its county, in the origin,
    the steps and the chain of custody; the recall's reason is there without attribution."""
    api, _ = story
    facts = api.client.get(
        f"/01/{GTIN}/10/{LOT}/21/0001", headers={"Accept": "application/json"}
    ).json()
    assert facts["origin"]["organisation"] == INDIVIDUAL_GROWER
    assert facts["origin"]["region"]["county"] == "抚松县"
    grower_steps = [s for s in facts["steps"] if s["type"] in {"planting", "harvest"}]
    assert grower_steps
    assert {s["organisation"] for s in grower_steps} == {INDIVIDUAL_GROWER}
    assert facts["custody"][0]["organisation"] == INDIVIDUAL_GROWER
    assert facts["status"] == "recalled"
    assert facts["recall"]["reason"] == "镉超标复检确认"


def test_the_recall_entry_names_the_regulator_by_user_id_only(
    story: tuple[ResourceApi, int],
) -> None:
    """The recall the office signed is public in the log: its body's reason ends with the
    regulator's user ID, and the regulator's name is in no byte of the entry."""
    api, _ = story
    size = api.domain.ledger.size()
    recalls = []
    for i in range(size):
        leaf, _, entry = api.domain.ledger.entry(i)
        if entry.payload()["body"]["type"] == "recall":
            recalls.append((leaf, entry.payload()["body"]["reason"]))
    [(leaf, reason)] = recalls
    user = users.get_user(api.engine, REGULATOR)
    assert reason == f"镉超标复检确认 [regulator #{user.id}]"
    assert REGULATOR.encode() not in leaf
