"""Alerts worded for a Chinese regulator: what happened, to what, when, and what to do.

The wording is made from the alert's kind and evidence (never by translating its English
`detail`, which stays as logged): organisations and sites by their registered names, herbs
and test items by the catalogue's Chinese names, times in Beijing time, quantities with
their units, and one suggested action per kind. Evidence a sentence cannot place is still
shown, as "key: value", so nothing the alert carries is hidden.

`names_for` reads the names an alert page needs in one go; `word_alert` is pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from schemas.events.custody import Recall
from traceability.catalogue.lookup import Catalogue
from traceability.domain.alerts import AlertView
from traceability.domain.batches import read_batch
from traceability.domain.organisations import organisations_by_id
from traceability.domain.sites import site_by_id
from traceability.domain.state import BatchRecord
from traceability.errors import NotFound
from traceability.facts.entries import read_events
from traceability.facts.terms_zh import EVENT, LEVEL, beijing_time, quantity

TITLE = {
    "quality_failed": "检验不合格",
    "mass_balance": "物料不平衡",
    "cold_chain": "储存温湿度超限",
    "growing_age": "生长年限不符",
    "custody": "越权记录",
    "recalled_batch": "召回",
    "device_gap": "设备记录缺失",
    "equivocation": "设备重复序号",
    "counterfeit_scan": "疑似假冒",
}
"""Each alert kind's title."""

_QUALITY_KEYS = {"lab", "report_no", "lab_result", "source", "downstream_batches"}
_BREACH = re.compile(r"^(?P<value>\S+) (?P<unit>\S+) \(limit (?P<limit>.+)\)$")
_BOUND = re.compile(r"(min|max) (\S+)")
_READING = re.compile(
    r"^(?P<what>humidity )?(?P<value>-?[0-9.]+) ?(?P<unit>°C|%) (?P<dir>above|below) "
    r"(?P<limit>-?[0-9.]+) ?(?P=unit)$"
)
_ACTIONS_ZH = {"packed": "包装", "shipped": "发运", "sold": "销售", "split": "分批"}


@dataclass(frozen=True, slots=True)
class AlertWording:
    """An alert in Chinese: its title, what happened, what to do, and when it was raised."""

    title: str
    summary: str
    action: str
    raised_at: str
    """When the alert was raised, Beijing time (YYYY-MM-DD HH:MM)."""


@dataclass(frozen=True)
class Names:
    """What the wording names things by: organisations, batches, sites, herbs, test items,
    and the reasons of recalls (by log index)."""

    organisations: Mapping[str, str] = field(default_factory=dict)
    batches: Mapping[str, BatchRecord] = field(default_factory=dict)
    sites: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Site ID → (site name, organisation ID)."""
    herbs: Mapping[str, str] = field(default_factory=dict)
    items: Mapping[str, str] = field(default_factory=dict)
    recall_reasons: Mapping[int, str] = field(default_factory=dict)

    def org(self, org_id: object) -> str:
        """The organisation's registered name (its ID when it is not registered)."""
        return self.organisations.get(str(org_id), str(org_id))

    def batch(self, batch_id: object) -> str:
        """The batch ID with its herb's Chinese name: "FS-RS-2026-00001（人参）"."""
        record = self.batches.get(str(batch_id))
        if record is None:
            return f"批次 {batch_id}"
        return f"批次 {batch_id}（{self.herbs.get(record.herb, record.herb)}）"

    def holder(self, batch_id: object) -> str | None:
        """The name of the organisation holding the batch now, if the batch is known."""
        record = self.batches.get(str(batch_id))
        return None if record is None else self.org(record.custodian)

    def site(self, site_id: object) -> str:
        """The site's name and its organisation's: "集安仓库（集安药材公司）"."""
        found = self.sites.get(str(site_id))
        if found is None:
            return f"场所 {site_id}"
        return f"{found[0]}（{self.org(found[1])}）"


def names_for(conn: Connection, alerts: Iterable[AlertView], catalogue: Catalogue) -> Names:
    """Read the names the wording of `alerts` needs: batches, organisations, sites, recalls."""
    alerts = list(alerts)
    batch_ids = {a.batch for a in alerts if a.batch}
    batch_ids |= {str(a.evidence["batch"]) for a in alerts if "batch" in a.evidence}
    batches: dict[str, BatchRecord] = {}
    for batch_id in batch_ids:
        try:
            batches[batch_id] = read_batch(conn, batch_id)
        except NotFound:
            continue
    site_ids = {str(a.evidence["site"]) for a in alerts if "site" in a.evidence}
    sites = {s.id: (s.name, s.organisation) for i in site_ids if (s := site_by_id(conn, i))}
    org_ids = {b.custodian for b in batches.values()} | {b.owner for b in batches.values()}
    org_ids |= {org for _, org in sites.values()}
    for a in alerts:
        org_ids |= {str(a.evidence[k]) for k in _ORG_KEYS if k in a.evidence}
        if a.subject:
            org_ids.add(a.subject)
    organisations = {k: v.name for k, v in organisations_by_id(conn, org_ids).items()}
    recall_indices = [
        a.source_index for a in alerts if a.kind == "recalled_batch" and a.source_index is not None
    ]
    reasons = {
        i: e.body.reason
        for i, e in read_events(conn, recall_indices).items()
        if isinstance(e.body, Recall)
    }
    return Names(
        organisations=organisations,
        batches=batches,
        sites=sites,
        herbs={code: h.zh for code, h in catalogue.herbs.items()},
        items={code: i.zh for code, i in catalogue.items.items()},
        recall_reasons=reasons,
    )


_ORG_KEYS = ("lab", "custodian", "signer_organisation", "site_organisation", "owner", "org")


def _bound(limit: str) -> str:
    """ "min 0.20 and max 1.0 %" as the pharmacopoeia says it: "不得少于 0.20 %，不得过 1.0 %"."""
    unit = limit.rsplit(" ", 1)[-1] if " " in limit else ""
    words = {"min": "不得少于", "max": "不得过"}
    return "，".join(f"{words[m]} {v} {unit}".strip() for m, v in _BOUND.findall(limit))


def _breaches(evidence: Mapping[str, Any], names: Names) -> list[str]:
    out = []
    for key, value in evidence.items():
        if key in _QUALITY_KEYS or key in {"event", "action", "batch"}:
            continue
        item = names.items.get(key)
        match = _BREACH.match(str(value))
        if item is None or match is None:
            continue
        out.append(f"{item} {match['value']} {match['unit']}（标准：{_bound(match['limit'])}）")
    return out


def _quality_failed(a: AlertView, n: Names) -> tuple[str, str]:
    ev = a.evidence
    if "lab" not in ev:  # a refused pack, ship, sale or split of a failed batch
        doing = _ACTIONS_ZH.get(str(ev.get("action")), str(ev.get("action", "")))
        summary = f"{n.org(a.subject)}试图{doing}检验不合格的{n.batch(a.batch)}，记录已被拒绝。"
        action = "核实该机构是否在复检合格前处置不合格药材；检查其库存与销售记录。"
        return summary, action
    lab = n.org(ev["lab"])
    failed = ev.get("lab_result") == "fail"
    breaches = _breaches(ev, n)
    summary = f"{lab}检验{n.batch(a.batch)}（报告编号 {ev.get('report_no', '—')}），"
    summary += "结论为不合格" if failed else "报告结论为合格，但超出药材目录限度"
    if breaches:
        summary += "：" + "；".join(breaches)
    summary += "。"
    if ev.get("source"):
        summary += f"依据：{ev['source']}。"
    if "downstream_batches" in ev:
        summary += f"该批次检验前已处理，下游另有 {ev['downstream_batches']} 个批次。"
    holder = n.holder(a.batch)
    action = (
        "该批次及其下游在复检合格前不得包装、发运或销售（系统已拦截）。"
        + (f"请联系持有方{holder}封存库存，" if holder else "请封存库存，")
        + "核查不合格原因，必要时发起召回。"
    )
    return summary, action


def _cold_chain(a: AlertView, n: Names) -> tuple[str, str]:
    ev = a.evidence
    since, until = str(ev["since"]), str(ev["until"])  # KeyError: worded from the evidence
    reading = _READING.match(str(ev.get("reading", "")))
    if reading:
        what = "湿度" if reading["what"] else "温度"
        side = "高于上限" if reading["dir"] == "above" else "低于下限"
        unit = reading["unit"]
        said = f"{what} {reading['value']} {unit}，{side} {reading['limit']} {unit}"
    else:
        said = f"读数 {ev.get('reading', '—')}"
    when = (
        f"{beijing_time(since)}（北京时间）单次读数"
        if since == until
        else f"{beijing_time(since)} 至 {beijing_time(until)}（北京时间）"
        f"持续 {ev.get('minutes')} 分钟，"
    )
    summary = (
        f"{n.batch(a.batch)}储存条件超出药材目录范围：记录仪 {ev['sensor']} "
        f"于 {when}{said}（允许偏离 {ev.get('tolerance_minutes', '—')} 分钟）。"
    )
    holder = n.holder(a.batch)
    action = (
        f"请联系持有方{holder}" if holder else "请联系持有方"
    ) + "核查仓储或运输条件与记录仪；必要时对该批次抽样复检。"
    return summary, action


def _recalled(a: AlertView, n: Names) -> tuple[str, str]:
    ev = a.evidence
    if "level" in ev:  # the recall itself reached sold units
        level = LEVEL.get(str(ev["level"]), str(ev["level"]))
        summary = (
            f"{level}召回：{n.batch(a.batch)}及其下游共 {ev.get('batches')} 个批次、"
            f"{ev.get('units')} 件单品，其中 {ev.get('sold_units')} 件召回前已售给消费者。"
        )
        reason = n.recall_reasons.get(a.source_index) if a.source_index is not None else None
        if reason:
            summary += f"召回原因：{reason}。"
        action = "请督促售出药房通知购买者停止使用并退回；跟踪持有方的下架与退回数量。"
        return summary, action
    if "shipment" in ev:  # recalled goods arrived somewhere
        summary = (
            f"已召回的{'、'.join(n.batch(b) for b in str(ev['batches']).split(', '))}"
            f"随运单 {ev['shipment']} 到达{n.site(ev.get('site'))}，现存放于该处。"
        )
        action = "确认货物已就地封存或退回生产方，不得再发运或销售。"
        return summary, action
    event = EVENT.get(str(ev.get("event")), str(ev.get("event", "")))
    summary = f"{n.org(a.subject)}试图在已召回的{n.batch(a.batch)}上记录「{event}」，记录已被拒绝。"
    action = "核实该机构是否仍在使用、发运或销售已召回的货物。"
    return summary, action


def _mass_balance(a: AlertView, n: Names) -> tuple[str, str]:
    ev = a.evidence
    who = n.org(a.subject)
    event = EVENT.get(str(ev.get("event")), str(ev.get("event", "")))
    unit = str(ev.get("unit", ""))
    if "taken" in ev:
        summary = (
            f"{who}的「{event}」记录从{n.batch(ev.get('batch'))}"
            f"取用 {quantity(ev['taken'], unit)}，"
            f"但该批次仅剩 {quantity(ev.get('remaining'), unit)}；记录已被拒绝。"
        )
    else:
        summary = (
            f"{who}的「{event}」记录产出 {quantity(ev.get('outputs'), unit)}，超过投入 "
            f"{quantity(ev.get('inputs'), unit)} × 最大得率 {ev.get('max_yield')} = "
            f"{quantity(ev.get('allowed'), unit)}；记录已被拒绝。"
        )
    action = "产出多于投入可能意味着掺入来源不明的药材：请核查该机构的投入、产出与库存记录。"
    return summary, action


def _growing_age(a: AlertView, n: Names) -> tuple[str, str]:
    ev = a.evidence
    origin = n.batch(ev.get("origin"))
    if "claimed" in ev and "completed_years" in ev:
        said = (
            f"标称生长 {ev['claimed']} 年，但{origin}种植于 {ev.get('planted_on')}、"
            f"采收于 {ev.get('harvested_on')}，仅满 {ev['completed_years']} 年"
        )
    elif "claimed" in ev:
        said = f"标称生长 {ev['claimed']} 年，但{origin}没有种植记录可以证明年限"
    else:
        said = f"采收日期 {ev.get('harvested_on')} 早于{origin}的种植日期 {ev.get('planted_on')}"
    summary = f"{n.org(a.subject)}的采收记录{said}；记录已被拒绝。"
    action = "核查该机构的年限标注与种植记录，防止虚标生长年限。"
    return summary, action


def _custody(a: AlertView, n: Names) -> tuple[str, str]:
    ev = a.evidence
    who = n.org(ev.get("signer_organisation", a.subject))
    event = EVENT.get(str(ev.get("event")), str(ev.get("event", "")))
    if "site" in ev:
        summary = (
            f"{who}以{n.site(ev['site'])}的名义记录「{event}」，该场所不属于它；记录已被拒绝。"
        )
    else:
        summary = (
            f"{who}在{n.org(ev.get('custodian'))}持有的{n.batch(ev.get('batch'))}上记录"
            f"「{event}」，记录已被拒绝。"
        )
    action = "核实该机构是否冒用他人的批次或场所，以及其签名密钥是否被盗用。"
    return summary, action


def _device_gap(a: AlertView, _n: Names) -> tuple[str, str]:
    ev = a.evidence
    summary = (
        f"设备 {ev.get('device', a.subject)} 的记录序号 {ev.get('missing_from')}–"
        f"{ev.get('missing_to')} 缺失（已收到第 {ev.get('next_seq')} 条）。"
    )
    action = "联系设备所属机构核实设备是否离线、记录是否丢失或被删改。"
    return summary, action


def _counterfeit(a: AlertView, _n: Names) -> tuple[str, str]:
    ev = a.evidence
    unit = f"单品 GTIN {ev.get('gtin')} 批号 {ev.get('lot', '—')} 序列号 {ev.get('serial')}"
    if "sold_index" in ev or ev.get("event") == "retail_sale":
        summary = (
            f"{unit}被再次登记销售（首次销售记录 #{ev.get('sold_index')}）："
            "两次销售中有一次是复制的码。"
        )
    elif ev.get("signal") == "many_scanners":
        summary = (
            f"{unit}已被 {ev.get('scanners')} 个不同扫码者扫描，超过阈值 {ev.get('limit')}"
            f"（首次扫描 {beijing_time(str(ev.get('first_scanned_at', '')))}，"
            f"本次 {beijing_time(str(ev.get('scanned_at', '')))}，北京时间）。"
        )
    else:
        places = "、".join(str(ev[k]) for k in ("other_place", "place") if k in ev)
        summary = (
            f"{unit}在相距 {ev.get('far_km')} 公里的两地被扫描（阈值 {ev.get('limit')} 公里）"
            + (f"：{places}" if places else "")
            + f"，本次扫描 {beijing_time(str(ev.get('scanned_at', '')))}（北京时间）。"
        )
    action = "该码可能被复制到假冒产品上：请联系售出药房核查实物，必要时抽检并立案调查。"
    return summary, action


def _other(a: AlertView, _n: Names) -> tuple[str, str]:
    listed = "；".join(f"{k}：{v}" for k, v in sorted(a.evidence.items()))
    summary = (
        f"{TITLE.get(a.kind, a.kind)}（{a.kind}）" + (f"，证据 {listed}" if listed else "") + "。"
    )
    return summary, "请查看证据与关联的日志条目，核实情况。"


_WRITERS: dict[str, Callable[[AlertView, Names], tuple[str, str]]] = {
    "quality_failed": _quality_failed,
    "cold_chain": _cold_chain,
    "recalled_batch": _recalled,
    "mass_balance": _mass_balance,
    "growing_age": _growing_age,
    "custody": _custody,
    "device_gap": _device_gap,
    "counterfeit_scan": _counterfeit,
}


def word_alert(alert: AlertView, names: Names) -> AlertWording:
    """The alert in Chinese, from its kind and evidence (the fallback lists the evidence)."""
    write = _WRITERS.get(alert.kind, _other)
    try:
        summary, action = write(alert, names)
    except (KeyError, TypeError, ValueError):  # evidence of an unexpected shape
        summary, action = _other(alert, names)
    return AlertWording(
        title=TITLE.get(alert.kind, alert.kind),
        summary=summary,
        action=action,
        raised_at=beijing_time(alert.raised_at),
    )
