"""The Chinese words the regulator's views use for the domain's codes, one term per thing.

Event types follow the consumer page's words (`api/static/consumer/messages.json`), so a
split is 分批 and a merge 合批 everywhere. Times are shown in Beijing time (UTC+8, no
seconds' fractions); units of quantity in their Chinese names.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

EVENT = {
    "organisation": "机构登记",
    "site": "场所登记",
    "planting": "种植",
    "husbandry": "养殖",
    "cultivation_input": "农事投入",
    "harvest": "采收",
    "fresh_processing": "产地初加工",
    "processing": "炮制加工",
    "split": "分批",
    "merge": "合批",
    "pack": "包装",
    "ship": "发运",
    "receive": "接收",
    "quality_test": "质量检测",
    "sensor_reading": "温湿度记录",
    "retail_sale": "零售售出",
    "recall": "召回",
    "alert": "告警",
    "units": "单品",
}
"""Event types (and the lineage picture's `units` edge) in Chinese."""

BATCH_KIND = {
    "planting": "种植",
    "herd": "养殖群",
    "harvest": "采收",
    "processed": "加工",
    "split": "分批",
    "merged": "合批",
    "packed": "包装",
}
"""Batch kinds: the step that made the batch."""

BATCH_STATUS = {"active": "在库", "consumed": "已用完", "recalled": "已召回"}
UNIT_STATUS = {"packed": "待售", "sold": "已售", "recalled": "已召回"}
QUALITY = {"passed": "合格", "failed": "不合格", "untested": "未检"}
LEVEL = {"I": "一级", "II": "二级", "III": "三级"}
"""Recall levels as the 药品召回管理办法 names them."""

UNIT = {
    "g": "克",
    "kg": "千克",
    "t": "吨",
    "piece": "件",
    "head": "头",
    "m2": "平方米",
    "mu": "亩",
    "ha": "公顷",
}
"""Units of quantity; quality units (%, mg/kg …) are written as they are."""

BEIJING = timezone(timedelta(hours=8), "北京时间")


def quantity(amount: object, unit: str) -> str:
    """`amount` with the Chinese name of `unit`: "500 千克"."""
    return f"{amount} {UNIT.get(unit, unit)}"


def beijing_time(text: str) -> str:
    """An RFC 3339 time as Beijing time to the minute, "2026-10-12 11:00"; `text` itself if it
    is not a time (evidence is shown, never dropped)."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
