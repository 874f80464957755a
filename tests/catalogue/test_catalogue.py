"""Tests of the herb catalogue: the packaged data, lookups, quality verdicts and bad files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import get_args

import pytest

from schemas.events.common import HerbCode, StepCode
from traceability.catalogue.lookup import Catalogue, load_catalogue
from traceability.errors import InvalidInput, NotFound
from traceability.settings import Settings

SIXTEEN = {
    "renshen": "人参",
    "lurong": "鹿茸",
    "hamayou": "蛤蟆油",
    "xiyangshen": "西洋参",
    "wuweizi": "五味子",
    "pingbeimu": "平贝母",
    "tianma": "天麻",
    "beicangzhu": "北苍术",
    "xixin": "细辛",
    "yinyanghuo": "淫羊藿",
    "lingzhi": "灵芝",
    "sanghuang": "桑黄",
    "fangfeng": "防风",
    "huangqin": "黄芩",
    "huangqi": "黄芪",
    "gancao": "甘草",
}

# A small operator catalogue: one herb, one item with both bounds, one herb-specific yield.
SMALL = """
schema = 1

[items.moisture]
zh = "水分"
en = "moisture"
unit = "%"

[items.lead]
zh = "铅"
en = "lead"
unit = "mg/kg"

[herbs.renshen]
zh = "人参"
pinyin = "rénshēn"
latin = "Panax ginseng C. A. Mey."
part = "干燥根和根茎"
part_en = "dried root and rhizome"
kind = "plant"
storage = "cold"
storage_source = "test: operator SOP 7"

[limits.renshen.moisture]
min = "1.0"
max = "2.00"
source = "test: limit source"

[quantities.default]
max_mass_kg = "1000"
max_area_m2 = "10000"
max_count = "1000"
source = "test: bound source"

[yields.default]
{defaults}

[yields.renshen]
drying = {{ max_yield = "0.40", source = "test: yield source" }}

[storage.cold]
label = "冷处"
temperature_min = "2"
temperature_max = "10"
temperature_source = "test: temperature source"
tolerance_minutes = 30
tolerance_source = "test: tolerance source"
"""


def small_text() -> str:
    """The SMALL catalogue with every processing step in its default yields."""
    lines = [
        f'{step} = {{ max_yield = "1.0", source = "test: mass conservation" }}'
        for step in get_args(StepCode)
    ]
    return SMALL.format(defaults="\n".join(lines))


def packaged_text() -> str:
    """The text of the catalogue that ships in the package."""
    return files("traceability.data").joinpath("herbs.toml").read_text(encoding="utf-8")


@pytest.fixture(name="packaged", scope="module")
def _packaged() -> Catalogue:
    """The packaged catalogue, loaded once (no setting points elsewhere)."""
    return load_catalogue(settings=Settings(catalogue_path=None))


@pytest.fixture(name="small")
def _small(tmp_path: Path) -> Catalogue:
    """The SMALL operator catalogue, loaded from a file."""
    path = tmp_path / "small.toml"
    path.write_text(small_text(), encoding="utf-8")
    return load_catalogue(path)


def write(tmp_path: Path, text: str) -> Path:
    """Write an operator catalogue file and return its path."""
    path = tmp_path / "operator.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_catalogue_holds_the_sixteen_herbs(packaged: Catalogue) -> None:
    """The packaged file holds exactly the sixteen Jilin herbs, each with full identity."""
    assert set(packaged.herbs) == set(SIXTEEN) == set(get_args(HerbCode))
    for code, zh in SIXTEEN.items():
        herb = packaged.herb(code)
        assert herb.code == code
        assert herb.zh == zh
        assert herb.pinyin.strip()
        assert herb.latin.strip()
        assert herb.part.strip()
        assert herb.part_en.strip()
        assert herb.kind in {"plant", "animal", "fungus"}
    kinds = {code: packaged.herb(code).kind for code in SIXTEEN}
    assert {c for c, k in kinds.items() if k == "animal"} == {"lurong", "hamayou"}
    assert {c for c, k in kinds.items() if k == "fungus"} == {"lingzhi", "sanghuang"}


def test_every_packaged_value_cites_a_source(packaged: Catalogue) -> None:
    """Every limit, yield and storage bound in the packaged file names a non-empty source."""
    limits = [limit for by_item in packaged.limits.values() for limit in by_item.values()]
    assert limits, "the packaged catalogue records some limits"
    for limit in limits:
        assert limit.source.strip(), limit
        assert limit.min is not None or limit.max is not None
        assert limit.unit == packaged.item(limit.item).unit
    for herb in packaged.herbs:
        for step in get_args(StepCode):
            assert packaged.max_yield(herb, step).source.strip()
        storage = packaged.storage(herb)
        assert storage.source.strip()
        assert storage.tolerance_source.strip()
        if storage.temperature_min is not None or storage.temperature_max is not None:
            assert storage.temperature_source
            assert storage.temperature_source.strip()
        if storage.humidity_min is not None or storage.humidity_max is not None:
            assert storage.humidity_source
            assert storage.humidity_source.strip()


def test_default_yields_are_mass_conservation(packaged: Catalogue) -> None:
    """Without a cited lower bound a step's maximum yield is 1.0, sourced to mass conservation."""
    for step in get_args(StepCode):
        found = packaged.max_yield("renshen", step)
        assert found.herb == "renshen"
        assert found.step == step
        assert found.default
        assert found.max_yield == Decimal("1.0")
        assert found.source == "mass conservation: outputs cannot exceed inputs"


def test_packaged_ginseng_is_stored_cool_and_dry(packaged: Catalogue) -> None:
    """人参 keeps to 阴凉 (not above 20 °C per the ChP 凡例) with its sources attached."""
    storage = packaged.storage("renshen")
    assert storage.profile == "cool_dry"
    assert storage.temperature_max == Decimal("20")
    assert storage.temperature_min is None
    assert storage.temperature_source
    assert "凡例" in storage.temperature_source
    assert "阴凉" in storage.source
    assert storage.out_of_range(Decimal("20")) == []
    assert storage.out_of_range(Decimal("20.1")) == [
        "temperature 20.1 °C is above the maximum 20 °C"
    ]


def test_lookups_name_unknown_codes(packaged: Catalogue) -> None:
    """Lookups return the herb, limit, yield and storage asked for and name an unknown code."""
    assert packaged.item("moisture").zh == "水分"
    limit = packaged.limit("renshen", "moisture")
    assert limit is not None
    assert limit.max is not None
    assert limit.herb == "renshen"
    assert packaged.limit("renshen", "aflatoxin_b1") is None
    with pytest.raises(NotFound, match="'ginseng'"):
        packaged.herb("ginseng")
    with pytest.raises(NotFound, match="'water'"):
        packaged.limit("renshen", "water")
    with pytest.raises(NotFound, match="'roasting'"):
        packaged.max_yield("renshen", "roasting")
    with pytest.raises(NotFound, match="'ginseng'"):
        packaged.storage("ginseng")


def test_a_herbs_own_yield_replaces_the_default(small: Catalogue) -> None:
    """A herb's own cited yield is returned for its step; other steps fall back to the default."""
    own = small.max_yield("renshen", "drying")
    assert (own.max_yield, own.source, own.default) == (
        Decimal("0.40"),
        "test: yield source",
        False,
    )
    fallback = small.max_yield("renshen", "steaming")
    assert fallback.default
    assert fallback.source == "test: mass conservation"


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("0.99", "fail"),
        ("0.999999", "fail"),
        ("1.0", "pass"),
        ("1", "pass"),
        ("1.5", "pass"),
        ("2.00", "pass"),
        ("2.000001", "fail"),
        ("2.01", "fail"),
    ],
)
def test_check_item_at_and_around_the_bounds(small: Catalogue, value: str, status: str) -> None:
    """A value passes when min <= value <= max exactly, and fails one step outside either bound."""
    verdict = small.check_item("renshen", "moisture", Decimal(value), "%")
    assert verdict.status == status
    assert verdict.limit == small.limit("renshen", "moisture")
    assert verdict.source == "test: limit source"
    assert verdict.value == Decimal(value)
    assert verdict.unit == "%"


def test_check_item_against_packaged_limits(packaged: Catalogue) -> None:
    """The packaged limits decide at their own printed bounds: a max passes, a hair over fails."""
    for herb, by_item in packaged.limits.items():
        for item, limit in by_item.items():
            unit = limit.unit
            hair = Decimal("0.0001")
            if limit.max is not None:
                assert packaged.check_item(herb, item, limit.max, unit).status == "pass"
                assert packaged.check_item(herb, item, limit.max + hair, unit).status == "fail"
            if limit.min is not None:
                assert packaged.check_item(herb, item, limit.min, unit).status == "pass"
                assert packaged.check_item(herb, item, limit.min - hair, unit).status == "fail"


def test_check_item_converts_mass_fractions_exactly(small: Catalogue) -> None:
    """Values in mg/g, mg/kg or μg/kg are converted exactly into the limit's %."""
    assert small.check_item("renshen", "moisture", Decimal("20000"), "mg/kg").status == "pass"
    over = small.check_item("renshen", "moisture", Decimal("20000.1"), "mg/kg")
    assert over.status == "fail"
    assert over.value == Decimal("2.00001")
    assert "above the maximum 2.00 %" in over.detail
    assert small.check_item("renshen", "moisture", Decimal("10"), "mg/g").status == "pass"
    verdict = small.check_item("renshen", "moisture", Decimal("9999999"), "ug/kg")
    assert verdict.status == "fail"
    assert verdict.reported_unit == "μg/kg"


def test_check_item_without_a_limit_says_so(small: Catalogue) -> None:
    """An item the herb has no cited limit for gives no_limit, with no source claimed."""
    verdict = small.check_item("renshen", "lead", Decimal("99"), "mg/kg")
    assert verdict.status == "no_limit"
    assert verdict.limit is None
    assert verdict.source is None


def test_check_item_refuses_bad_input(small: Catalogue) -> None:
    """Unusable units and values raise InvalidInput naming them; unknown codes raise NotFound."""
    with pytest.raises(InvalidInput, match="a value in mL/g cannot be compared with a limit in %"):
        small.check_item("renshen", "moisture", Decimal("1"), "mL/g")
    with pytest.raises(InvalidInput, match="'ppm'"):
        small.check_item("renshen", "moisture", Decimal("1"), "ppm")
    for bad in (Decimal("-0.1"), Decimal("NaN"), Decimal("Infinity"), 1.5, "1.5"):
        with pytest.raises(InvalidInput, match=r"renshen\.moisture"):
            small.check_item("renshen", "moisture", bad, "%")  # type: ignore[arg-type]
    with pytest.raises(NotFound, match="'gold'"):
        small.check_item("renshen", "gold", Decimal("1"), "%")
    with pytest.raises(NotFound, match="'lurong'"):
        small.check_item("lurong", "moisture", Decimal("1"), "%")


def test_setting_points_at_the_operators_file(tmp_path: Path) -> None:
    """The catalogue_path setting replaces the packaged catalogue with the operator's file."""
    path = write(tmp_path, small_text())
    catalogue = load_catalogue(settings=Settings(catalogue_path=path))
    assert catalogue.origin == str(path)
    assert set(catalogue.herbs) == {"renshen"}
    assert catalogue.storage("renshen").temperature_max == Decimal("10")


def test_environment_variable_points_at_the_operators_file(tmp_path: Path) -> None:
    """HERBTRACE_CATALOGUE_PATH, read by a fresh process, selects the operator's file."""
    edited = packaged_text().replace('max = "12.0"', 'max = "11.5"', 1)
    assert edited != packaged_text()
    path = write(tmp_path, edited)
    program = (
        "import json; from traceability.catalogue.lookup import load_catalogue; "
        "c = load_catalogue(); l = c.limit('renshen', 'moisture'); "
        "print(json.dumps([c.origin, str(l.max)]))"
    )
    env = {**os.environ, "HERBTRACE_CATALOGUE_PATH": str(path)}
    done = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == [str(path), "11.5"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('latin = "Panax ginseng C. A. Mey."\n', "", r"herbs\.renshen\.latin: Field required"),
        (
            'max = "2.00"',
            'max = "2,00"',
            r"limits\.renshen\.moisture\.max: '2,00' is not a decimal",
        ),
        ('max = "2.00"', "max = 2.00", r"limits\.renshen\.moisture\.max: write a decimal as a"),
        ("[limits.renshen.", "[limits.ginseng.", r"limits\.ginseng: unknown herb 'ginseng'"),
        ('min = "1.0"', 'min = "2.5"', r"limits\.renshen\.moisture\.min: 2\.5 is greater than max"),
        ("[limits.renshen.moisture]", "[limits.renshen.water]", r"unknown quality item 'water'"),
        ('kind = "plant"', 'kind = "mineral"', r"herbs\.renshen\.kind: Input should be"),
        ('storage = "cold"', 'storage = "freezer"', r"unknown storage profile 'freezer'"),
        (
            'drying = { max_yield = "0.40"',
            'roasting = { max_yield = "0.40"',
            r"yields\.renshen\.roasting: unknown processing step",
        ),
        ('source = "test: limit source"', 'source = "  "', r"limits\.renshen\.moisture\.source"),
        ('temperature_source = "test: temperature source"\n', "", r"a temperature bound needs"),
        ("tolerance_minutes = 30", "tolerance_minutes = -1", r"storage\.cold\.tolerance_minutes"),
        ('zh = "水分"', 'zh = "水分"\ncolour = "red"', r"items\.moisture\.colour: Extra inputs"),
        ("schema = 1", "schema = 2", r"schema: expected 1, got 2"),
        ("[items.lead]", "[items.lead", r"not valid TOML"),
    ],
)
def test_malformed_files_are_refused_by_name(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    """A malformed file raises InvalidInput naming the file, the table and the field at fault."""
    text = small_text()
    assert old in text
    path = write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(InvalidInput, match=expected) as raised:
        load_catalogue(path)
    assert str(path) in str(raised.value)


def test_a_missing_default_step_is_refused(tmp_path: Path) -> None:
    """Every processing step needs a default yield; a missing one is named."""
    text = small_text().replace('grading = { max_yield = "1.0"', 'xgrading = { max_yield = "1.0"')
    with pytest.raises(InvalidInput, match=r"yields\.default: missing steps grading"):
        load_catalogue(write(tmp_path, text))


def test_a_refused_file_loses_nothing(tmp_path: Path, small: Catalogue) -> None:
    """A refused load leaves the file untouched and the catalogue already loaded working."""
    bad = small_text().replace('min = "1.0"', 'min = "9"', 1)
    path = write(tmp_path, bad)
    before = path.read_bytes()
    with pytest.raises(InvalidInput, match="greater than max"):
        load_catalogue(path)
    assert path.read_bytes() == before
    assert small.check_item("renshen", "moisture", Decimal("1.5"), "%").status == "pass"
    with pytest.raises(InvalidInput, match="cannot read the catalogue"):
        load_catalogue(tmp_path / "absent.toml")
