"""Finding GB/T 4754 entries by name, code, common name or pinyin: ``GET /api/v1/industries?q=``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from marketplace.taxonomy.service import load_taxonomy
from tests.factories import assert_error

SEED_DIR = Path(__file__).resolve().parent.parent / "seed_data"


def search(client, q: str, **args) -> dict:
    response = client.get("/api/v1/industries", query_string={"q": q, **args})
    assert response.status_code == 200, response.json
    return response.json


def codes(page: dict) -> list[str]:
    return [item["code"] for item in page["items"]]


def test_plastics_offers_the_plastics_products_group_first(client):
    """塑料 leads with 塑料制品业 and offers its classes, each with its code and why it matched."""
    page = search(client, "塑料", per_page=100)
    assert codes(page)[0] == "C292"
    assert {"C2921", "C2926", "C2929", "C29"} <= set(codes(page))
    first = page["items"][0]
    assert first["name"] == "塑料制品业" and first["level_name"] == "中类"
    assert first["match"] == {"how": "prefix", "by": "name", "text": "塑料制品业"}
    assert all("塑料" in item["name"] for item in page["items"])


def test_injection_moulding_means_plastics_products(client):
    """注塑 is in no GB/T name: the common-name table offers the plastic-parts class, then its group."""
    page = search(client, "注塑")
    assert codes(page) == ["C2929", "C292"]
    assert page["items"][0]["match"] == {"how": "exact", "by": "alias", "text": "注塑"}
    assert codes(search(client, "注塑厂")) == ["C2929", "C292"]


def test_the_deeper_entry_comes_first_when_the_name_is_the_same(client):
    """汽车零部件 is both C367 and C3670: the 小类, which cities map, comes first."""
    assert codes(search(client, "汽车零部件")) == ["C3670", "C367"]
    assert codes(search(client, "制糖业")) == ["C1340", "C134"]


def test_exact_before_prefix_before_contains(client):
    """家具制造业 starts with 家具; 木质家具制造 only contains it."""
    page = search(client, "家具", per_page=100)
    hows = [item["match"]["how"] for item in page["items"]]
    assert hows == sorted(hows, key=["exact", "prefix", "contains"].index)
    assert codes(page)[0] == "C21" and "C2110" in codes(page)
    assert search(client, "金属家具制造")["items"][0]["match"]["how"] == "exact"


@pytest.mark.parametrize(
    ("query", "first"),
    [("C3670", "C3670"), ("c367", "C367"), ("3670", "C3670"), ("36", "C36")],
)
def test_codes_are_found_with_or_without_the_letter(client, query, first):
    """A code matches exactly first, then the codes it begins."""
    page = search(client, query)
    assert codes(page)[0] == first
    assert page["items"][0]["match"]["by"] == "code"
    assert all(code.startswith(first) for code in codes(page))


@pytest.mark.parametrize(
    ("query", "expected"),
    [("slzp", "C292"), ("SLZPY", "C292"), ("suliaozhipin", "C292"), ("qclbj", "C3670"), ("zs", "C2929")],
)
def test_pinyin_and_its_initials(client, query, expected):
    """Initials (slzp) and full pinyin (suliao) find names and common names (zs → 注塑)."""
    page = search(client, query)
    assert codes(page)[0] == expected
    assert page["items"][0]["match"]["by"] == "pinyin"


def test_full_width_letters_and_spaces_are_folded(client):
    """ＰＣＢ typed with a Chinese input method finds the same as PCB; spaces are ignored."""
    assert codes(search(client, "ＰＣＢ")) == codes(search(client, "pcb")) == ["C3982"]
    assert codes(search(client, " 汽车 零部件 ")) == ["C3670", "C367"]


def test_no_match_is_an_empty_page(client):
    page = search(client, "区块链")
    assert page["total"] == 0 and page["items"] == []


def test_filters_apply_to_the_search(client):
    assert set(codes(search(client, "塑料", under="C21"))) == {"C214", "C2140"}
    classes = search(client, "塑料", level="class", per_page=100)["items"]
    assert classes and all(item["level"] == "class" for item in classes)


def test_search_is_paged(client):
    """A search gives 20 by default; pages cut the same ranking; total counts every match."""
    everything = search(client, "制造", per_page=100)
    assert everything["total"] > 40
    first = search(client, "制造")
    assert first["per_page"] == 20 and len(first["items"]) == 20 and first["total"] == everything["total"]
    second = search(client, "制造", page=2, per_page=7)
    assert codes(second) == codes(everything)[7:14]
    beyond = search(client, "制造", page=500)
    assert beyond["items"] == [] and beyond["total"] == everything["total"]


def test_the_list_without_q_is_unchanged(client):
    """Without ``q`` the whole list comes in the standard's order, unless a page size is asked for."""
    page = client.get("/api/v1/industries").json
    assert page["total"] == len(page["items"]) == 820 and page["per_page"] is None
    assert page["items"][0]["match"] is None
    paged = client.get("/api/v1/industries?per_page=10&page=2").json
    assert codes(paged) == codes(page)[10:20]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"q": "塑" * 51}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "塑料\x00"}, "q"),
        ({"q": "塑料", "per_page": 0}, "per_page"),
        ({"q": "塑料", "per_page": 101}, "per_page"),
        ({"q": "塑料", "per_page": "x"}, "per_page"),
        ({"q": "塑料", "page": 0}, "page"),
        ({"q": "塑料", "level": "leaf"}, "level"),
        ({"q": "塑料", "under": "C99"}, "under"),
    ],
)
def test_bad_arguments_name_the_field(client, args, field):
    body = assert_error(client.get("/api/v1/industries", query_string=args), 422, field)
    assert all("\u4e00" <= ch <= "\u9fff" for ch in body["message"][:2])


def test_openapi_documents_the_search_in_chinese(client):
    operation = client.get("/api/openapi.json").json["paths"]["/api/v1/industries"]["get"]
    assert operation["summary"].startswith("查找行业")
    assert {"q", "page", "per_page"} <= {p["name"] for p in operation["parameters"]}
    assert "422" in operation["responses"]


def test_common_names_must_name_known_codes(tmp_path):
    """The common-name table is data; a code the classification lacks stops the load."""
    seed = tmp_path / "seed_data"
    shutil.copytree(SEED_DIR / "taxonomy", seed / "taxonomy")
    path = seed / "taxonomy" / "industry_aliases_2017.json"
    table = json.loads(path.read_text(encoding="utf-8"))
    table["aliases"].append({"term": "注塑机", "codes": ["C3599X"]})
    path.write_text(json.dumps(table, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ValueError, match="C3599X"):
        load_taxonomy(str(seed))


def test_the_common_name_table_is_read_from_seed_data():
    """Every shipped common name leads to an entry whose name does not contain it, so it adds something."""
    tax = load_taxonomy(str(SEED_DIR))
    assert tax.industry_aliases
    for alias in tax.industry_aliases:
        names = [tax.industries[code].name for code in alias["codes"]]
        assert any(alias["term"] not in name for name in names), alias["term"]
