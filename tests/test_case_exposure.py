"""What a case shows of its solutions (#13 finding 3), and suggestions' spelling (finding 12)."""

from __future__ import annotations

from tests.test_cases import promote

SECRET = "未审标签秘"


def suggestions(client, prefix: str) -> list[str]:
    """Anonymous ``/suggest`` items for ``prefix``."""
    response = client.get("/api/v1/suggest", query_string={"prefix": prefix})
    assert response.status_code == 200, response.json
    return response.json["items"]


def case_hits(client, q: str) -> list[int]:
    """Anonymous case search hits for ``q``."""
    response = client.get("/api/v1/search/cases", query_string={"q": q})
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


class TestUnreviewedSolutionText:
    """A provider's unreviewed edit of a solution never reaches the public through a case using it."""

    def test_reindexed_case_does_not_copy_tags_of_a_solution_back_in_review(self, world):
        solution = world.solution(tags=["视觉质检"])
        case = world.case(solution_ids=[solution["id"]])
        patched = world.client.patch(
            f"/api/v1/solutions/{solution['id']}", json={"tags": [SECRET]}, headers=world.provider
        )
        assert patched.status_code == 200 and patched.json["status"] == "pending_review"
        assert promote(world, case["id"]).status_code == 201
        assert SECRET not in suggestions(world.client, SECRET[:2])
        assert case["id"] not in case_hits(world.client, SECRET)
        rejected = world.client.post(
            f"/api/v1/solutions/{solution['id']}/reject", json={"reason": "标签不实"}, headers=world.admin
        )
        assert rejected.status_code == 200, rejected.json
        assert promote(world, case["id"], start=40).status_code == 201
        assert SECRET not in suggestions(world.client, SECRET[:2])
        assert case["id"] not in case_hits(world.client, SECRET)

    def test_published_solution_tags_still_describe_the_case(self, world):
        solution = world.solution(tags=["模温联控"])
        case = world.case(solution_ids=[solution["id"]])
        assert promote(world, case["id"]).status_code == 201
        assert case["id"] in case_hits(world.client, "模温联控")


class TestSuggestSpelling:
    """Case folds for matching only; each spelling comes back once, as it was written."""

    def test_prefix_matches_any_case_and_returns_original_spellings_once(self, world):
        world.solution(title="MES报工系统", tags=["MES", "MES报工"])
        world.solution(title="mes对接网关", tags=["mes", "MES"])
        for prefix in ("MES", "mes"):
            items = suggestions(world.client, prefix)
            folded = [item.casefold() for item in items]
            assert len(folded) == len(set(folded)), items
            assert "MES" in items and "mes" not in items
            assert "MES报工系统" in items and "mes对接网关" in items
