"""Draw a lineage graph as SVG: batches in layers by depth, from origins at the top to units.

The layout is a layered DAG drawing: a batch's depth is the length of the longest path to
it from a batch without parents (planting, herd), each depth is one row, and within a row
batches are ordered by the mean position of their parents (then by log order), so chains
stay straight and splits fan out below their parent. Each batch that has packed units gets
one more box below it with their tally. Colours: recalled batches and units red, batches
whose latest test failed amber (a recalled one red with an amber stripe), the batch asked
about drawn with a thick border.

Every box is a `<g class="batch">` (or `class="units"`) with `data-batch`, `data-status`,
`data-quality` (units: `data-count`, `data-recalled`) and a `<title>`; every edge is a
`<g class="edge">` with `data-parent`, `data-child` and `data-event`, labelled with the
event type. All text is XML-escaped; the document is standalone SVG 1.1.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from html import escape

from api.lineage_graph import Lineage, LineageNode, UnitTally

BOX_W, BOX_H = 236, 66
H_GAP, V_GAP = 24, 58
MARGIN, LEGEND_H = 16, 30
FONT = "system-ui, 'Noto Sans CJK SC', 'Noto Sans SC', sans-serif"

KIND = {
    "planting": "种植",
    "herd": "鹿群",
    "harvest": "采收",
    "processed": "加工",
    "split": "分割",
    "merged": "合并",
    "packed": "包装",
}
STATUS = {"active": "在库", "consumed": "已用完", "recalled": "已召回"}
QUALITY = {"passed": "合格", "failed": "不合格", "untested": "未检"}
EVENT = {
    "harvest": "采收",
    "fresh_processing": "产地加工",
    "processing": "炮制",
    "split": "分割",
    "merge": "合并",
    "pack": "包装",
    "units": "单品",
}

RED = ("#fce8e6", "#d93025", "#a50e0e")  # fill, stroke, text
AMBER = ("#fef7e0", "#f29900", "#8a5300")
PLAIN = ("#f3f7f4", "#6b8f76", "#1f3326")


@dataclass(frozen=True, slots=True)
class _Box:
    """A placed box: its key (batch ID, or `units:` + batch ID), position and row."""

    key: str
    x: float
    y: float


def _depths(lineage: Lineage) -> dict[str, int]:
    """Longest-path depth of each batch from the batches without parents (Kahn's order)."""
    parents: dict[str, list[str]] = defaultdict(list)
    children: dict[str, list[str]] = defaultdict(list)
    for link in lineage.links:
        if link.parent not in parents[link.child]:
            parents[link.child].append(link.parent)
            children[link.parent].append(link.child)
    waiting = {n.id: len(parents[n.id]) for n in lineage.nodes}
    depth = dict.fromkeys(waiting, 0)
    ready = [key for key, count in waiting.items() if count == 0]
    while ready:
        key = ready.pop()
        for child in children[key]:
            depth[child] = max(depth[child], depth[key] + 1)
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return depth


def _rows(lineage: Lineage) -> list[list[str]]:
    """Box keys row by row, each row ordered by its parents' mean position, then log order."""
    depth = _depths(lineage)
    order = {n.id: k for k, n in enumerate(lineage.nodes)}
    parents: dict[str, set[str]] = defaultdict(set)
    for link in lineage.links:
        parents[link.child].add(link.parent)
    for tally in lineage.units:
        key = "units:" + tally.batch
        depth[key] = depth[tally.batch] + 1
        parents[key] = {tally.batch}
        order[key] = order[tally.batch]
    rows: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for key in depth:
        rows[depth[key]].append(key)
    position: dict[str, float] = {}
    for row in rows:

        def rank(key: str) -> tuple[float, int]:
            above = [position[p] for p in parents[key] if p in position]
            return (sum(above) / len(above) if above else 0.0, order[key])

        row.sort(key=rank)
        position.update({key: float(k) for k, key in enumerate(row)})
    return rows


def _em(text: str) -> float:
    """Rough width of `text` in ems: CJK characters are one em, others about 0.6."""
    return sum(1.0 if ord(c) >= 0x2E80 else 0.6 for c in text)


def _fit(text: str, size: float, width: float) -> str:
    """`text` shortened with an ellipsis to fit `width` pixels at font size `size`."""
    if _em(text) * size <= width:
        return text
    while text and _em(text + "…") * size > width:
        text = text[:-1]
    return text + "…"


def _text(x: float, y: float, text: str, size: float, colour: str, *, bold: bool = False) -> str:
    weight = ' font-weight="700"' if bold else ""
    shown = escape(_fit(text, size, BOX_W - 16))
    return f'<text x="{x:g}" y="{y:g}" font-size="{size:g}" fill="{colour}"{weight}>{shown}</text>'


def _colours(status: str, quality: str) -> tuple[str, str, str]:
    if status == "recalled":
        return RED
    return AMBER if quality == "failed" else PLAIN


def _batch_box(node: LineageNode, box: _Box, focus: bool) -> str:
    fill, stroke, ink = _colours(node.status, node.quality)
    kind = f"{KIND.get(node.kind, node.kind)} {node.kind}"
    state = f"{STATUS.get(node.status, node.status)} {node.status}"
    quality = QUALITY.get(node.quality, node.quality)
    title = (
        f"{node.id}: {node.herb_name} ({node.herb}), {node.kind}, {node.quantity} {node.unit}, "
        f"{node.status}, quality {node.quality}, owner {node.owner}, held by {node.custodian}"
    )
    return (
        f'<g class="batch{" focus" if focus else ""}" data-batch="{escape(node.id)}" '
        f'data-kind="{escape(node.kind)}" data-status="{escape(node.status)}" '
        f'data-quality="{escape(node.quality)}"><title>{escape(title)}</title>'
        f'<rect x="{box.x:g}" y="{box.y:g}" width="{BOX_W}" height="{BOX_H}" rx="8" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{3.5 if focus else 1.5}"/>'
        + (  # a failed test stays visible on a recalled (red) batch too
            f'<rect class="failed-test" x="{box.x + 2:g}" y="{box.y + 6:g}" width="4" '
            f'height="{BOX_H - 12}" fill="{AMBER[1]}"/>'
            if node.quality == "failed"
            else ""
        )
        + _text(box.x + 8, box.y + 19, node.id, 13, ink, bold=True)
        + _text(box.x + 8, box.y + 38, f"{node.herb_name} · {kind}", 12, ink)
        + _text(
            box.x + 8, box.y + 56, f"{node.quantity} {node.unit} · {state} · {quality}", 11, ink
        )
        + "</g>"
    )


def _units_box(tally: UnitTally, box: _Box) -> str:
    fill, stroke, ink = RED if tally.recalled else PLAIN
    counts = " · ".join(
        f"{STATUS.get(s, {'packed': '待售', 'sold': '已售'}.get(s, s))} {s} {n}"
        for s, n in tally.by_status.items()
    )
    title = f"{tally.total} units of {tally.batch}: {counts}"
    return (
        f'<g class="units" data-batch="{escape(tally.batch)}" data-count="{tally.total}" '
        f'data-recalled="{tally.recalled}"><title>{escape(title)}</title>'
        f'<rect x="{box.x:g}" y="{box.y:g}" width="{BOX_W}" height="{BOX_H}" rx="8" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="1.5" stroke-dasharray="6 3"/>'
        + _text(box.x + 8, box.y + 19, f"{tally.total} 件单品 units", 13, ink, bold=True)
        + _text(box.x + 8, box.y + 38, f"of {tally.batch}", 12, ink)
        + _text(box.x + 8, box.y + 56, counts, 11, ink)
        + "</g>"
    )


def _edge(parent: _Box, child: _Box, event: str, attrs: str) -> str:
    x1, y1 = parent.x + BOX_W / 2, parent.y + BOX_H
    x2, y2 = child.x + BOX_W / 2, child.y
    ym = (y1 + y2) / 2
    label = f"{EVENT[event]} {event}" if event in EVENT else event
    width = _em(label) * 11 + 10
    return (
        f'<g class="edge" {attrs}>'
        f'<path d="M{x1:g} {y1:g} C{x1:g} {ym:g} {x2:g} {ym:g} {x2:g} {y2 - 2:g}" fill="none" '
        f'stroke="#7a8a80" stroke-width="1.5" marker-end="url(#arrow)"/>'
        f'<rect x="{(x1 + x2) / 2 - width / 2:g}" y="{ym - 9:g}" width="{width:g}" height="18" '
        f'rx="4" fill="#ffffff" stroke="#c9d3cc"/>'
        f'<text x="{(x1 + x2) / 2:g}" y="{ym + 4:g}" font-size="11" text-anchor="middle" '
        f'fill="#35463b">{escape(label)}</text></g>'
    )


def _legend() -> str:
    items = [(PLAIN, "正常 normal"), (AMBER, "检验不合格 failed test"), (RED, "已召回 recalled")]
    parts, x = [], float(MARGIN)
    for (fill, stroke, _), label in items:
        parts.append(
            f'<rect x="{x:g}" y="{MARGIN:g}" width="14" height="14" rx="3" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.5"/>'
            f'<text x="{x + 20:g}" y="{MARGIN + 11:g}" font-size="11" fill="#333">{label}</text>'
        )
        x += 28 + _em(label) * 11
    return '<g class="legend">' + "".join(parts) + "</g>"


def render_svg(lineage: Lineage) -> str:
    """Return the lineage drawn as a standalone SVG document (UTF-8 text)."""
    rows = _rows(lineage)
    widest = max((len(r) for r in rows), default=1)
    width = max(2 * MARGIN + widest * BOX_W + (widest - 1) * H_GAP, 420)
    height = 2 * MARGIN + LEGEND_H + len(rows) * BOX_H + max(len(rows) - 1, 0) * V_GAP
    boxes: dict[str, _Box] = {}
    for depth, row in enumerate(rows):
        span = len(row) * BOX_W + (len(row) - 1) * H_GAP
        left = (width - span) / 2
        y = MARGIN + LEGEND_H + depth * (BOX_H + V_GAP)
        for k, key in enumerate(row):
            boxes[key] = _Box(key, left + k * (BOX_W + H_GAP), y)
    edges = [
        _edge(
            boxes[link.parent],
            boxes[link.child],
            link.event,
            f'data-parent="{escape(link.parent)}" data-child="{escape(link.child)}" '
            f'data-event="{escape(link.event)}"',
        )
        for link in lineage.links
    ]
    edges += [
        _edge(
            boxes[t.batch],
            boxes["units:" + t.batch],
            "units",
            f'data-parent="{escape(t.batch)}" data-child="units" data-event="units"',
        )
        for t in lineage.units
    ]
    shapes = [_batch_box(n, boxes[n.id], n.id == lineage.batch) for n in lineage.nodes]
    shapes += [_units_box(t, boxes["units:" + t.batch]) for t in lineage.units]
    title = f"批次溯源图 Lineage of {lineage.batch}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 {width:g} {height:g}" '
        f'width="{width:g}" height="{height:g}" font-family="{FONT}" role="img" '
        f'data-batch="{escape(lineage.batch)}"><title>{escape(title)}</title>'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="#7a8a80"/></marker>'
        "</defs>" + _legend() + "".join(edges) + "".join(shapes) + "</svg>\n"
    )
