"""The lineage picture: layered layout, colours, labels and escaping, on hand-built graphs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from api.lineage_graph import Lineage, LineageLink, LineageNode, UnitTally
from api.lineage_svg import AMBER, BOX_W, PAD_X, RED, render_svg
from traceability.facts import terms_zh
from traceability.facts.recall_reach import RecallReach

NOTHING_REACHED = RecallReach(0, 0, 0, 0, 0, [], [])

NS = {"svg": "http://www.w3.org/2000/svg"}


def node(batch: str, kind: str, index: int, **values: str) -> LineageNode:
    """A batch node of ginseng with `values` overriding status, quality, herb name."""
    status = values.get("status", "active")
    quality = values.get("quality", "untested")
    return LineageNode(
        id=batch,
        herb="renshen",
        herb_name=values.get("herb_name", "人参"),
        kind=kind,
        status=status,
        quality=quality,
        owner="org-a",
        custodian="org-a",
        quantity="10",
        unit="kg",
        created_index=index,
        kind_zh=terms_zh.BATCH_KIND[kind],
        status_zh=terms_zh.BATCH_STATUS[status],
        quality_zh=terms_zh.QUALITY[quality],
        unit_zh="千克",
    )


def link(parent: str, child: str, event: str, index: int) -> LineageLink:
    """A lineage edge made by `event` at log index `index`."""
    return LineageLink(parent, child, event, index, "1", "kg", terms_zh.EVENT[event])


def merge_and_split() -> Lineage:
    """Planting → two harvests → merged → processed → split A, B; A packed into units."""
    nodes = [
        node("PL", "planting", 1),
        node("H1", "harvest", 2),
        node("H2", "harvest", 3),
        node("M", "merged", 4),
        node("P", "processed", 5, quality="failed"),
        node("A", "split", 6, status="recalled"),
        node("B", "split", 6),
        node("PK", "packed", 7, status="recalled", quality="failed"),
    ]
    links = [
        link("PL", "H1", "harvest", 2),
        link("PL", "H2", "harvest", 3),
        link("H1", "M", "merge", 4),
        link("H2", "M", "merge", 4),
        link("M", "P", "processing", 5),
        link("P", "A", "split", 6),
        link("P", "B", "split", 6),
        link("A", "PK", "pack", 7),
    ]
    units = [UnitTally("PK", 5, 5, 2, {"recalled": 5})]
    upstream = ["PL", "H1", "H2", "M"]
    return Lineage("P", nodes, links, units, upstream, downstream=["A"], reach=NOTHING_REACHED)


def boxes(svg: ET.Element) -> dict[str, tuple[float, float, ET.Element]]:
    """Each batch box (and `units:<batch>` box) by key: its rectangle's x, y and its group."""
    found = {}
    for group in svg.iterfind(".//svg:g", NS):
        cls = group.get("class", "")
        if cls.split()[0] in ("batch", "units"):
            rect = group.find("svg:rect", NS)
            assert rect is not None
            key = group.get("data-batch", "")
            key = key if cls.startswith("batch") else "units:" + key
            found[key] = (float(rect.get("x", "nan")), float(rect.get("y", "nan")), group)
    return found


def test_rows_follow_depth_from_the_origin_down_to_the_units() -> None:
    """Every edge points to a lower row; siblings share a row; units sit below their batch."""
    svg = ET.fromstring(render_svg(merge_and_split()))  # noqa: S314 - our own output
    placed = boxes(svg)
    assert set(placed) == {"PL", "H1", "H2", "M", "P", "A", "B", "PK", "units:PK"}
    y = {key: value[1] for key, value in placed.items()}
    for parent, child in [("PL", "H1"), ("H1", "M"), ("M", "P"), ("P", "A"), ("A", "PK")]:
        assert y[child] > y[parent], (parent, child)
    assert y["H1"] == y["H2"]
    assert y["A"] == y["B"]
    assert y["units:PK"] > y["PK"]
    assert len(set(y.values())) == 7  # PL, harvests, M, P, splits, PK, units
    assert placed["H1"][0] < placed["H2"][0]  # log order within a row


def test_edges_are_labelled_with_their_event_type() -> None:
    """Each lineage edge is drawn once with its parent, child and event type, labelled in
    Chinese (a split is 分批, as on the consumer page)."""
    svg = ET.fromstring(render_svg(merge_and_split()))  # noqa: S314 - our own output
    edges = [g for g in svg.iterfind(".//svg:g", NS) if g.get("class") == "edge"]
    drawn = {(g.get("data-parent"), g.get("data-child"), g.get("data-event")) for g in edges}
    assert drawn == {
        ("PL", "H1", "harvest"),
        ("PL", "H2", "harvest"),
        ("H1", "M", "merge"),
        ("H2", "M", "merge"),
        ("M", "P", "processing"),
        ("P", "A", "split"),
        ("P", "B", "split"),
        ("A", "PK", "pack"),
        ("PK", "units", "units"),
    }
    labels = {"".join(g.itertext()) for g in edges}
    assert {"采收", "合批", "炮制加工", "分批", "包装", "单品"} == labels


def test_recalled_boxes_are_red_and_failed_tests_amber() -> None:
    """Recalled batches and units are red, a failed test amber (also as a stripe when recalled)."""
    placed = boxes(ET.fromstring(render_svg(merge_and_split())))  # noqa: S314 - our own output

    def stroke(key: str) -> str:
        rect = placed[key][2].find("svg:rect", NS)
        assert rect is not None
        return rect.get("stroke", "")

    def striped(key: str) -> bool:
        return placed[key][2].find("svg:rect[@class='failed-test']", NS) is not None

    assert stroke("A") == stroke("PK") == stroke("units:PK") == RED[1]
    assert stroke("P") == AMBER[1]
    assert stroke("B") not in (RED[1], AMBER[1])
    assert striped("P")
    assert striped("PK")
    assert not striped("A")
    assert placed["units:PK"][2].get("data-recalled") == "5"
    assert placed["PK"][2].get("data-status") == "recalled"
    assert "focus" in placed["P"][2].get("class", "")  # the batch asked about


def test_text_is_escaped_and_the_document_stays_well_formed() -> None:
    """Markup in names cannot break out of the SVG: the document parses, the text is literal."""
    lineage = Lineage(
        "X&Y",
        [node("X&Y", "harvest", 1, herb_name='<script>alert("x")</script>')],
        [],
        [],
        [],
        [],
        NOTHING_REACHED,
    )
    text = render_svg(lineage)
    svg = ET.fromstring(text)  # noqa: S314 - our own output
    assert "<script>" not in text
    assert svg.find(".//svg:script", NS) is None
    assert any('<script>alert("x")' in (t.text or "") for t in svg.iterfind(".//svg:text", NS))
    assert boxes(svg)["X&Y"][2].get("data-batch") == "X&Y"


def em_width(text: str, size: float) -> float:
    """The drawing's own estimate of `text`'s width at `size` (CJK one em, others 0.6)."""
    return sum(1.0 if ord(c) >= 0x2E80 else 0.6 for c in text) * size


def test_long_labels_wrap_inside_their_box_and_nothing_is_cut() -> None:
    """A 64-character batch ID and a long herb name wrap onto more lines: every character is
    drawn, every line fits its box, the box grows to hold them, the title keeps all."""
    long_id = "L" * 64
    herb = "长白山林下山参（移山参）二十年生" * 2
    lineage = Lineage(
        long_id,
        [node(long_id, "harvest", 1, herb_name=herb), node("S", "split", 2)],
        [link(long_id, "S", "split", 2)],
        [UnitTally("S", 1234, 0, 1200, {"packed": 34, "sold": 1200})],
        [],
        ["S"],
        NOTHING_REACHED,
    )
    svg = ET.fromstring(render_svg(lineage))  # noqa: S314 - our own output
    placed = boxes(svg)
    group = placed[long_id][2]
    lines = [(t.text or "", float(t.get("font-size", "0"))) for t in group.iterfind("svg:text", NS)]
    drawn = "".join(text for text, _ in lines)
    assert long_id in drawn
    assert "…" not in drawn
    assert herb.replace(" ", "") in drawn.replace(" ", "")
    assert all(em_width(text, size) <= BOX_W - 2 * PAD_X for text, size in lines)
    rect = group.find("svg:rect", NS)
    assert rect is not None
    height = float(rect.get("height", "0"))
    y = float(rect.get("y", "0"))
    assert all(float(t.get("y", "0")) < y + height for t in group.iterfind("svg:text", NS))
    units = "".join(placed["units:S"][2].itertext())
    assert "待售 34" in units
    assert "已售 1200" in units
    title = group.find("svg:title", NS)
    assert title is not None
    assert long_id in (title.text or "")
