"""Load the demo catalog and synthetic data into the store."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from sqlalchemy import func, insert, select
from tqdm import tqdm

from marketplace.auth.security import hash_password
from marketplace.cases.schemas import CaseSchema
from marketplace.common.heap import frozen_heap
from marketplace.enterprises.schemas import EnterpriseSchema
from marketplace.errors import Unprocessable
from marketplace.extensions import db
from marketplace.models import (
    BenchmarkCase,
    CasePromotion,
    Enterprise,
    ListingStatus,
    Provider,
    Role,
    Solution,
    SolutionLabel,
    User,
    utcnow,
)
from marketplace.pilots.seeding import load_pilot_demo
from marketplace.providers.schemas import ProviderSchema
from marketplace.search import outbox
from marketplace.solutions.schemas import SolutionSchema

DEMO_PASSWORD = "demo-password"
DEMO_ADMIN_EMAIL = "admin@demo.example.cn"
SYNTHETIC_BATCH = 5_000


def store_is_empty() -> bool:
    """True when the store holds no solutions."""
    return db.session.scalar(select(func.count(Solution.id))) == 0


def _read(demo_dir: Path, name: str) -> list[dict]:
    return json.loads((demo_dir / f"{name}.json").read_text(encoding="utf-8"))


def _strip(record: dict, *keys: str) -> dict:
    return {key: value for key, value in record.items() if key not in keys}


class DemoLoader:
    """Loads ``seed_data/demo`` idempotently: records already present are left alone."""

    def __init__(self, demo_dir: Path, progress: bool):
        self.demo_dir = demo_dir
        self.progress = progress
        self.password_hash = hash_password(DEMO_PASSWORD)
        self.counts: dict[str, int] = {}

    def _iter(self, name: str) -> list[dict]:
        records = _read(self.demo_dir, name)
        self.counts.setdefault(name, 0)
        return tqdm(records, desc=name, unit="条", disable=not self.progress)

    def _user(self, email: str, role: Role, name: str, city: str | None = None) -> User:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, password_hash=self.password_hash, role=role, name=name, city=city)
            db.session.add(user)
        return user

    def load(self) -> dict[str, int]:
        """Load every file and return how many records each added."""
        self._user(DEMO_ADMIN_EMAIL, Role.ADMIN, "平台管理员（演示）")
        offices = {}
        for record in self._iter("city_offices"):
            offices[record["city"]] = self._user(
                record["email"], Role.CITY_OFFICE, record["name"], record["city"]
            )
        providers = self._load_providers()
        solutions = self._load_solutions(providers)
        self._load_cases(providers, solutions, offices)
        self._load_enterprises()
        self.counts.update(load_pilot_demo(self.demo_dir.parent, self.progress))
        db.session.commit()
        return self.counts

    def _load_providers(self) -> dict[str, Provider]:
        providers = {}
        schema = ProviderSchema()
        for record in self._iter("providers"):
            provider = db.session.scalar(
                select(Provider).where(Provider.credit_code == record["credit_code"])
            )
            if provider is None:
                owner = self._user(record["owner_email"], Role.PROVIDER, record["name"])
                data = schema.load(_strip(record, "key", "owner_email", "demo"))
                provider = Provider(owner=owner, is_demo=True, **data)
                db.session.add(provider)
                self.counts["providers"] += 1
            providers[record["key"]] = provider
        db.session.flush()
        return providers

    def _load_solutions(self, providers: dict[str, Provider]) -> dict[str, Solution]:
        solutions = {}
        schema = SolutionSchema()
        for record in self._iter("solutions"):
            solution = db.session.scalar(select(Solution).where(Solution.seed_key == record["key"]))
            if solution is None:
                data = schema.load(_strip(record, "key", "provider_key", "status", "demo"))
                status = ListingStatus(record.get("status", "published"))
                solution = Solution(
                    provider=providers[record["provider_key"]],
                    status=status,
                    is_demo=True,
                    seed_key=record["key"],
                    published_at=utcnow() if status is ListingStatus.PUBLISHED else None,
                )
                for key, value in data.items():
                    setattr(solution, key, value)
                db.session.add(solution)
                self.counts["solutions"] += 1
            solutions[record["key"]] = solution
        db.session.flush()
        return solutions

    def _load_cases(self, providers, solutions, offices) -> None:
        schema = CaseSchema()
        for record in self._iter("cases"):
            if db.session.scalar(select(BenchmarkCase.id).where(BenchmarkCase.seed_key == record["key"])):
                continue
            data = schema.load(
                _strip(record, "key", "solution_keys", "author", "provider_key", "promotion", "demo")
            )
            data.pop("solution_ids")
            provider = providers.get(record.get("provider_key") or "")
            if record["author"] == "city_office":
                author = offices[record["city"]]
            else:
                author = provider.owner
            case = BenchmarkCase(
                author=author,
                provider=provider,
                status=ListingStatus.PUBLISHED,
                published_at=utcnow(),
                is_demo=True,
                seed_key=record["key"],
                solutions=[solutions[key] for key in record["solution_keys"]],
                **data,
            )
            db.session.add(case)
            promotion = record.get("promotion")
            if promotion:
                db.session.add(
                    CasePromotion(
                        case=case,
                        city=case.city,
                        created_by_id=offices[case.city].id,
                        starts_on=date.fromisoformat(promotion["starts_on"]),
                        ends_on=date.fromisoformat(promotion["ends_on"]),
                        note=promotion["note"],
                    )
                )
            self.counts["cases"] += 1

    def _load_enterprises(self) -> None:
        schema = EnterpriseSchema()
        for record in self._iter("enterprises"):
            if db.session.scalar(
                select(Enterprise.id).where(Enterprise.credit_code == record["credit_code"])
            ):
                continue
            owner = self._user(record["owner_email"], Role.ENTERPRISE, record["name"])
            data = schema.load(_strip(record, "key", "owner_email", "demo"))
            db.session.add(Enterprise(owner=owner, is_demo=True, **data))
            self.counts["enterprises"] += 1


def load_demo(seed_dir: str, progress: bool = False) -> dict[str, int]:
    """Load the demo catalog; running it again adds nothing."""
    with db.session.no_autoflush:
        return DemoLoader(Path(seed_dir) / "demo", progress).load()


def load_synthetic(count: int, seed: int = 7, progress: bool = False) -> int:
    """Insert ``count`` generated published solutions in bulk, spread over the existing providers.

    :raises Unprocessable: if the store has no providers to own them.
    """
    from seed_data.synthetic import iter_synthetic_solutions

    provider_ids = db.session.scalars(select(Provider.id).order_by(Provider.id)).all()
    if not provider_ids:
        raise Unprocessable("库中还没有服务商，请先运行 flask seed demo")
    keys = [str(pid) for pid in provider_ids]
    now = utcnow()
    batch: list[dict] = []
    with frozen_heap(), tqdm(total=count, desc="synthetic solutions", unit="条", disable=not progress) as bar:
        for record in iter_synthetic_solutions(count, keys, seed=seed):
            batch.append(record)
            if len(batch) == SYNTHETIC_BATCH:
                _insert_synthetic(batch, now)
                bar.update(len(batch))
                batch = []
        if batch:
            _insert_synthetic(batch, now)
            bar.update(len(batch))
    return count


def _insert_synthetic(records: list[dict], now) -> None:
    rows = [
        {
            "provider_id": int(r["provider_key"]),
            "title": r["title"],
            "summary": r["summary"],
            "description": r["description"],
            "price_min_cny": r["price_min_cny"],
            "price_max_cny": r["price_max_cny"],
            "deploy_days": r["deploy_days"],
            "level_uplifts": r["level_uplifts"],
            "outcome_claims": r["outcome_claims"],
            "status": ListingStatus.PUBLISHED,
            "published_at": now,
            "created_at": now,
            "updated_at": now,
            "is_demo": True,
        }
        for r in records
    ]
    ids = db.session.scalars(
        insert(Solution).returning(Solution.id, sort_by_parameter_order=True), rows
    ).all()
    labels = [
        {"solution_id": solution_id, "kind": kind, "value": value, "position": position}
        for solution_id, record in zip(ids, records, strict=True)
        for kind in ("industries", "scenarios", "tags", "delivery_modes")
        for position, value in enumerate(dict.fromkeys(record[kind]))
    ]
    db.session.execute(insert(SolutionLabel), labels)
    outbox.enqueue("solution", ids)
    db.session.commit()
