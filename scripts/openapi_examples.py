"""Capture one request and one response per API operation from a seeded demo store.

Writes ``marketplace/apidocs/examples.json``, which the OpenAPI document shows as its examples.
Run it from the repository root after changing the demo catalog or a schema::

    .venv/bin/python scripts/openapi_examples.py

Every request is sent in-process to an app on a fresh SQLite store with the demo catalog (``flask
seed demo``) and a trained matcher, as a demo account of the role that may call it; the answer is
recorded as it came, with lists cut to their first few entries. ``tests/test_openapi.py`` checks
every example against the document's own schemas.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OUTPUT = ROOT / "marketplace" / "apidocs" / "examples.json"
LIST_ENTRIES = 2
ACCOUNTS = {
    "provider": "prov-001@demo.example.cn",
    "enterprise": "ent-003@demo.example.cn",
    "city_office": "fuzhou-office@demo.example.cn",
    "admin": "admin@demo.example.cn",
}


def shorten(value, depth: int = 0):
    """Cut every list to its first entries and long texts to a readable length."""
    if isinstance(value, list):
        return [shorten(item, depth + 1) for item in value[:LIST_ENTRIES]]
    if isinstance(value, dict):
        return {key: shorten(item, depth + 1) for key, item in value.items()}
    return value


class Recorder:
    """Send requests to the app and keep one example per operation."""

    def __init__(self, app, tokens: dict[str, str]):
        self.client = app.test_client()
        self.tokens = tokens
        self.examples: dict[str, dict] = {}

    def __call__(self, role, method, template, path=None, query=None, body=None, files=None, keep=True):
        path = path or {}
        url = template.format(**path)
        token = self.tokens.get(role, role if role.startswith("ey") else None)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        sent = {
            key: str(value).lower() if isinstance(value, bool) else value
            for key, value in (query or {}).items()
        }
        kwargs = {"query_string": sent, "headers": headers}
        if files is not None:
            kwargs["data"] = {name: (io.BytesIO(text.encode()), "名单.csv") for name, text in files.items()}
            kwargs["content_type"] = "multipart/form-data"
        elif body is not None:
            kwargs["json"] = body
        response = self.client.open(url, method=method, **kwargs)
        if response.status_code >= 400:
            raise SystemExit(
                f"{method} {url} as {role}: {response.status_code} {response.get_data(as_text=True)}"
            )
        if keep:
            example: dict = {"status": response.status_code}
            if path:
                example["path"] = path
            if query:
                example["query"] = query
            if body is not None:
                example["body"] = body
            if files is not None:
                example["body"] = files
            if response.is_json and response.data:
                example["response"] = shorten(response.get_json())
            elif response.mimetype.startswith("text/"):
                example["response"] = "\n".join(response.get_data(as_text=True).splitlines()[:3]) + "\n"
            self.examples[f"{method} {template}"] = example
        return response.get_json() if response.is_json and response.data else None


def seeded_app(folder: Path):
    """An app on a migrated SQLite store in ``folder`` with the demo catalog, an index and a matcher."""
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.recommendations import models_store

    app = create_app(
        {
            "SECRET_KEY": "openapi-examples-secret-key-long-enough-for-hs256",
            "DATABASE_URL": f"sqlite:///{folder / 'store.sqlite3'}",
            "INSTANCE_PATH": str(folder),
            "INDEX_DIR": str(folder / "index"),
            "FAST_PASSWORD_HASHING": True,
            "RATELIMIT_ENABLED": False,
            "EMBEDDINGS_BACKEND": "none",
            "INDEX_DRAIN_INTERVAL": 0,
        }
    )
    with app.app_context():
        upgrade()
    result = app.test_cli_runner().invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        models_store.save(models_store.fit_matcher(), {}, activate=True)
        db.engine.dispose()
    return app


def tokens_of(app) -> dict[str, str]:
    """A bearer token for each demo role."""
    from sqlalchemy import select

    from marketplace.auth.security import issue_token
    from marketplace.extensions import db
    from marketplace.models import User

    with app.app_context():
        return {
            role: issue_token(db.session.scalar(select(User).filter_by(email=email)))["access_token"]
            for role, email in ACCOUNTS.items()
        }


def capture(call: Recorder) -> None:
    """Walk through every operation as an integrator would, on the demo catalog, in an order that works."""
    from marketplace.common.credit_code import check_character

    today = date.today()
    fuzhou = "福州市"

    # Reference data and health, public
    call("anonymous", "GET", "/api/v1/industries", query={"q": "注塑", "per_page": 2})
    call("anonymous", "GET", "/api/v1/industries/{code}", path={"code": "C2929"})
    call("anonymous", "GET", "/api/v1/scenarios")
    call("anonymous", "GET", "/api/v1/indicators/digital-level")
    call("anonymous", "GET", "/healthz")
    call("anonymous", "GET", "/readyz")

    # Accounts
    password = "闽江织造-2025-数字化"
    call(
        "anonymous",
        "POST",
        "/api/v1/auth/register",
        body={
            "email": "zhang.wei@minjiang-knit.example.cn",
            "password": password,
            "role": "enterprise",
            "name": "福州闽江针织有限公司",
        },
    )
    newcomer = call(
        "anonymous",
        "POST",
        "/api/v1/auth/token",
        body={"email": "zhang.wei@minjiang-knit.example.cn", "password": password},
    )["access_token"]
    call("provider", "GET", "/api/v1/auth/me")
    call("admin", "GET", "/api/v1/accounts", query={"role": "city_office", "per_page": 2})
    staff = call(
        "admin",
        "POST",
        "/api/v1/accounts",
        body={
            "email": "gongxin@ningde.example.gov.cn",
            "password": "宁德工信-2025-试点",
            "role": "city_office",
            "name": "宁德市工业和信息化局",
            "city": "宁德市",
        },
    )
    call("admin", "POST", "/api/v1/accounts/{account_id}/disable", path={"account_id": staff["id"]})
    call("admin", "POST", "/api/v1/accounts/{account_id}/enable", path={"account_id": staff["id"]})
    call("enterprise", "GET", "/api/v1/auth/me/export")

    # Providers
    call("anonymous", "GET", "/api/v1/providers", query={"province": "福建省", "per_page": 2})
    call("anonymous", "GET", "/api/v1/providers/{provider_id}", path={"provider_id": 1})
    call(
        "provider",
        "PATCH",
        "/api/v1/providers/{provider_id}",
        path={"provider_id": 1},
        body={"contact_phone": "0574-88123456"},
    )
    call(
        "anonymous",
        "POST",
        "/api/v1/auth/register",
        body={
            "email": "bd@rongcheng-iot.example.cn",
            "password": "榕城物联-2025-方案",
            "role": "provider",
            "name": "福州榕城物联科技有限公司",
        },
        keep=False,
    )
    vendor = call(
        "anonymous",
        "POST",
        "/api/v1/auth/token",
        body={"email": "bd@rongcheng-iot.example.cn", "password": "榕城物联-2025-方案"},
        keep=False,
    )["access_token"]
    call(
        vendor,
        "POST",
        "/api/v1/providers",
        body={
            "name": "福州榕城物联科技有限公司",
            "credit_code": "91350100MA2Y" + "8K3Q4" + check_character("91350100MA2Y8K3Q4"),
            "province": "福建省",
            "city": fuzhou,
            "description": (
                "为纺织、电子企业提供设备联网、能耗监测和生产看板，团队 30 人，服务福州及周边中小企业。"
            ),
            "contact_email": "bd@rongcheng-iot.example.cn",
            "contact_phone": "0591-87654321",
        },
    )

    # Solutions and their review
    call(
        "anonymous",
        "GET",
        "/api/v1/solutions",
        query={"industry": ["C17"], "scenario": ["quality"], "price_max_cny": 200000, "per_page": 2},
    )
    solution = call(
        "provider",
        "POST",
        "/api/v1/solutions",
        body={
            "title": "汲能织检·针织坯布疵点在线检测方案",
            "summary": "在圆机落布前逐米检测破洞、油污、横路，疵点定位到米，替代人工验布。",
            "description": (
                "面向针织企业的坯布在线质检方案。\n在圆机落布处加装线阵相机和补光，"
                "识别破洞、油污、横路、漏针等疵点，按米记录位置并生成验布报告。"
            ),
            "industries": ["C176"],
            "scenarios": ["quality"],
            "tags": ["视觉质检", "验布", "针织"],
            "price_min_cny": 68000,
            "price_max_cny": 150000,
            "deploy_days": 20,
            "delivery_modes": ["hardware_bundle", "on_premise"],
            "level_uplifts": [{"scenario": "quality", "from_level": 1, "to_level": 2}],
            "outcome_claims": [
                {
                    "metric": "漏检率",
                    "value": 2.5,
                    "unit": "%",
                    "source_type": "vendor_claimed",
                    "note": "同类客户上线三个月的平均值",
                }
            ],
        },
    )
    item = {"item_id": solution["id"]}
    call("anonymous", "GET", "/api/v1/solutions/{solution_id}", path={"solution_id": 1})
    call(
        "provider",
        "PATCH",
        "/api/v1/solutions/{solution_id}",
        path={"solution_id": solution["id"]},
        body={"deploy_days": 15},
    )
    call("provider", "POST", "/api/v1/solutions/{item_id}/submit", path=item)
    call(
        "admin",
        "POST",
        "/api/v1/solutions/{item_id}/reject",
        path=item,
        body={"reason": "成效数字请补充测算口径，并注明客户所在行业"},
    )
    call("provider", "POST", "/api/v1/solutions/{item_id}/submit", path=item, keep=False)
    call("admin", "POST", "/api/v1/solutions/{item_id}/approve", path=item)
    call(
        "admin",
        "POST",
        "/api/v1/solutions/{solution_id}/outcome-claims/{index}/accept",
        path={"solution_id": solution["id"], "index": 0},
    )
    call("provider", "POST", "/api/v1/solutions/{item_id}/archive", path=item)

    # Cases, their review and promotion
    call("anonymous", "GET", "/api/v1/cases", query={"city": [fuzhou], "promoted": True, "per_page": 2})
    promoted = call("anonymous", "GET", "/api/v1/cases", query={"city": fuzhou, "promoted": True}, keep=False)
    call("anonymous", "GET", "/api/v1/cases/{case_id}", path={"case_id": promoted["items"][0]["id"]})
    case_body = {
        "title": "福州某针织企业上线坯布在线验布，漏检率由 8% 降至 2.5%",
        "enterprise_name": "福州某针织有限公司",
        "city": fuzhou,
        "province": "福建省",
        "industry": "C176",
        "scenarios": ["quality"],
        "solution_ids": [1],
        "summary": (
            "企业原先靠 6 名验布工人工验布，夜班漏检多。\n"
            "上线坯布在线检测后，疵点按米定位，验布报告随布流转。"
        ),
        "metrics": [
            {"name": "漏检率", "before": 8.0, "after": 2.5, "unit": "%", "source_type": "vendor_claimed"}
        ],
        "level_before": 1,
        "level_after": 2,
        "investment_cny": 120000,
    }
    draft = call("provider", "POST", "/api/v1/cases", body=case_body, keep=False)
    call(
        "provider",
        "PATCH",
        "/api/v1/cases/{case_id}",
        path={"case_id": draft["id"]},
        body={"investment_cny": 135000},
    )
    case_item = {"item_id": draft["id"]}
    call("provider", "POST", "/api/v1/cases/{item_id}/submit", path=case_item)
    call(
        "city_office",
        "POST",
        "/api/v1/cases/{item_id}/reject",
        path=case_item,
        body={"reason": "请补充改造前后的现场评定结果"},
    )
    call("provider", "POST", "/api/v1/cases/{item_id}/submit", path=case_item, keep=False)
    call("city_office", "POST", "/api/v1/cases/{item_id}/approve", path=case_item)
    call("provider", "POST", "/api/v1/cases/{item_id}/archive", path=case_item)
    office_case = call("city_office", "POST", "/api/v1/cases", body=case_body)
    call(
        "city_office",
        "POST",
        "/api/v1/cases/{case_id}/metrics/{index}/accept",
        path={"case_id": office_case["id"], "index": 0},
    )
    promotion = call(
        "city_office",
        "POST",
        "/api/v1/cases/{case_id}/promotions",
        path={"case_id": office_case["id"]},
        body={
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=90)).isoformat(),
            "note": "针织细分行业“看样学样”样板，欢迎同行企业预约参观",
        },
    )
    call(
        "city_office",
        "POST",
        "/api/v1/cases/{case_id}/promotions/{promotion_id}/end",
        path={"case_id": office_case["id"], "promotion_id": promotion["id"]},
    )

    # Enterprises
    call(
        "city_office",
        "GET",
        "/api/v1/enterprises",
        query={"city": [fuzhou], "industry": ["C17"], "per_page": 2},
    )
    newcomer_profile = call(
        newcomer,
        "POST",
        "/api/v1/enterprises",
        body={
            "name": "福州闽江针织有限公司",
            "credit_code": "91350121MA8R" + "2T6W3" + check_character("91350121MA8R2T6W3"),
            "province": "福建省",
            "city": fuzhou,
            "industry": "C1762",
            "size": "small",
            "above_scale": True,
            "tier": "specialized",
            "digital_level": 1,
            "needs": "圆机 40 台，验布全靠人工，夜班漏检多；想先上疵点检测，再把机台数据采上来。",
        },
    )
    call("enterprise", "GET", "/api/v1/enterprises/{enterprise_id}", path={"enterprise_id": 3})
    call(
        "enterprise",
        "PATCH",
        "/api/v1/enterprises/{enterprise_id}",
        path={"enterprise_id": 3},
        body={"needs": "想做织机联网和能耗监测，先从一个车间试点。"},
    )
    call(
        "city_office",
        "POST",
        "/api/v1/enterprises/{enterprise_id}/tier-verification",
        path={"enterprise_id": newcomer_profile["id"]},
        body={"tier": "specialized"},
    )

    # Inquiries
    inquiry = call(
        "enterprise",
        "POST",
        "/api/v1/solutions/{solution_id}/inquiries",
        path={"solution_id": 1},
        body={"message": "我们是福州的针织企业，想了解报价和部署周期，能否安排现场演示？"},
    )
    call("provider", "GET", "/api/v1/inquiries", query={"status": ["new"], "per_page": 2})
    call(
        "provider",
        "POST",
        "/api/v1/inquiries/{inquiry_id}/replies",
        path={"inquiry_id": inquiry["id"]},
        body={"message": "您好，下周二可到厂演示，部署约 8 天，报价请见附件。"},
    )
    call(
        "provider",
        "PATCH",
        "/api/v1/inquiries/{inquiry_id}",
        path={"inquiry_id": inquiry["id"]},
        body={"status": "won"},
    )
    call("enterprise", "GET", "/api/v1/inquiries/{inquiry_id}", path={"inquiry_id": inquiry["id"]})

    # Search
    call(
        "anonymous",
        "GET",
        "/api/v1/search/solutions",
        query={"q": "注塑件 外观缺陷", "price_max_cny": 300000, "per_page": 2},
    )
    call("enterprise", "GET", "/api/v1/search/cases", query={"q": "针织", "city": [fuzhou], "per_page": 2})
    call("anonymous", "GET", "/api/v1/suggest", query={"prefix": "视觉", "limit": 5})

    # Assessments
    seeded = json.loads((ROOT / "seed_data" / "demo" / "assessments.json").read_text(encoding="utf-8"))
    sheet = next(entry for entry in seeded if entry["enterprise_key"] == "ent-003")
    call(
        "enterprise",
        "GET",
        "/api/v1/enterprises/{enterprise_id}/assessments",
        path={"enterprise_id": 3},
        query={"kind": "onsite", "per_page": 2},
    )
    call(
        "city_office",
        "POST",
        "/api/v1/enterprises/{enterprise_id}/assessments",
        path={"enterprise_id": newcomer_profile["id"]},
        body={
            "kind": "onsite",
            "assessed_on": today.isoformat(),
            "answers": sheet["answers"],
            "measures": {"pass_rate": {"before": 96.5, "after": 98.2}},
            "scenario_levels": sheet["scenario_levels"],
            "note": "福州市工信局组织现场评定",
        },
    )

    # The pilot of 福州市
    city = {"city": fuzhou}
    call("city_office", "GET", "/api/v1/cities/{city}/pilot", path=city, query={"basis": "onsite"})
    call("city_office", "GET", "/api/v1/cities/{city}/pilot/export", path=city, query={"format": "csv"})
    call(
        "city_office",
        "GET",
        "/api/v1/cities/{city}/pilot/enterprises",
        path=city,
        query={"below_target": True, "per_page": 2},
    )
    sub_industries = call("city_office", "GET", "/api/v1/cities/{city}/pilot/sub-industries", path=city)
    knit = next(entry for entry in sub_industries if "C176" in entry["industry_codes"])
    created = call(
        "city_office",
        "POST",
        "/api/v1/cities/{city}/pilot/sub-industries",
        path=city,
        body={"name": "纺织服装、服饰业", "industry_codes": ["C18"], "target_count": 3},
    )
    call(
        "city_office",
        "GET",
        "/api/v1/cities/{city}/pilot/sub-industries/{sub_industry_id}",
        path={**city, "sub_industry_id": knit["id"]},
    )
    call(
        "city_office",
        "PATCH",
        "/api/v1/cities/{city}/pilot/sub-industries/{sub_industry_id}",
        path={**city, "sub_industry_id": created["id"]},
        body={"target_count": 5},
    )
    enrol = {**city, "sub_industry_id": knit["id"]}
    call(
        "city_office",
        "POST",
        "/api/v1/cities/{city}/pilot/sub-industries/{sub_industry_id}/enrolments",
        path=enrol,
        body={"enterprise_ids": [newcomer_profile["id"]]},
    )
    call(
        "city_office",
        "DELETE",
        "/api/v1/cities/{city}/pilot/sub-industries/{sub_industry_id}/enrolments/{enterprise_id}",
        path={**enrol, "enterprise_id": newcomer_profile["id"]},
    )
    call(
        "city_office",
        "GET",
        "/api/v1/cities/{city}/pilot/enrolment-sheet/template",
        path=city,
        query={"format": "csv"},
    )
    sheet_text = (
        "统一社会信用代码,企业名称,细分行业\n"
        f"{newcomer_profile['credit_code']},福州闽江针织有限公司,{knit['name']}\n"
    )
    call(
        "city_office",
        "POST",
        "/api/v1/cities/{city}/pilot/enrolment-sheet/preview",
        path=city,
        files={"file": sheet_text},
    )
    call(
        "city_office",
        "POST",
        "/api/v1/cities/{city}/pilot/enrolment-sheet/import",
        path=city,
        files={"file": sheet_text},
    )

    # Retrofit projects
    call("city_office", "GET", "/api/v1/retrofit-projects", query={"status": ["filing"], "per_page": 2})
    project = call(
        "city_office",
        "POST",
        "/api/v1/retrofit-projects",
        body={
            "enterprise_id": newcomer_profile["id"],
            "provider_id": 1,
            "solution_id": 1,
            "title": "闽江针织坯布在线验布改造项目",
            "contract_amount_cny": 128000,
            "started_on": today.isoformat(),
            "note": "诊断评估：圆机 40 台，先改造 12 台",
        },
    )
    call("provider", "GET", "/api/v1/retrofit-projects/{project_id}", path={"project_id": project["id"]})
    call(
        "city_office",
        "POST",
        "/api/v1/retrofit-projects/{project_id}/advance",
        path={"project_id": project["id"]},
        body={"note": "诊断报告已备案，进入备案审核"},
    )
    accepted = call(
        "city_office",
        "GET",
        "/api/v1/retrofit-projects",
        query={"status": "accepted", "per_page": 100},
        keep=False,
    )
    open_showcase = next(entry for entry in accepted["items"] if entry["case_id"] is None)
    call(
        "city_office",
        "POST",
        "/api/v1/retrofit-projects/{project_id}/showcase",
        path={"project_id": open_showcase["id"]},
        body={
            "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=180)).isoformat(),
            "note": "试点细分行业“看样学样”样板：改造前后均经现场评定",
        },
    )

    # Recommendations
    served = call(
        "anonymous",
        "POST",
        "/api/v1/recommendations",
        body={
            "industry": "C2929",
            "needs": "注塑件有黑点、缩水，全靠人工目检，想上视觉检测",
            "scenarios": ["quality"],
            "budget_max_cny": 200000,
            "city": "厦门市",
            "province": "福建省",
            "digital_level": 1,
            "limit": 2,
        },
    )
    call(
        "enterprise",
        "GET",
        "/api/v1/enterprises/{enterprise_id}/recommendations",
        path={"enterprise_id": 3},
        query={"limit": 2},
    )
    call(
        "anonymous",
        "GET",
        "/api/v1/solutions/{solution_id}/similar",
        path={"solution_id": 1},
        query={"limit": 2},
    )
    call(
        "anonymous",
        "GET",
        "/api/v1/cases/{case_id}/similar",
        path={"case_id": promoted["items"][0]["id"]},
        query={"limit": 2},
    )
    first = served["solutions"][0]
    call(
        "anonymous",
        "POST",
        "/api/v1/events",
        body={
            "request_id": served["request_id"],
            "item_type": "solution",
            "item_id": first["id"],
            "type": "click",
            "position": 0,
        },
    )

    # The newcomer's own account, last
    renewed = call(
        newcomer,
        "POST",
        "/api/v1/auth/me/password",
        body={"current_password": password, "new_password": "闽江针织-2026-新密码"},
    )["access_token"]
    call(renewed, "POST", "/api/v1/auth/logout")
    gone = call(
        "anonymous",
        "POST",
        "/api/v1/auth/token",
        body={"email": "bd@rongcheng-iot.example.cn", "password": "榕城物联-2025-方案"},
        keep=False,
    )["access_token"]
    call(gone, "DELETE", "/api/v1/auth/me", body={"password": "榕城物联-2025-方案"})


def main() -> None:
    """Capture the examples and write them, sorted by operation."""
    with tempfile.TemporaryDirectory() as folder:
        app = seeded_app(Path(folder))
        call = Recorder(app, tokens_of(app))
        capture(call)
        with app.app_context():
            from marketplace.extensions import db

            db.engine.dispose()
    examples = dict(sorted(call.examples.items(), key=lambda entry: entry[0].split(" ", 1)[::-1]))
    OUTPUT.write_text(json.dumps(examples, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(examples)} operations → {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
