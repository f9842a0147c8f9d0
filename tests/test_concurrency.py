"""Optimistic concurrency: reads carry an ETag, writes may send If-Match, and races never answer 500."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.factories import assert_error

THREADS = 16


def _resource(world, kind: str) -> tuple[str, dict, dict]:
    """The path of one resource of ``kind``, a valid PATCH body, and the headers of who may write it."""
    if kind == "solution":
        return (
            f"/api/v1/solutions/{world.solution(status='draft')['id']}",
            {"tags": ["视觉质检"]},
            world.provider,
        )
    if kind == "case":
        return f"/api/v1/cases/{world.case()['id']}", {"summary": "上线后漏检率明显下降"}, world.office
    if kind == "provider":
        return f"/api/v1/providers/{world.provider_id}", {"description": "专注机器视觉质检"}, world.provider
    return f"/api/v1/enterprises/{world.enterprise_id}", {"needs": "想做能耗监测"}, world.enterprise


@pytest.mark.parametrize("kind", ["solution", "case", "provider", "enterprise"])
def test_a_stale_if_match_is_412_and_no_if_match_still_works(world, kind):
    """GET gives an ETag; a write with it succeeds and moves it on; the old one is then refused."""
    path, body, headers = _resource(world, kind)
    read = world.client.get(path, headers=headers)
    etag = read.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    written = world.client.patch(path, json=body, headers={**headers, "If-Match": etag})
    assert written.status_code == 200, written.json
    assert written.headers["ETag"] != etag
    assert world.client.get(path, headers=headers).headers["ETag"] == written.headers["ETag"]
    stale = world.client.patch(path, json=body, headers={**headers, "If-Match": etag})
    assert_error(stale, 412)
    assert world.client.patch(path, json=body, headers=headers).status_code == 200
    assert world.client.patch(path, json=body, headers={**headers, "If-Match": "*"}).status_code == 200


def test_lifecycle_actions_check_if_match(world):
    """Submitting a draft that changed since it was read is refused."""
    solution = world.solution(status="draft")
    path = f"/api/v1/solutions/{solution['id']}"
    etag = world.client.get(path, headers=world.provider).headers["ETag"]
    world.client.patch(path, json={"summary": "新的简介内容"}, headers=world.provider)
    assert_error(world.client.post(f"{path}/submit", headers={**world.provider, "If-Match": etag}), 412)
    fresh = world.client.get(path, headers=world.provider).headers["ETag"]
    response = world.client.post(f"{path}/submit", headers={**world.provider, "If-Match": fresh})
    assert response.status_code == 200 and response.json["status"] == "pending_review"


def _parallel(world, path: str, headers: dict, bodies: list[dict]) -> Counter:
    """Send one PATCH per body at the same moment, from as many threads; count the statuses."""
    start = threading.Barrier(len(bodies))
    statuses: list[int] = []

    def send(body: dict) -> None:
        client = world.app.test_client()
        start.wait()
        statuses.append(client.patch(path, json=body, headers=headers).status_code)

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(statuses)


def test_parallel_patches_with_one_if_match_let_exactly_one_through(world):
    """Of parallel edits based on one version, one wins; the others are 412, none is a 500."""
    path = f"/api/v1/solutions/{world.solution(status='draft')['id']}"
    etag = world.client.get(path, headers=world.provider).headers["ETag"]
    bodies = [{"tags": [f"标签{n}", "视觉质检"], "scenarios": ["quality"]} for n in range(THREADS)]
    statuses = _parallel(world, path, {**world.provider, "If-Match": etag}, bodies)
    assert statuses == Counter({200: 1, 412: THREADS - 1}), statuses


def test_parallel_patches_without_if_match_never_fail_with_500(world):
    """Without If-Match each edit succeeds or, if it met another at commit, is a 409; labels stay whole."""
    path = f"/api/v1/solutions/{world.solution(status='draft')['id']}"
    bodies = [{"tags": [f"标签{n}", "视觉质检"]} for n in range(THREADS)]
    statuses = _parallel(world, path, world.provider, bodies)
    assert set(statuses) <= {200, 409} and statuses[200] >= 1, statuses
    tags = world.client.get(path, headers=world.provider).json["tags"]
    assert len(tags) == 2 and tags[1] == "视觉质检"


def test_a_burst_of_identical_inquiries_makes_one(world):
    """The same inquiry sent from many threads at once is stored once; the others are 409, none a 500."""
    solution_id = world.solution()["id"]
    start = threading.Barrier(THREADS)
    statuses: list[int] = []

    def send() -> None:
        client = world.app.test_client()
        start.wait()
        response = client.post(
            f"/api/v1/solutions/{solution_id}/inquiries",
            json={"message": "想了解报价"},
            headers=world.enterprise,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(statuses) == Counter({201: 1, 409: THREADS - 1}), Counter(statuses)
