"""The demo catalog and synthetic data."""

from __future__ import annotations

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import BenchmarkCase, Enterprise, ListingStatus, Provider, Solution, SolutionLabel
from marketplace.search import outbox
from marketplace.taxonomy.service import taxonomy
from tests.factories import login


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_catalog_loads_with_the_promised_coverage(app, runner, client):
    """``flask seed demo`` loads a catalog big and broad enough to demo, and indexes it."""
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert _count(Provider) >= 30
        assert _count(Solution) >= 250
        assert _count(BenchmarkCase) >= 60
        assert _count(Enterprise) >= 150
        cities = set(db.session.scalars(select(BenchmarkCase.city).distinct())) | set(
            db.session.scalars(select(Enterprise.city).distinct())
        )
        assert len(cities) >= 6
        sub_industries = set(db.session.scalars(select(Enterprise.industry_code).distinct()))
        assert len(sub_industries) >= 12
        scenarios = set(
            db.session.scalars(select(SolutionLabel.value).where(SolutionLabel.kind == "scenarios"))
        )
        assert scenarios == set(taxonomy().scenarios)
        quality = db.session.scalars(
            select(Solution.provider_id)
            .join(SolutionLabel)
            .where(
                SolutionLabel.kind == "scenarios",
                SolutionLabel.value == "quality",
                Solution.status == ListingStatus.PUBLISHED,
            )
        ).all()
        assert len(set(quality)) >= 5
        assert outbox.lag() == 0
        assert _count(Solution, Solution.is_demo.is_(False)) == 0
    body = client.get("/api/v1/search/solutions", query_string={"q": "验布"}).json
    assert body["total"] > 0
    assert "演示" in client.get("/api/v1/providers").json["items"][0]["name"]


def test_demo_catalog_is_idempotent_and_signs_in(app, runner, client):
    """Loading twice adds nothing; the demo accounts sign in with the documented password."""
    runner.invoke(args=["seed", "demo"])
    with app.app_context():
        before = [_count(model) for model in (Provider, Solution, BenchmarkCase, Enterprise)]
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert [_count(model) for model in (Provider, Solution, BenchmarkCase, Enterprise)] == before
    admin = login(client, "admin@demo.example.cn", "demo-password")
    assert client.get("/api/v1/auth/me", headers=admin).json["role"] == "admin"
    office = login(client, "suzhou-office@demo.example.cn", "demo-password")
    enterprises = client.get("/api/v1/enterprises", headers=office).json
    assert enterprises["total"] > 0 and {e["city"] for e in enterprises["items"]} == {"苏州市"}


def test_if_empty_loads_only_into_an_empty_store(app, runner):
    """``flask seed if-empty`` leaves a store with solutions alone."""
    assert runner.invoke(args=["seed", "if-empty"]).exit_code == 0
    with app.app_context():
        loaded = _count(Solution)
    assert loaded >= 250
    result = runner.invoke(args=["seed", "if-empty"])
    assert "not loaded" in result.output
    with app.app_context():
        assert _count(Solution) == loaded


def test_synthetic_solutions_are_valid_published_and_indexed(app, runner, client):
    """``flask seed synthetic`` adds plausible published solutions with labels, and indexes them."""
    runner.invoke(args=["seed", "demo"])
    with app.app_context():
        before = _count(Solution)
        published = _count(Solution, Solution.status == ListingStatus.PUBLISHED)
    result = runner.invoke(args=["seed", "synthetic", "--solutions", "300"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert _count(Solution) == before + 300
        synthetic = db.session.scalars(select(Solution).order_by(Solution.id.desc()).limit(300)).all()
        known = taxonomy().industries
        for solution in synthetic:
            assert solution.status is ListingStatus.PUBLISHED
            assert solution.industries and all(code in known for code in solution.industries)
            assert solution.scenarios and solution.delivery_modes
            assert 0 <= solution.price_min_cny <= solution.price_max_cny
        assert outbox.lag() == 0
    total = client.get("/api/v1/search/solutions").json["total"]
    assert total == published + 300


def test_synthetic_needs_providers(runner):
    """On an empty store the synthetic loader says what to do first."""
    result = runner.invoke(args=["seed", "synthetic", "--solutions", "10"])
    assert result.exit_code != 0 and "flask seed demo" in result.output
