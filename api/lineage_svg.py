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

Labels are in Chinese, in the words of `traceability/facts/terms_zh.py` (a split is 分批), and
are never cut: a line too long for its box wraps onto the next, and every box is as tall as
the one with the most lines. Units count as sold by their sale, so a recall does not turn
"已售 6" into "已售 0".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from html import escape

from api.lineage_graph import Lineage, LineageNode, UnitTally
from traceability.facts.terms_zh import EVENT, UNIT_STATUS

BOX_W = 236
H_GAP, V_GAP = 24, 58
MARGIN, LEGEND_H = 16, 30
PAD_X, PAD_Y = 8, 8
FONT = "system-ui, 'Noto Sans CJK SC', 'Noto Sans SC', sans-serif"
SIZES = (13.0, 12.0, 11.0)
"""Font size of a box's first, second and third line."""

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


def _wrap(text: str, size: float, width: float) -> list[str]:
    """`text` broken into lines that fit `width` pixels at font size `size` (at a space or
    `·` when one is near, else anywhere): nothing is cut off."""
    lines: list[str] = []
    while _em(text) * size > width:
        cut = 1
        while cut < len(text) and _em(text[: cut + 1]) * size <= width:
            cut += 1
        soft = max(text.rfind(" ", 0, cut + 1), text.rfind("·", 0, cut + 1))
        if soft > cut // 2:
            cut = soft + 1
        lines.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [*lines, text]


def _lines(texts: list[str]) -> list[tuple[str, float]]:
    """The box's texts wrapped, each line with its font size."""
    return [
        (line, size)
        for text, size in zip(texts, SIZES, strict=False)
        for line in _wrap(text, size, BOX_W - 2 * PAD_X)
    ]


def _height(lines: list[tuple[str, float]]) -> float:
    return 2 * PAD_Y + sum(size * 1.45 for _, size in lines)


def _texts(x: float, y: float, lines: list[tuple[str, float]], colour: str) -> str:
    """The lines as `<text>` elements from the top of a box at (x, y); the first is bold."""
    out, baseline = [], y + PAD_Y
    for k, (line, size) in enumerate(lines):
        baseline += size * 1.45
        weight = ' font-weight="700"' if k == 0 else ""
        out.append(
            f'<text x="{x + PAD_X:g}" y="{baseline - size * 0.35:g}" font-size="{size:g}" '
            f'fill="{colour}"{weight}>{escape(line)}</text>'
        )
    return "".join(out)


def _batch_lines(node: LineageNode) -> list[tuple[str, float]]:
    return _lines(
        [
            node.id,
            f"{node.herb_name} · {node.kind_zh}",
            f"{node.quantity} {node.unit_zh} · {node.status_zh} · {node.quality_zh}",
        ]
    )


def _units_lines(tally: UnitTally) -> list[tuple[str, float]]:
    unsold = tally.by_status.get("packed", 0)
    counts = [f"{UNIT_STATUS['packed']} {unsold}", f"{UNIT_STATUS['sold']} {tally.sold}"]
    if tally.recalled:
        counts.append(f"{UNIT_STATUS['recalled']} {tally.recalled}")
    return _lines([f"{tally.total} 件单品", f"批次 {tally.batch}", " · ".join(counts)])


def _colours(status: str, quality: str) -> tuple[str, str, str]:
    if status == "recalled":
        return RED
    return AMBER if quality == "failed" else PLAIN


def _batch_box(node: LineageNode, box: _Box, height: float, focus: bool) -> str:
    fill, stroke, ink = _colours(node.status, node.quality)
    title = (
        f"{node.id}：{node.herb_name}（{node.herb}），{node.kind_zh}，{node.quantity} "
        f"{node.unit_zh}，{node.status_zh}，检验{node.quality_zh}，所有者 {node.owner}，"
        f"持有者 {node.custodian}"
    )
    return (
        f'<g class="batch{" focus" if focus else ""}" data-batch="{escape(node.id)}" '
        f'data-kind="{escape(node.kind)}" data-status="{escape(node.status)}" '
        f'data-quality="{escape(node.quality)}"><title>{escape(title)}</title>'
        f'<rect x="{box.x:g}" y="{box.y:g}" width="{BOX_W}" height="{height:g}" rx="8" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{3.5 if focus else 1.5}"/>'
        + (  # a failed test stays visible on a recalled (red) batch too
            f'<rect class="failed-test" x="{box.x + 2:g}" y="{box.y + 6:g}" width="4" '
            f'height="{height - 12:g}" fill="{AMBER[1]}"/>'
            if node.quality == "failed"
            else ""
        )
        + _texts(box.x, box.y, _batch_lines(node), ink)
        + "</g>"
    )


def _units_box(tally: UnitTally, box: _Box, height: float) -> str:
    fill, stroke, ink = RED if tally.recalled else PLAIN
    lines = _units_lines(tally)
    title = f"{tally.batch} 的 {tally.total} 件单品：{lines[-1][0]}"
    return (
        f'<g class="units" data-batch="{escape(tally.batch)}" data-count="{tally.total}" '
        f'data-sold="{tally.sold}" data-recalled="{tally.recalled}">'
        f"<title>{escape(title)}</title>"
        f'<rect x="{box.x:g}" y="{box.y:g}" width="{BOX_W}" height="{height:g}" rx="8" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="1.5" stroke-dasharray="6 3"/>'
        + _texts(box.x, box.y, lines, ink)
        + "</g>"
    )


def _edge(parent: _Box, child: _Box, height: float, event: str, attrs: str) -> str:
    x1, y1 = parent.x + BOX_W / 2, parent.y + height
    x2, y2 = child.x + BOX_W / 2, child.y
    ym = (y1 + y2) / 2
    label = EVENT.get(event, event)
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
    items = [(PLAIN, "正常", ""), (AMBER, "检验不合格", ""), (RED, "已召回", "")]
    items.append((PLAIN, "包装单品", ' stroke-dasharray="4 2"'))
    parts, x = [], float(MARGIN)
    for (fill, stroke, _), label, dashes in items:
        parts.append(
            f'<rect x="{x:g}" y="{MARGIN:g}" width="14" height="14" rx="3" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="1.5"{dashes}/>'
            f'<text x="{x + 20:g}" y="{MARGIN + 11:g}" font-size="11" fill="#333">{label}</text>'
        )
        x += 28 + _em(label) * 11
    return '<g class="legend">' + "".join(parts) + "</g>"


def render_svg(lineage: Lineage) -> str:
    """Return the lineage drawn as a standalone SVG document (UTF-8 text)."""
    rows = _rows(lineage)
    box_h = max(
        [_height(_batch_lines(n)) for n in lineage.nodes]
        + [_height(_units_lines(t)) for t in lineage.units]
        + [_height(_lines(["", "", ""]))]
    )
    widest = max((len(r) for r in rows), default=1)
    width = max(2 * MARGIN + widest * BOX_W + (widest - 1) * H_GAP, 360)
    height = 2 * MARGIN + LEGEND_H + len(rows) * box_h + max(len(rows) - 1, 0) * V_GAP
    boxes: dict[str, _Box] = {}
    for depth, row in enumerate(rows):
        span = len(row) * BOX_W + (len(row) - 1) * H_GAP
        left = (width - span) / 2
        y = MARGIN + LEGEND_H + depth * (box_h + V_GAP)
        for k, key in enumerate(row):
            boxes[key] = _Box(key, left + k * (BOX_W + H_GAP), y)
    edges = [
        _edge(
            boxes[link.parent],
            boxes[link.child],
            box_h,
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
            box_h,
            "units",
            f'data-parent="{escape(t.batch)}" data-child="units" data-event="units"',
        )
        for t in lineage.units
    ]
    shapes = [_batch_box(n, boxes[n.id], box_h, n.id == lineage.batch) for n in lineage.nodes]
    shapes += [_units_box(t, boxes["units:" + t.batch], box_h) for t in lineage.units]
    title = f"批次 {lineage.batch} 的溯源图"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 {width:g} {height:g}" '
        f'width="{width:g}" height="{height:g}" font-family="{FONT}" role="img" '
        f'data-batch="{escape(lineage.batch)}"><title>{escape(title)}</title>'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="#7a8a80"/></marker>'
        "</defs>" + _legend() + "".join(edges) + "".join(shapes) + "</svg>\n"
    )
