"""``flask export`` and ``flask import``: a round trip loses nothing, and bad input changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text, update

from marketplace import dataio
from marketplace.extensions import db
from marketplace.models import IndexOutbox, Provider, RankerModel, Solution, User
from marketplace.recommendations import models_store
from tests.factories import login, solution_payload


def _snapshot() -> dict[str, list[dict]]:
    """Every row of every table, in primary-key order."""
    return {
        table.name: [
            dict(row)
            for row in db.session.execute(select(table).order_by(*table.primary_key.columns)).mappings()
        ]
        for table in dataio.exported_tables()
    }


def _wipe() -> None:
    """Empty every table, as a freshly migrated store is (PostgreSQL sequences restart at 1)."""
    tables = db.metadata.sorted_tables
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(table.name for table in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(tables):
            db.session.execute(delete(table))
    db.session.commit()


@pytest.fixture
def rich_store(app, world, runner):
    """The demo catalog, accounts, a model, a recommendation with feedback, an inquiry with a reply."""
    result = runner.invoke(args=["seed", "demo"])
    assert result.exit_code == 0, result.output
    client = world.client
    with app.app_context():
        models_store.save(models_store.fit_matcher(), {"ndcg@10": 0.87}, activate=True)
    response = client.post(
        "/api/v1/recommendations",
        json={"industry": "C2929", "needs": "注塑件外观缺陷视觉检测"},
        headers=world.enterprise,
    )
    assert response.status_code == 200, response.json
    request_id = response.json["request_id"]
    item = response.json["solutions"][0]
    event = {"request_id": request_id, "item_type": "solution", "item_id": item["id"], "type": "click"}
    response = client.post("/api/v1/events", json=event, headers=world.enterprise)
    assert response.status_code == 201, response.json
    response = client.post(
        f"/api/v1/solutions/{item['id']}/inquiries",
        json={"message": "想了解报价和上线周期", "request_id": request_id},
        headers=world.enterprise,
    )
    assert response.status_code == 201, response.json
    inquiry = response.json
    with app.app_context():
        owner = db.session.scalar(
            select(User.email)
            .join(Provider, Provider.owner_id == User.id)
            .join(Solution, Solution.provider_id == Provider.id)
            .where(Solution.id == item["id"])
        )
    response = client.post(
        f"/api/v1/inquiries/{inquiry['id']}/replies",
        json={"message": "您好，已安排销售联系"},
        headers=login(client, owner, "demo-password"),
    )
    assert response.status_code == 201, response.json
    return world


def test_round_trip_restores_every_row_of_every_table(app, rich_store, runner, tmp_path):
    """Export, empty the store, import: every table holds the same rows, and the model file comes back."""
    path = tmp_path / "backup.jsonl.gz"
    result = runner.invoke(args=["export", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        before = _snapshot()
        model_path = Path(db.session.scalar(select(RankerModel.path)))
        payload = model_path.read_bytes()
        model_path.unlink()
        _wipe()
    assert all(before[name] for name in ("users", "solutions", "inquiries", "inquiry_replies", "assessments"))
    assert all(before[name] for name in ("recommendation_logs", "feedback_events", "ranker_models"))

    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code == 0, result.output
    assert "indexed" in result.output
    with app.app_context():
        after = _snapshot()
        assert {name: len(rows) for name, rows in after.items()} == {
            name: len(rows) for name, rows in before.items()
        }
        for name, rows in before.items():
            assert after[name] == rows, name
        assert model_path.read_bytes() == payload
        assert db.session.scalar(select(func.count()).select_from(IndexOutbox)) == 0
    body = rich_store.client.get("/api/v1/search/solutions", query_string={"q": "视觉检测"}).json
    assert body["total"] > 0


def test_manifest_and_row_encoding(app, rich_store, tmp_path):
    """The first line is the manifest; rows carry ISO datetimes with offset, and the model's bytes."""
    path = tmp_path / "backup.jsonl"
    with app.app_context():
        counts = dataio.export_store(path)
        revision = dataio.store_revision(db.session.connection())
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    manifest = lines[0]
    assert manifest["format"] == "marketplace-export" and manifest["version"] == 1
    assert manifest["alembic_revision"] == revision and manifest["counts"] == counts
    assert "index_outbox" not in counts
    assert len(lines) - 1 == sum(counts.values())
    user = next(line for line in lines[1:] if line["table"] == "users")["row"]
    assert user["created_at"].endswith("+00:00") and user["password_hash"]
    model = next(line for line in lines[1:] if line["table"] == "ranker_models")
    assert model["files"]["path"]


def test_non_empty_store_is_refused(app, world, runner, tmp_path):
    """Importing over data would mix two stores: refused with a clear message and a non-zero exit."""
    path = tmp_path / "backup.jsonl"
    assert runner.invoke(args=["export", str(path)]).exit_code == 0
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code != 0
    assert "目标数据库不为空" in result.output and "users" in result.output


def test_revision_mismatch_is_refused(app, world, runner, tmp_path):
    """An export from another schema version is refused before anything is written."""
    path = tmp_path / "backup.jsonl"
    assert runner.invoke(args=["export", str(path)]).exit_code == 0
    lines = path.read_text(encoding="utf-8").splitlines()
    manifest = json.loads(lines[0]) | {"alembic_revision": "0001"}
    path.write_text("\n".join([json.dumps(manifest), *lines[1:]]) + "\n", encoding="utf-8")
    with app.app_context():
        _wipe()
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code != 0
    assert "数据库版本" in result.output
    with app.app_context():
        assert all(not rows for rows in _snapshot().values())


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda line: line[: len(line) // 2], id="truncated-json"),
        pytest.param(lambda line: line.replace('"table": "', '"table": "no_such_'), id="unknown-table"),
    ],
)
def test_a_bad_line_fails_the_whole_import(app, world, runner, tmp_path, corrupt):
    """A bad line late in the file names its line and leaves the store empty: all or nothing."""
    path = tmp_path / "backup.jsonl"
    assert runner.invoke(args=["export", str(path)]).exit_code == 0
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[-1] = corrupt(lines[-1])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with app.app_context():
        _wipe()
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code != 0
    assert f"第 {len(lines)} 行" in result.output
    with app.app_context():
        assert all(not rows for rows in _snapshot().values())


def test_missing_rows_fail_the_import(app, world, runner, tmp_path):
    """A file cut short between lines disagrees with its manifest and is refused."""
    path = tmp_path / "backup.jsonl"
    assert runner.invoke(args=["export", str(path)]).exit_code == 0
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    with app.app_context():
        _wipe()
    result = runner.invoke(args=["import", str(path)])
    assert result.exit_code != 0 and "行数与清单不符" in result.output
    with app.app_context():
        assert all(not rows for rows in _snapshot().values())


def test_ids_continue_after_import(app, world, runner, tmp_path, client):
    """After a restore, new rows get fresh ids (PostgreSQL sequences are moved past the restored ids)."""
    first = world.solution()
    path = tmp_path / "backup.jsonl"
    assert runner.invoke(args=["export", str(path)]).exit_code == 0
    with app.app_context():
        _wipe()
    result = runner.invoke(args=["import", str(path), "--no-index"])
    assert result.exit_code == 0, result.output
    assert "flask index rebuild" in result.output
    headers = login(client, _owner_email(app, world.provider_id))
    response = client.post(
        "/api/v1/solutions", json=solution_payload(title="恢复后新建的方案"), headers=headers
    )
    assert response.status_code == 201, response.json
    assert response.json["id"] > first["id"]


def _owner_email(app, provider_id: int) -> str:
    with app.app_context():
        return db.session.scalar(
            select(User.email).join(Provider, Provider.owner_id == User.id).where(Provider.id == provider_id)
        )


def test_backup_keeps_malformed_evidence_as_stored(app, world, tmp_path):
    """Reads leave out malformed evidence entries, but a backup carries the JSON exactly as stored."""
    sid = world.solution()["id"]
    raw = [{"metric": "x"}]
    with app.app_context():
        db.session.execute(update(Solution).where(Solution.id == sid).values(outcome_claims=raw))
        db.session.commit()
        assert db.session.get(Solution, sid).outcome_claims == []
        path = tmp_path / "backup.jsonl"
        dataio.export_store(path)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    assert next(r["row"] for r in rows if r["table"] == "solutions")["outcome_claims"] == raw
