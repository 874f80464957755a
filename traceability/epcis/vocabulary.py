"""herbtrace's EPCIS vocabulary: its namespace, business steps, units and measurement types.

Everything herbtrace says that CBV 2.0 has no word for lives under one base,
`https://herbtrace.org/voc/` (JSON-LD prefix `herbtrace:`):

* business steps CBV lacks: `https://herbtrace.org/voc/bizstep/{name}` (炮制 is `paozhi`);
* processing steps: `https://herbtrace.org/voc/step/{step code}` (e.g. `…/step/steaming`);
* quality items measured: `https://herbtrace.org/voc/item/{item code}`;
* organisation master data: vocabulary type `https://herbtrace.org/voc/vtype/Organisation`;
* extension fields: `herbtrace:{body field}` carries a herbtrace body field that has no
  EPCIS field, in herbtrace's own JSON form (decimals stay strings).

The mapping table is in docs/epcis.md.
"""

from __future__ import annotations

from typing import Final

NAMESPACE: Final = "https://herbtrace.org/voc/"
PREFIX: Final = "herbtrace"
EPCIS_CONTEXT: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CONTEXT: Final[list[object]] = [EPCIS_CONTEXT, {PREFIX: NAMESPACE}]
"""The `@context` of every exported document: GS1's, plus the herbtrace prefix."""

TIME_ZONE_OFFSET: Final = "+08:00"
"""China Standard Time (no daylight saving): the `eventTimeZoneOffset` of every event."""


def ext(name: str) -> str:
    """Return the compact extension field name of a herbtrace field: `herbtrace:{name}`."""
    return f"{PREFIX}:{name}"


def ext_name(key: str) -> str | None:
    """Return the herbtrace field an extension key names, or None if it is not one."""
    for prefix in (f"{PREFIX}:", NAMESPACE):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return None


def bizstep(name: str) -> str:
    """Return the URI of a herbtrace business step."""
    return f"{NAMESPACE}bizstep/{name}"


def step_uri(code: str) -> str:
    """Return the URI of a processing step code (`steaming` → `…/voc/step/steaming`)."""
    return f"{NAMESPACE}step/{code}"


def item_uri(code: str) -> str:
    """Return the URI of a quality item code (`lead` → `…/voc/item/lead`)."""
    return f"{NAMESPACE}item/{code}"


def suffix(uri: str, base: str) -> str | None:
    """Return what follows `base` in `uri`, or None when `uri` is not under `base`."""
    return uri[len(base) :] if uri.startswith(base) and len(uri) > len(base) else None


STEP_BASE: Final = f"{NAMESPACE}step/"
ITEM_BASE: Final = f"{NAMESPACE}item/"
ORGANISATION_VTYPE: Final = f"{NAMESPACE}vtype/Organisation"
LOCATION_VTYPE: Final = "urn:epcglobal:epcis:vtype:BusinessLocation"

PLANTING: Final = bizstep("planting")
HUSBANDRY: Final = bizstep("husbandry")
CULTIVATION_INPUT: Final = bizstep("cultivation_input")
FRESH_PROCESSING: Final = bizstep("fresh_processing")
"""产地趁鲜加工: processing fresh material at the origin."""
PAOZHI: Final = bizstep("paozhi")
"""炮制: processing crude herbs into prepared slices (饮片) in a plant."""
SPLITTING: Final = bizstep("splitting")
MERGING: Final = bizstep("merging")
RECALLING: Final = bizstep("recalling")
ALERTING: Final = bizstep("alerting")

CBV_BIZSTEP_PREFIXES: Final = ("https://ref.gs1.org/cbv/BizStep-", "urn:epcglobal:cbv:bizstep:")
CBV_DISPOSITION_PREFIXES: Final = ("https://ref.gs1.org/cbv/Disp-", "urn:epcglobal:cbv:disp:")


def bare_cbv(value: str, prefixes: tuple[str, ...]) -> str:
    """Return a CBV term in its bare JSON form (`commissioning`), whatever form it came in."""
    for prefix in prefixes:
        if value.startswith(prefix):
            return value[len(prefix) :]
    return value


UOM: Final = {
    "g": "GRM",
    "kg": "KGM",
    "t": "TNE",
    "m2": "MTK",
    "ha": "HAR",
    "piece": "H87",
}
"""herbtrace quantity units → UN/CEFACT Recommendation 20 codes. 亩 (`mu`) and `head` have
no code: such quantities leave `quantity`/`uom` out and travel in `herbtrace:quantities`."""
UNIT_OF: Final = {code: unit for unit, code in UOM.items()}

MEASUREMENT_UOM: Final = {"%": "P1", "mg/g": "H64", "mg/kg": "NA", "μg/kg": "J33", "mL/g": "A39"}
"""Quality test units → UN/CEFACT codes (P1 percent, H64 mg/g, NA mg/kg, J33 µg/kg, and
A39 m³/kg for mL/g, which has no code of its own)."""
MEASUREMENT_SCALE: Final = {"mL/g": -3}
"""Powers of ten from the herbtrace unit to the coded one: 1 mL/g = 10⁻³ m³/kg (exact)."""
MEASUREMENT_UNIT_OF: Final = {code: unit for unit, code in MEASUREMENT_UOM.items()}
MEASUREMENT_TYPE: Final = {
    "%": "Dimensionless",
    "mg/g": "MassConcentration",
    "mg/kg": "MassConcentration",
    "μg/kg": "MassConcentration",
    "mL/g": "SpecificVolume",
}
"""EPCIS measurement types: contents as mass per mass are MassConcentration; a percentage
(moisture, ash, assay) is Dimensionless; volatile oil in mL/g is SpecificVolume."""

CELSIUS: Final = "CEL"
PERCENT: Final = "P1"
