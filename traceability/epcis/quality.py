"""EPCIS mappings of evidence: laboratory tests, sensor readings and the rules' alerts."""

from __future__ import annotations

from decimal import Decimal

from traceability.epcis import vocabulary as voc
from traceability.epcis.identifiers import Identifiers
from traceability.epcis.jsonout import from_decimal
from traceability.epcis.mapping import (
    Json,
    Mapping,
    batches_of,
    location,
    need,
    number,
    site_fields,
)
from traceability.errors import InvalidInput

BELOW_DETECTION = voc.ext("below_detection")
VERDICT = {"pass": "conformant", "fail": "non_conformant"}
RESULT_OF = {disposition: result for result, disposition in VERDICT.items()}


def _report(item: Json) -> Json:
    report: Json = {
        "type": voc.MEASUREMENT_TYPE[item["unit"]],
        "chemicalSubstance": voc.item_uri(item["item"]),
        "value": number(item["value"]).scaleb(voc.MEASUREMENT_SCALE.get(item["unit"], 0)),
        "uom": voc.MEASUREMENT_UOM[item["unit"]],
    }
    if "below_detection" in item:
        report[BELOW_DETECTION] = item["below_detection"]
    return report


def _test_out(body: Json, ids: Identifiers) -> Json:
    return {
        "disposition": VERDICT[body["result"]],
        "quantityList": [{"epcClass": ids.batch(body["batch"])}],
        "sensorElementList": [{"sensorReport": [_report(item) for item in body["items"]]}],
    }


def _measurement(report: Json) -> Json:
    substance = str(report.get("chemicalSubstance"))
    code = voc.suffix(substance, voc.ITEM_BASE)
    if code is None:
        raise InvalidInput(f"measured substance {substance!r} is not a herbtrace quality item")
    uom = report.get("uom")
    if uom not in voc.MEASUREMENT_UNIT_OF:
        raise InvalidInput(f"{code}: unit {uom!r} is none of {sorted(voc.MEASUREMENT_UNIT_OF)}")
    unit = voc.MEASUREMENT_UNIT_OF[str(uom)]
    value = Decimal(from_decimal(report.get("value"), f"{code} value"))
    item: Json = {
        "item": code,
        "value": format(value.scaleb(-voc.MEASUREMENT_SCALE.get(unit, 0)), "f"),
        "unit": unit,
    }
    if BELOW_DETECTION in report:
        item["below_detection"] = report[BELOW_DETECTION]
    return item


def _test_in(event: Json, ids: Identifiers) -> Json:
    disposition = voc.bare_cbv(str(event.get("disposition")), voc.CBV_DISPOSITION_PREFIXES)
    if disposition not in RESULT_OF:
        raise InvalidInput(
            f"a test's disposition is conformant or non_conformant, not {disposition}"
        )
    items = [
        _measurement(report)
        for element in need(event, "sensorElementList")
        for report in element.get("sensorReport", [])
    ]
    return {"batch": batches_of(event, ids)[0], "items": items, "result": RESULT_OF[disposition]}


QUALITY_TEST = Mapping(
    kind="quality_test",
    event_type="ObjectEvent",
    action="OBSERVE",
    biz_step="inspecting",
    to_epcis=_test_out,
    from_epcis=_test_in,
    consumed=frozenset({"batch", "items", "result"}),
    date_field="tested_on",
)
"""Each measured item is a sensorReport: its chemicalSubstance is the item's herbtrace URI,
type MassConcentration (mg/g, mg/kg, µg/kg) or Dimensionless (%)."""


def _reading(reading: Json, sensor: str) -> Json:
    reports = []
    if reading.get("temperature_c") is not None:
        reports.append(
            {"type": "Temperature", "value": number(reading["temperature_c"]), "uom": voc.CELSIUS}
        )
    if reading.get("humidity_pct") is not None:
        reports.append(
            {
                "type": "RelativeHumidity",
                "value": number(reading["humidity_pct"]),
                "uom": voc.PERCENT,
            }
        )
    return {"sensorMetadata": {"time": reading["at"], "deviceID": sensor}, "sensorReport": reports}


def _sensor_out(body: Json, ids: Identifiers) -> Json:
    sensor = ids.of("sensor", body["sensor"])
    return {
        "quantityList": [{"epcClass": ids.batch(b)} for b in body["batches"]],
        **site_fields(ids, body.get("site")),
        "sensorElementList": [_reading(r, sensor) for r in body["readings"]],
    }


_READING_FIELD = {
    ("Temperature", voc.CELSIUS): "temperature_c",
    ("RelativeHumidity", voc.PERCENT): "humidity_pct",
}


def _sensor_in(event: Json, ids: Identifiers) -> Json:
    readings, sensors = [], set()
    for element in need(event, "sensorElementList"):
        metadata = element.get("sensorMetadata") or {}
        sensors.add(ids.read("sensor", str(metadata.get("deviceID"))))
        reading: Json = {"at": metadata.get("time")}
        for report in element.get("sensorReport", []):
            key = (report.get("type"), report.get("uom"))
            if key not in _READING_FIELD:
                raise InvalidInput(
                    f"sensor report {key} is neither Temperature/CEL nor RelativeHumidity/P1"
                )
            reading[_READING_FIELD[key]] = from_decimal(report.get("value"), str(key[0]))
        readings.append(reading)
    if len(sensors) != 1:
        raise InvalidInput(f"sensor readings come from one sensor, these from {sorted(sensors)}")
    body: Json = {"sensor": sensors.pop(), "batches": batches_of(event, ids), "readings": readings}
    if "bizLocation" in event:
        body["site"] = location(event, ids)
    return body


SENSOR_READING = Mapping(
    kind="sensor_reading",
    event_type="ObjectEvent",
    action="OBSERVE",
    biz_step="sensor_reporting",
    to_epcis=_sensor_out,
    from_epcis=_sensor_in,
    consumed=frozenset({"sensor", "batches", "site", "readings"}),
)


def _alert_out(body: Json, ids: Identifiers) -> Json:
    if body.get("batch") is None:
        return {"epcList": []}
    return {"quantityList": [{"epcClass": ids.batch(body["batch"])}]}


def _alert_in(event: Json, ids: Identifiers) -> Json:
    return {"batch": batches_of(event, ids)[0]} if event.get("quantityList") else {}


ALERT = Mapping(
    kind="alert",
    event_type="ObjectEvent",
    action="OBSERVE",
    biz_step=voc.ALERTING,
    to_epcis=_alert_out,
    from_epcis=_alert_in,
    consumed=frozenset({"batch"}),
)
