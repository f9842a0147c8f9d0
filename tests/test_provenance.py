"""Provenance of claimed numbers: only a city office or an admin marks them city_accepted, and it shows."""

from __future__ import annotations

from tests.factories import assert_error, solution_payload

ACCEPTED = {"metric": "检出率", "value": 99.5, "unit": "%", "source_type": "city_accepted"}


def _me(client, headers) -> dict:
    return client.get("/api/v1/auth/me", headers=headers).json


def test_a_provider_cannot_mark_its_own_claims_city_accepted(world):
    """On create and on edit, a provider's city_accepted claim is refused, naming the entry's field."""
    client = world.client
    body = assert_error(
        client.post(
            "/api/v1/solutions", json=solution_payload(outcome_claims=[ACCEPTED]), headers=world.provider
        ),
        422,
        "outcome_claims",
    )
    assert "outcome_claims[0].source_type" in body["errors"]
    assert "outcome_claims[0].source_type" in body["message"]
    sid = world.solution(status="draft")["id"]
    claims = [{**ACCEPTED, "source_type": "third_party"}, ACCEPTED]
    body = assert_error(
        client.patch(f"/api/v1/solutions/{sid}", json={"outcome_claims": claims}, headers=world.provider), 422
    )
    assert [path for path in body["errors"] if path.startswith("outcome_claims")] == [
        "outcome_claims[1].source_type"
    ]
    metric = {"name": "合格率", "before": 96.0, "after": 99.0, "unit": "%", "source_type": "city_accepted"}
    body = assert_error(
        client.post("/api/v1/cases", json=_case(metrics=[metric]), headers=world.provider), 422, "metrics"
    )
    assert "metrics[0].source_type" in body["errors"]


def _case(**overrides) -> dict:
    from tests.factories import case_payload

    return case_payload(**overrides)


def test_a_city_office_accepts_a_claim_of_a_solution_used_in_its_city(world):
    """The office of a city with a published case using the solution accepts; who and when are shown."""
    client = world.client
    sid = world.solution()["id"]
    path = f"/api/v1/solutions/{sid}/outcome-claims/0/accept"
    assert_error(client.post(path, headers=world.office), 403)
    world.case(solution_ids=[sid])
    for headers in (world.provider, world.enterprise, world.other_office):
        assert_error(client.post(path, headers=headers), 403)
    response = client.post(path, headers=world.office)
    assert response.status_code == 200, response.json
    claim = response.json["outcome_claims"][0]
    assert claim["source_type"] == "city_accepted"
    assert claim["accepted_by"] == _me(client, world.office)["id"]
    assert claim["accepted_by_name"] and claim["accepted_at"]
    assert client.get(f"/api/v1/solutions/{sid}").json["outcome_claims"][0] == claim
    assert_error(client.post(path, headers=world.office), 409)
    assert_error(client.post(f"/api/v1/solutions/{sid}/outcome-claims/5/accept", headers=world.admin), 404)


def test_an_admin_accepts_any_claim(world):
    """Admins accept claims of any published solution."""
    sid = world.solution()["id"]
    response = world.client.post(f"/api/v1/solutions/{sid}/outcome-claims/0/accept", headers=world.admin)
    assert response.status_code == 200, response.json
    assert response.json["outcome_claims"][0]["accepted_by"] == _me(world.client, world.admin)["id"]


def test_acceptance_survives_edits_that_keep_the_numbers_and_drops_with_new_ones(world):
    """Another edit, or the same claim sent back, keeps the acceptance; a changed value loses it."""
    client = world.client
    sid = world.solution(status="draft")["id"]
    accepted = client.post(f"/api/v1/solutions/{sid}/outcome-claims/0/accept", headers=world.admin).json
    claim = accepted["outcome_claims"][0]
    edited = client.patch(
        f"/api/v1/solutions/{sid}", json={"summary": "新的简介内容"}, headers=world.provider
    )
    assert edited.status_code == 200, edited.json
    assert edited.json["outcome_claims"] == [claim]
    resent = {key: claim[key] for key in ("metric", "value", "unit", "source_type")}
    again = client.patch(
        f"/api/v1/solutions/{sid}", json={"outcome_claims": [resent]}, headers=world.provider
    )
    assert again.status_code == 200, again.json
    assert again.json["outcome_claims"] == [claim]
    changed = {**resent, "value": 99.9}
    body = assert_error(
        client.patch(f"/api/v1/solutions/{sid}", json={"outcome_claims": [changed]}, headers=world.provider),
        422,
        "outcome_claims",
    )
    assert "验收随之失效" in body["errors"]["outcome_claims[0].source_type"][0]
    downgraded = client.patch(
        f"/api/v1/solutions/{sid}",
        json={"outcome_claims": [{**changed, "source_type": "vendor_claimed"}]},
        headers=world.provider,
    )
    assert downgraded.status_code == 200, downgraded.json
    assert downgraded.json["outcome_claims"][0]["source_type"] == "vendor_claimed"
    assert "accepted_by" not in downgraded.json["outcome_claims"][0]


def test_case_metrics_are_accepted_by_the_office_of_the_case_city(world):
    """An office's own city_accepted metric is stamped with it; a provider's case metric is accepted later."""
    client = world.client
    metric = {"name": "合格率", "before": 96.0, "after": 99.0, "unit": "%", "source_type": "city_accepted"}
    own = world.case(metrics=[metric])
    assert own["metrics"][0]["accepted_by"] == _me(client, world.office)["id"]
    draft = world.case(headers=world.provider)
    client.post(f"/api/v1/cases/{draft['id']}/submit", headers=world.provider)
    path = f"/api/v1/cases/{draft['id']}/metrics/0/accept"
    assert_error(client.post(path, headers=world.provider), 403)
    for headers in (world.other_office, world.enterprise):
        assert_error(client.post(path, headers=headers), 404)
    response = client.post(path, headers=world.office)
    assert response.status_code == 200, response.json
    assert response.json["metrics"][0]["source_type"] == "city_accepted"
    assert response.json["metrics"][0]["accepted_at"]
