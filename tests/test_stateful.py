"""A state machine drives the real API as every role and checks, after each step, what anyone may see.

Providers create and edit solutions and cases with partial and odd bodies, admins and offices
review, promote and verify, enterprises edit their profiles, self-assess and inquire. The machine
remembers what it sent: every tag and title token that was only ever part of an unreviewed
version. After each step:

- no response was a 5xx;
- the public reads (search, suggest, similar, recommendations, case and solution pages) answer
  2xx, or 404 for what is not published;
- no unreviewed token, unpublished item or private profile reaches anyone who may not see it;
- the dashboard's counts equal a recount from the store.

CI runs a bounded number of examples; ``STATEFUL_EXAMPLES=200`` runs more by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import select, text

from marketplace import create_app
from marketplace.assessments.models import Assessment, AssessmentKind
from marketplace.evidence import SOURCE_TYPES
from marketplace.extensions import db
from marketplace.models import Enterprise, Role, User
from marketplace.pilots.models import PilotEnrolment, PilotSubIndustry
from tests.conftest import BASE_CONFIG, _migrate, create_index
from tests.factories import World, case_payload, level_payload, solution_payload

EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "40"))
STEPS = int(os.environ.get("STATEFUL_STEPS", "20"))
SHRINK = os.environ.get("STATEFUL_SHRINK", "1") != "0"
"""``STATEFUL_SHRINK=0`` reports the first failing run as found, unshrunk (``tests/stateful_mutants.py``)."""
PAGES_CHECKED = 4
CITY = "苏州市"
PILOT = f"/api/v1/cities/{CITY}/pilot"
TARGET_LEVEL = 2
TIERS = ("none", "innovative", "specialized", "little_giant")
ODD_SOLUTION_BODIES = (
    {"price_min_cny": "三万"},
    {"tags": "视觉质检"},
    {"tags": [None]},
    {"title": "控制\x00字符\x1b方案"},
    {"title": {"zh": "嵌套"}},
    {"industries": ["C99"]},
    {"deploy_days": -1},
    {"delivery_modes": []},
    {"level_uplifts": None},
    {},
)
ODD_CASE_BODIES = (
    {"level_before": 4, "level_after": 1},
    {"solution_ids": ["一"]},
    {"summary": "\u202e反向\u0007"},
    {"city": "福州市", "province": "浙江省"},
)


STORED_EVIDENCE = {
    ("solutions", "level_uplifts"): {"scenario", "from_level", "to_level"},
    ("solutions", "outcome_claims"): {"metric", "value", "unit", "source_type"},
    ("cases", "metrics"): {"name", "before", "after", "unit", "source_type"},
}
"""The keys every stored nested object must have, as the API's create documents them."""
EVIDENCE_VALUES = {
    "scenario": st.just("quality"),
    "from_level": st.just(1),
    "to_level": st.just(2),
    "metric": st.just("检出率"),
    "name": st.just("合格率"),
    "value": st.just(99.5),
    "before": st.just(92),
    "after": st.just(99),
    "unit": st.just("%"),
    "source_type": st.sampled_from(SOURCE_TYPES),
}


def evidence_body(table: str) -> st.SearchStrategy[dict]:
    """A body with one nested evidence object, whole or lacking keys a create requires, and
    claiming any source, the city's acceptance included."""

    def body(spec: tuple[str, list[str]]) -> st.SearchStrategy[dict]:
        column, keys = spec
        values = st.fixed_dictionaries({key: EVIDENCE_VALUES[key] for key in keys})
        kept = st.just(keys) | st.sets(st.sampled_from(keys), max_size=len(keys) - 1)
        return st.tuples(values, kept).map(
            lambda drawn: {column: [{key: drawn[0][key] for key in sorted(drawn[1])}]}
        )

    columns = sorted(
        (column, sorted(keys)) for (owner, column), keys in STORED_EVIDENCE.items() if owner == table
    )
    return st.sampled_from(columns).flatmap(body)


ODD_SOLUTION = st.none() | st.sampled_from(ODD_SOLUTION_BODIES)
ODD_CASE = st.none() | st.sampled_from(ODD_CASE_BODIES)

SEEDED = (("注塑件视觉检测一体机", "p1"), ("车间能耗监测平台", "p2"))
REVIEWED_TAG = "视觉质检"


def _app(folder: str):
    return create_app(
        {**BASE_CONFIG, "DATABASE_URL": f"sqlite:///{folder}/store.sqlite3", "INSTANCE_PATH": folder}
    )


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, World, list[dict]]:
    """A migrated instance, built once, that every example copies: the cast, two published
    solutions and a trained recommender."""
    folder = tmp_path_factory.mktemp("stateful") / "instance"
    folder.mkdir()
    _migrate(f"sqlite:///{folder}/store.sqlite3", str(folder))
    app = _app(str(folder))
    create_index(app)
    world = World.build(app, app.test_client())
    headers = {"p1": world.provider, "p2": world.other_provider}
    seeded = [
        world.solution(headers=headers[owner], title=title, tags=[REVIEWED_TAG]) for title, owner in SEEDED
    ]
    trained = app.test_cli_runner().invoke(args=["matching", "train"])
    assert trained.exit_code == 0, trained.output
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return folder, world, seeded


class Marketplace(RuleBasedStateMachine):
    """The marketplace as its four roles use it, with what each may see tracked alongside."""

    template: tuple[Path, World, list[dict]]

    def __init__(self):
        super().__init__()
        source, world, seeded = self.template
        self.folder = tempfile.mkdtemp(prefix="stateful-")
        instance = Path(self.folder) / "instance"
        shutil.copytree(source, instance)
        self.app = _app(str(instance))
        self.client = self.app.test_client()
        self.world = World(**{**world.__dict__, "app": self.app, "client": self.client})
        self.counter = 0
        self.solutions: dict[int, dict] = {
            solution["id"]: {"owner": owner, "status": "published", "data": solution}
            for solution, (_, owner) in zip(seeded, SEEDED, strict=True)
        }
        self.cases: dict[int, dict] = {}
        self.sent: set[str] = set()
        self.reviewed: set[str] = {REVIEWED_TAG, *(title for title, _ in SEEDED)}
        self.sub_industry: int | None = None
        self.enterprises = {
            self.world.enterprise_id: self.world.enterprise,
            self.world.other_enterprise_id: self.world.other_enterprise,
        }
        self.inquiries: list[int] = []

    @property
    def secret(self) -> set[str]:
        """Words sent in some version that no reviewer ever approved."""
        return self.sent - self.reviewed

    def teardown(self):
        """Close the store and remove the example's files."""
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    def token(self, kind: str) -> str:
        """A word no other step sends, to follow where one edit's text goes."""
        self.counter += 1
        return f"qz{kind}{self.counter:04d}"

    def call(self, method: str, path: str, headers: dict | None = None, **kwargs):
        """One request; a 5xx fails the run at once."""
        response = getattr(self.client, method)(path, headers=headers or {}, **kwargs)
        assert response.status_code < 500, (
            method,
            path,
            kwargs,
            response.status_code,
            response.get_data()[:500],
        )
        return response

    def providers(self) -> dict[str, dict]:
        """The two providers' headers by name."""
        return {"p1": self.world.provider, "p2": self.world.other_provider}

    def published_solutions(self) -> list[int]:
        """The ids of the solutions the machine knows to be published."""
        return sorted(i for i, known in self.solutions.items() if known["status"] == "published")

    def solution_pools(self) -> list[list[int]]:
        """All known solutions and, if any, the published ones: drawing a pool first picks a
        published solution, where an edit or a case matters most, half the time."""
        return [pool for pool in (sorted(self.solutions), self.published_solutions()) if pool]

    def author(self, known: dict) -> dict:
        """The headers of whoever wrote a solution or case the machine knows."""
        return self.world.office if known["owner"] == "office" else self.providers()[known["owner"]]

    @initialize()
    def pilot_sub_industry(self):
        """苏州市 defines one 细分行业 over C292, where its enterprise belongs."""
        response = self.call(
            "post",
            f"{PILOT}/sub-industries",
            self.world.office,
            json={"name": "注塑制品", "industry_codes": ["C292"], "target_count": 5},
        )
        assert response.status_code == 201, response.json
        self.sub_industry = response.json["id"]

    # --- solutions -------------------------------------------------------------------------

    @rule(owner=st.sampled_from(["p1", "p2"]), odd=ODD_SOLUTION | evidence_body("solutions"))
    def create_solution(self, owner, odd):
        """A provider lists a solution; an odd body is refused whole."""
        secret = self.token("tag")
        body = solution_payload(tags=[secret], title=f"方案{self.token('t')}")
        if odd is not None:
            body |= odd
        response = self.call("post", "/api/v1/solutions", self.providers()[owner], json=body)
        if odd is not None and response.status_code != 201:
            assert response.status_code == 422, response.json
            return
        assert response.status_code == 201, response.json
        self.sent |= {*response.json["tags"], response.json["title"]}
        self.solutions[response.json["id"]] = {"owner": owner, "status": "draft", "data": response.json}

    @precondition(lambda self: self.solutions)
    @rule(data=st.data(), odd=ODD_SOLUTION)
    def patch_solution(self, data, odd):
        """Its provider edits a solution (a published one goes offline until approved again, and
        its cases must not show the edit): new tags, or an odd body."""
        sid = data.draw(st.one_of([st.sampled_from(pool) for pool in self.solution_pools()]))
        known = self.solutions[sid]
        body = {"tags": [self.token("tag")]} if odd is None else dict(odd)
        response = self.call("patch", f"/api/v1/solutions/{sid}", self.author(known), json=body)
        if response.status_code == 200:
            if response.json["status"] != "published":
                self.sent |= {*response.json["tags"], response.json["title"]}
            known["status"], known["data"] = response.json["status"], response.json
        else:
            assert response.status_code in (409, 422), response.json

    @precondition(lambda self: self.solutions)
    @rule(data=st.data(), action=st.sampled_from(["submit", "approve", "reject", "archive"]))
    def solution_lifecycle(self, data, action):
        """A provider submits or archives, an admin approves or rejects."""
        sid = data.draw(st.sampled_from(sorted(self.solutions)))
        known = self.solutions[sid]
        who = self.world.admin if action in ("approve", "reject") else self.providers()[known["owner"]]
        body = {"reason": "不符合要求"} if action == "reject" else None
        response = self.call("post", f"/api/v1/solutions/{sid}/{action}", who, json=body)
        if response.status_code == 200:
            known["status"], known["data"] = response.json["status"], response.json
            if known["status"] == "published":
                self.reviewed |= {*response.json["tags"], response.json["title"]}
        else:
            assert response.status_code in (409, 422), response.json

    # --- cases -----------------------------------------------------------------------------

    @rule(data=st.data(), odd=ODD_CASE | evidence_body("cases"))
    def office_case(self, data, odd):
        """The 苏州市 office publishes a case that used some solutions (published ones only: a case
        naming any other is refused)."""
        chosen = data.draw(
            st.one_of(
                [
                    st.lists(st.sampled_from(pool), min_size=at_least, max_size=3, unique=True)
                    for pool, at_least in zip(self.solution_pools(), (0, 1), strict=False)
                ]
            )
        )
        body = case_payload(title=f"案例{self.token('c')}", solution_ids=chosen)
        if odd is not None:
            body |= odd
        response = self.call("post", "/api/v1/cases", self.world.office, json=body)
        published = all(self.solutions.get(i, {}).get("status") == "published" for i in body["solution_ids"])
        if response.status_code == 201:
            assert published or body["solution_ids"] == []
            self.cases[response.json["id"]] = {"owner": "office", "status": response.json["status"]}
        else:
            assert response.status_code == 422, response.json

    @rule()
    def provider_case(self):
        """A provider drafts and submits a case; its title stays unreviewed until approved."""
        title = f"案例{self.token('pc')}"
        response = self.call("post", "/api/v1/cases", self.world.provider, json=case_payload(title=title))
        assert response.status_code == 201, response.json
        self.sent.add(title)
        case_id = response.json["id"]
        self.cases[case_id] = {"owner": "p1", "status": "draft", "title": title}
        submitted = self.call("post", f"/api/v1/cases/{case_id}/submit", self.world.provider)
        if submitted.status_code == 200:
            self.cases[case_id]["status"] = submitted.json["status"]

    @precondition(lambda self: self.cases)
    @rule(data=st.data(), odd=ODD_CASE)
    def patch_case(self, data, odd):
        """Its author edits a case: a new title, or a partial odd body. A provider's edit of a
        published case goes back to review; the office's edit is its own review."""
        case_id = data.draw(st.sampled_from(sorted(self.cases)))
        known = self.cases[case_id]
        body = {"title": f"案例{self.token('pc')}"} if odd is None else dict(odd)
        response = self.call("patch", f"/api/v1/cases/{case_id}", self.author(known), json=body)
        if response.status_code != 200:
            assert response.status_code in (409, 422), response.json
            return
        known["status"], known["title"] = response.json["status"], response.json["title"]
        (self.reviewed if known["owner"] == "office" else self.sent).add(known["title"])

    @rule(data=st.data(), table=st.sampled_from(["solutions", "cases"]))
    def edit_evidence(self, data, table):
        """An author sets one piece of evidence on a solution or case: whole or lacking keys, and
        claiming any source, the city's acceptance included."""
        items = self.solutions if table == "solutions" else self.cases
        if not items:
            return
        item_id = data.draw(st.sampled_from(sorted(items)))
        known = items[item_id]
        response = self.call(
            "patch", f"/api/v1/{table}/{item_id}", self.author(known), json=data.draw(evidence_body(table))
        )
        if response.status_code == 200:
            known["status"] = response.json["status"]
        else:
            assert response.status_code in (409, 422), response.json

    @precondition(lambda self: self.cases)
    @rule(data=st.data(), action=st.sampled_from(["approve", "reject", "archive", "promote"]))
    def case_action(self, data, action):
        """The office reviews, archives or promotes a case."""
        case_id = data.draw(st.sampled_from(sorted(self.cases)))
        known = self.cases[case_id]
        if action == "promote":
            today = date.today()
            body = {"starts_on": today.isoformat(), "ends_on": (today + timedelta(days=10)).isoformat()}
            response = self.call("post", f"/api/v1/cases/{case_id}/promotions", self.world.office, json=body)
            assert response.status_code in (201, 409, 422), response.json
            return
        body = {"reason": "材料不全"} if action == "reject" else None
        response = self.call("post", f"/api/v1/cases/{case_id}/{action}", self.world.office, json=body)
        if response.status_code == 200:
            known["status"] = response.json["status"]
            if known["status"] == "published":
                self.reviewed.add(known.get("title"))
        else:
            assert response.status_code in (409, 422), response.json

    # --- enterprises, the pilot ------------------------------------------------------------

    @rule(
        tier=st.sampled_from(TIERS),
        level=st.integers(0, 4),
        industry=st.sampled_from(["C2929", "C2927", "C3670", "C292"]),
        odd=st.sampled_from([None, {"digital_level": "四"}, {"tier": ["little_giant"]}, {"needs": "\x00"}]),
    )
    def enterprise_edits_profile(self, tier, level, industry, odd):
        """The 苏州市 enterprise declares a tier, a level and an industry."""
        body = {"tier": tier, "digital_level": level, "industry": industry} if odd is None else odd
        eid = self.world.enterprise_id
        response = self.call("patch", f"/api/v1/enterprises/{eid}", self.world.enterprise, json=body)
        assert response.status_code in (200, 409, 422), response.json
        if response.status_code == 200:
            assert response.json["tier_status"] in ("verified", "unverified", "differs")

    @rule(tier=st.sampled_from(TIERS))
    def office_verifies_tier(self, tier):
        """The office confirms the tier of its city's enterprise; the other city's office cannot."""
        eid = self.world.enterprise_id
        path = f"/api/v1/enterprises/{eid}/tier-verification"
        other = self.call("post", path, self.world.other_office, json={"tier": tier})
        assert other.status_code == 404
        own = self.call("post", path, self.world.enterprise, json={"tier": tier})
        assert own.status_code == 403
        response = self.call("post", path, self.world.office, json={"tier": tier})
        assert response.status_code == 200 and response.json["verified_tier"] == tier

    @rule()
    def enrol(self):
        """The office enrols its enterprise (a 409/422 if it does not fit)."""
        response = self.call(
            "post",
            f"{PILOT}/sub-industries/{self.sub_industry}/enrolments",
            self.world.office,
            json={"enterprise_ids": [self.world.enterprise_id]},
        )
        assert response.status_code in (200, 409, 422), response.json

    @rule(
        kind=st.sampled_from(["self", "onsite"]),
        level=st.integers(0, 3),
        days=st.integers(0, 400),
        by_office=st.booleans(),
    )
    def assess(self, kind, level, days, by_office):
        """An assessment, possibly backdated; an enterprise may only self-assess."""
        who = self.world.office if by_office else self.world.enterprise
        payload = level_payload(
            level, kind=kind, assessed_on=(date.today() - timedelta(days=days)).isoformat()
        )
        response = self.call(
            "post", f"/api/v1/enterprises/{self.world.enterprise_id}/assessments", who, json=payload
        )
        expected = 403 if kind == "onsite" and not by_office else 201
        assert response.status_code == expected, response.json

    @precondition(lambda self: any(s["status"] == "published" for s in self.solutions.values()))
    @rule(data=st.data(), message=st.sampled_from(["想了解报价", "\x00控制", "能否上门演示？"]))
    def inquire(self, data, message):
        """The enterprise asks about a published solution."""
        sid = data.draw(st.sampled_from(self.published_solutions()))
        response = self.call(
            "post", f"/api/v1/solutions/{sid}/inquiries", self.world.enterprise, json={"message": message}
        )
        assert response.status_code in (201, 404, 409, 422), response.json
        if response.status_code == 201:
            self.inquiries.append(response.json["id"])

    @precondition(lambda self: self.inquiries)
    @rule(data=st.data())
    def reply(self, data):
        """The provider answers an inquiry (another provider cannot see it)."""
        inquiry = data.draw(st.sampled_from(self.inquiries))
        for headers in (self.world.provider, self.world.other_provider):
            response = self.call(
                "post", f"/api/v1/inquiries/{inquiry}/replies", headers, json={"message": "您好，可以安排"}
            )
            assert response.status_code in (201, 403, 404, 409), response.json

    # --- invariants ------------------------------------------------------------------------

    def _public_text(self) -> str:
        parts = []
        for path, query in (
            ("/api/v1/search/solutions", {"per_page": 100}),
            ("/api/v1/search/cases", {"per_page": 100}),
            ("/api/v1/suggest", {"prefix": "qz"}),
            ("/api/v1/suggest", {"prefix": "方案"}),
            ("/api/v1/suggest", {"prefix": "案例"}),
            ("/api/v1/solutions", {"per_page": 100}),
            ("/api/v1/cases", {"per_page": 100}),
        ):
            response = self.call("get", path, query_string=query)
            assert response.status_code == 200, (path, response.json)
            parts.append(json.dumps(response.json, ensure_ascii=False))
        for secret in sorted(self.secret)[-2:]:
            for kind in ("solutions", "cases"):
                response = self.call("get", f"/api/v1/search/{kind}", query_string={"q": secret})
                assert response.status_code == 200
                parts.append(json.dumps(response.json, ensure_ascii=False))
        return "\n".join(parts)

    @invariant()
    def nothing_unreviewed_is_public(self):
        """No word only ever sent in an unreviewed version reaches an anonymous reader."""
        text = self._public_text()
        leaked = sorted(secret for secret in self.secret if secret and secret in text)
        assert not leaked, leaked

    @invariant()
    def stored_evidence_is_whole_and_vouched_for(self):
        """Every nested object in the store is whole, whatever partial body a PATCH sent, and every
        number marked city-accepted names the office or admin who accepted it."""
        with self.app.app_context():
            vouchers = set(
                db.session.scalars(select(User.id).where(User.role.in_([Role.CITY_OFFICE, Role.ADMIN])))
            )
            for table, column in STORED_EVIDENCE:
                rows = db.session.execute(text(f"SELECT id, {column} FROM {table}")).all()
                for row_id, raw in rows:
                    for item in json.loads(raw or "[]") if isinstance(raw, str | None) else raw:
                        missing = STORED_EVIDENCE[table, column] - set(item)
                        assert not missing, (table, row_id, column, item)
                        if item.get("source_type") == "city_accepted":
                            assert item.get("accepted_by") in vouchers, (table, row_id, column, item)

    @invariant()
    def pages_answer_as_their_status_says(self):
        """Published items answer 200 to anyone; the rest 404, their similar lists too."""
        for sid, known in sorted(self.solutions.items())[-PAGES_CHECKED:]:
            expected = 200 if known["status"] == "published" else 404
            assert self.call("get", f"/api/v1/solutions/{sid}").status_code == expected
            assert self.call("get", f"/api/v1/solutions/{sid}/similar").status_code == expected
        for case_id, known in sorted(self.cases.items())[-PAGES_CHECKED:]:
            expected = 200 if known["status"] == "published" else 404
            assert self.call("get", f"/api/v1/cases/{case_id}").status_code == expected
            assert self.call("get", f"/api/v1/cases/{case_id}/similar").status_code == expected

    @invariant()
    def recommendations_show_published_items_only(self):
        """An enterprise's recommendations answer, and name only published solutions and cases."""
        eid = self.world.enterprise_id
        response = self.call("get", f"/api/v1/enterprises/{eid}/recommendations", self.world.enterprise)
        assert response.status_code == 200, response.json
        text = json.dumps(response.json, ensure_ascii=False)
        leaked = sorted(secret for secret in self.secret if secret in text)
        assert not leaked, leaked

    @invariant()
    def profiles_stay_private(self):
        """An enterprise profile is seen by its owner, its city's office and admins only."""
        for eid, owner in self.enterprises.items():
            assert self.call("get", f"/api/v1/enterprises/{eid}", owner).status_code == 200
            assert self.call("get", f"/api/v1/enterprises/{eid}", self.world.provider).status_code == 404
            assert self.call("get", f"/api/v1/enterprises/{eid}").status_code == 401
        other = self.world.other_enterprise_id
        assert self.call("get", f"/api/v1/enterprises/{other}", self.world.office).status_code == 404

    @invariant()
    def dashboard_counts_what_the_store_holds(self):
        """The default dashboard equals a recount: on-site levels and confirmed tiers only."""
        response = self.call("get", PILOT, self.world.office)
        assert response.status_code == 200, response.json
        total = response.json["total"]
        with self.app.app_context():
            enrolled = db.session.scalars(
                select(Enterprise)
                .join(PilotEnrolment, PilotEnrolment.enterprise_id == Enterprise.id)
                .join(PilotSubIndustry, PilotSubIndustry.id == PilotEnrolment.sub_industry_id)
                .where(PilotSubIndustry.city == CITY)
            ).all()
            main, giants = 0, 0
            main_achieved, giants_achieved = 0, 0
            for enterprise in enrolled:
                onsite = db.session.scalars(
                    select(Assessment)
                    .where(
                        Assessment.enterprise_id == enterprise.id, Assessment.kind == AssessmentKind.ONSITE
                    )
                    .order_by(Assessment.assessed_on.desc(), Assessment.id.desc())
                ).first()
                at_target = onsite is not None and onsite.level >= TARGET_LEVEL
                tier = enterprise.verified_tier or "none"
                if enterprise.above_scale or tier in ("specialized", "little_giant"):
                    main, main_achieved = main + 1, main_achieved + at_target
                if tier == "little_giant":
                    giants, giants_achieved = giants + 1, giants_achieved + at_target
        assert total["enrolled"]["total"] == len(enrolled)
        assert (total["main_group"]["members"], total["main_group"]["achieved"]) == (main, main_achieved)
        assert (total["little_giant"]["members"], total["little_giant"]["achieved"]) == (
            giants,
            giants_achieved,
        )


def test_marketplace_state_machine(template):
    """Run the machine: a bounded number of examples in CI, ``STATEFUL_EXAMPLES`` by hand."""
    Marketplace.template = template
    run = Marketplace.TestCase
    run.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        database=None,
        phases=tuple(phase for phase in Phase if SHRINK or phase is not Phase.shrink),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    run("runTest").runTest()
