"""Inquiries (对接): an enterprise asks about a solution, its provider answers and records the outcome."""

from __future__ import annotations

import pytest

from tests.factories import assert_error, register

INQUIRIES = "/api/v1/inquiries"
MESSAGE = "我们有 6 台注塑机，想了解视觉质检的报价和部署周期"


def ask(world, solution_id: int, headers=None, message: str = MESSAGE):
    """Send an inquiry about a solution, by default from the 苏州市 enterprise."""
    return world.client.post(
        f"/api/v1/solutions/{solution_id}/inquiries",
        json={"message": message},
        headers=world.enterprise if headers is None else headers,
    )


def inquiry(world, solution: dict | None = None, headers=None) -> dict:
    """An inquiry sent about ``solution`` (default: a new published one of the first provider)."""
    solution = solution or world.solution()
    response = ask(world, solution["id"], headers)
    assert response.status_code == 201, response.json
    return response.json


def listed_ids(world, headers, query: str = "") -> list[int]:
    """Ids of the inquiries the list shows to ``headers``."""
    response = world.client.get(f"{INQUIRIES}?{query}", headers=headers)
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


class TestSending:
    """Only enterprises with a profile ask, and only about published solutions."""

    def test_enterprise_asks_about_a_published_solution(self, world):
        """The inquiry starts as new, tied to the solution, its provider and the enterprise."""
        solution = world.solution()
        response = ask(world, solution["id"])
        assert response.status_code == 201, response.json
        assert response.json["status"] == "new"
        assert response.json["message"] == MESSAGE
        assert response.json["solution_id"] == solution["id"]
        assert response.json["provider_id"] == world.provider_id
        assert response.json["enterprise_id"] == world.enterprise_id
        assert response.json["replies"] == []

    @pytest.mark.parametrize("status", ["draft", "pending_review", "archived"])
    def test_unpublished_solution_cannot_be_asked_about(self, world, status):
        """A solution that is not published is not found."""
        solution = world.solution(status=status)
        assert_error(ask(world, solution["id"]), 404)

    def test_unknown_solution_is_not_found(self, world):
        """Asking about a solution that does not exist is a 404."""
        assert_error(ask(world, 9999), 404)

    def test_provider_cannot_send(self, world):
        """A provider account does not send inquiries."""
        solution = world.solution(headers=world.other_provider)
        assert_error(ask(world, solution["id"], world.provider), 403)

    def test_anonymous_cannot_send(self, world):
        """Sending needs an account."""
        assert_error(ask(world, world.solution()["id"], {}), 401)

    def test_enterprise_without_profile_is_told_to_create_one(self, world):
        """An enterprise account must have a profile before it can ask."""
        headers = register(world.client, "enterprise")
        body = assert_error(ask(world, world.solution()["id"], headers), 422)
        assert "/api/v1/enterprises" in body["message"]

    def test_empty_message_is_refused(self, world):
        """An inquiry needs a message."""
        assert_error(ask(world, world.solution()["id"], message=""), 422, "message")


class TestVisibility:
    """Each party sees its own inquiries; a city office sees none."""

    def test_solution_provider_lists_and_reads_it(self, world):
        """The provider of the solution receives the inquiry."""
        sent = inquiry(world)
        assert listed_ids(world, world.provider) == [sent["id"]]
        response = world.client.get(f"{INQUIRIES}/{sent['id']}", headers=world.provider)
        assert response.status_code == 200, response.json
        assert response.json["message"] == MESSAGE

    def test_other_provider_neither_lists_nor_reads_it(self, world):
        """Another provider does not see it."""
        sent = inquiry(world)
        assert sent["id"] not in listed_ids(world, world.other_provider)
        assert_error(world.client.get(f"{INQUIRIES}/{sent['id']}", headers=world.other_provider), 404)

    def test_enterprise_lists_the_ones_it_sent(self, world):
        """The sender lists its own inquiries; another enterprise does not see them."""
        sent = inquiry(world)
        other = inquiry(world, headers=world.other_enterprise)
        assert listed_ids(world, world.enterprise) == [sent["id"]]
        assert listed_ids(world, world.other_enterprise) == [other["id"]]
        assert_error(world.client.get(f"{INQUIRIES}/{sent['id']}", headers=world.other_enterprise), 404)

    def test_city_office_cannot_list(self, world):
        """City offices do not read the dealings between enterprises and providers."""
        inquiry(world)
        assert_error(world.client.get(INQUIRIES, headers=world.office), 403)

    def test_city_office_cannot_read_one(self, world):
        """Not even the office of the enterprise's city reads an inquiry."""
        sent = inquiry(world)
        assert_error(world.client.get(f"{INQUIRIES}/{sent['id']}", headers=world.office), 404)

    def test_anonymous_cannot_list(self, client):
        """The list needs an account."""
        assert_error(client.get(INQUIRIES), 401)

    def test_admin_sees_all(self, world):
        """An admin lists and reads every inquiry, newest first."""
        first = inquiry(world)
        second = inquiry(world, world.solution(headers=world.other_provider), world.other_enterprise)
        assert listed_ids(world, world.admin) == [second["id"], first["id"]]
        assert world.client.get(f"{INQUIRIES}/{first['id']}", headers=world.admin).status_code == 200


class TestThread:
    """Both parties write in the thread; the provider records the outcome."""

    def test_provider_reply_marks_it_contacted(self, world):
        """The provider's reply appears in the thread and moves the status from new to contacted."""
        sent = inquiry(world)
        response = world.client.post(
            f"{INQUIRIES}/{sent['id']}/replies",
            json={"message": "您好，可以安排上门评估"},
            headers=world.provider,
        )
        assert response.status_code == 201, response.json
        assert response.json["status"] == "contacted"
        assert [(r["author_role"], r["message"]) for r in response.json["replies"]] == [
            ("provider", "您好，可以安排上门评估")
        ]
        seen = world.client.get(f"{INQUIRIES}/{sent['id']}", headers=world.enterprise).json
        assert seen["status"] == "contacted"
        assert seen["replies"][0]["author_role"] == "provider"

    def test_enterprise_can_reply_too(self, world):
        """The enterprise adds to the thread; its own message does not mark it contacted."""
        sent = inquiry(world)
        response = world.client.post(
            f"{INQUIRIES}/{sent['id']}/replies",
            json={"message": "补充：产品为黑色件"},
            headers=world.enterprise,
        )
        assert response.status_code == 201, response.json
        assert response.json["status"] == "new"
        assert [r["author_role"] for r in response.json["replies"]] == ["enterprise"]

    def test_thread_keeps_the_order_of_replies(self, world):
        """Replies from both sides read in the order they were written."""
        sent = inquiry(world)
        for headers, message in (
            (world.provider, "第一条"),
            (world.enterprise, "第二条"),
            (world.provider, "第三条"),
        ):
            reply = f"{INQUIRIES}/{sent['id']}/replies"
            assert world.client.post(reply, json={"message": message}, headers=headers).status_code == 201
        thread = world.client.get(f"{INQUIRIES}/{sent['id']}", headers=world.enterprise).json["replies"]
        assert [(r["author_role"], r["message"]) for r in thread] == [
            ("provider", "第一条"),
            ("enterprise", "第二条"),
            ("provider", "第三条"),
        ]

    def test_outsider_cannot_reply(self, world):
        """Someone who is not a party cannot write in the thread."""
        sent = inquiry(world)
        response = world.client.post(
            f"{INQUIRIES}/{sent['id']}/replies", json={"message": "插一句"}, headers=world.other_provider
        )
        assert_error(response, 404)

    def test_admin_reads_but_does_not_reply(self, world):
        """An admin cannot speak for either party."""
        sent = inquiry(world)
        response = world.client.post(
            f"{INQUIRIES}/{sent['id']}/replies", json={"message": "你好"}, headers=world.admin
        )
        assert_error(response, 403)

    @pytest.mark.parametrize("outcome", ["contacted", "won", "lost"])
    def test_provider_records_the_outcome(self, world, outcome):
        """The provider marks the inquiry contacted, won or lost, and both parties see it."""
        sent = inquiry(world)
        response = world.client.patch(
            f"{INQUIRIES}/{sent['id']}", json={"status": outcome}, headers=world.provider
        )
        assert response.status_code == 200, response.json
        assert response.json["status"] == outcome
        seen = world.client.get(f"{INQUIRIES}/{sent['id']}", headers=world.enterprise).json
        assert seen["status"] == outcome

    def test_enterprise_cannot_record_the_outcome(self, world):
        """Only the provider records the outcome."""
        sent = inquiry(world)
        response = world.client.patch(
            f"{INQUIRIES}/{sent['id']}", json={"status": "won"}, headers=world.enterprise
        )
        assert_error(response, 403)
        assert world.client.get(f"{INQUIRIES}/{sent['id']}", headers=world.enterprise).json["status"] == "new"

    @pytest.mark.parametrize("status", ["closed", "WON", "", "new"])
    def test_invalid_status_is_refused(self, world, status):
        """A status outside contacted, won and lost is named; an answered inquiry cannot be made new again."""
        sent = inquiry(world)
        response = world.client.patch(
            f"{INQUIRIES}/{sent['id']}", json={"status": status}, headers=world.provider
        )
        assert_error(response, 422, "status")


class TestFilters:
    """Filters of the inquiry list."""

    def test_status_filter(self, world):
        """Only inquiries with the status are listed."""
        won, fresh = inquiry(world), inquiry(world)
        world.client.patch(f"{INQUIRIES}/{won['id']}", json={"status": "won"}, headers=world.provider)
        assert listed_ids(world, world.provider, "status=won") == [won["id"]]
        assert listed_ids(world, world.provider, "status=new") == [fresh["id"]]

    def test_solution_filter(self, world):
        """Only inquiries about the solution are listed."""
        first, second = world.solution(), world.solution(title="设备预测性维护平台")
        about_first, _ = inquiry(world, first), inquiry(world, second)
        assert listed_ids(world, world.provider, f"solution_id={first['id']}") == [about_first["id"]]

    def test_bad_status_filter_is_refused(self, world):
        """An unknown status in the query is named."""
        assert_error(world.client.get(f"{INQUIRIES}?status=closed", headers=world.provider), 422, "status")


class TestStatusMachine:
    """new → contacted | won | lost; contacted → won | lost; won and lost are final."""

    @pytest.mark.parametrize(
        ("path", "refused", "allowed"),
        [
            (["won"], "lost", []),
            (["lost"], "contacted", []),
            (["contacted"], "contacted", ["won", "lost"]),
            (["won"], "contacted", []),
        ],
    )
    def test_moves_outside_the_machine_are_409_with_the_allowed_states(self, world, path, refused, allowed):
        """A refused move answers 409 naming the states the inquiry may still move to."""
        sent = inquiry(world)
        for status in path:
            response = world.client.patch(
                f"{INQUIRIES}/{sent['id']}", json={"status": status}, headers=world.provider
            )
            assert response.status_code == 200, response.json
        response = world.client.patch(
            f"{INQUIRIES}/{sent['id']}", json={"status": refused}, headers=world.provider
        )
        body = assert_error(response, 409, "status")
        assert body["errors"]["allowed_status"] == allowed
        assert (
            world.client.get(f"{INQUIRIES}/{sent['id']}", headers=world.provider).json["status"] == path[-1]
        )

    def test_a_change_records_who_and_when(self, world):
        """The last status change names the account that made it and the time."""
        sent = inquiry(world)
        assert sent["status_changed_at"] is None and sent["status_changed_by"] is None
        changed = world.client.patch(
            f"{INQUIRIES}/{sent['id']}", json={"status": "contacted"}, headers=world.provider
        ).json
        provider_id = world.client.get("/api/v1/auth/me", headers=world.provider).json["id"]
        assert changed["status_changed_by"] == provider_id and changed["status_changed_at"]

    def test_a_reply_never_overwrites_a_status_set_meanwhile(self, world, monkeypatch):
        """A provider reply that read the inquiry as new does not turn a concurrent "won" into "contacted"."""
        sent = inquiry(world)
        _change_behind_the_readers_back(world, monkeypatch, sent["id"], "won")
        response = world.client.post(
            f"{INQUIRIES}/{sent['id']}/replies", json={"message": "您好"}, headers=world.provider
        )
        assert response.status_code == 201, response.json
        assert world.client.get(f"{INQUIRIES}/{sent['id']}", headers=world.provider).json["status"] == "won"

    def test_a_status_change_that_lost_a_race_is_409(self, world, monkeypatch):
        """A change computed from a stale read (contacted) is refused once another made it lost."""
        sent = inquiry(world)
        world.client.patch(f"{INQUIRIES}/{sent['id']}", json={"status": "contacted"}, headers=world.provider)
        _change_behind_the_readers_back(world, monkeypatch, sent["id"], "lost")
        response = world.client.patch(
            f"{INQUIRIES}/{sent['id']}", json={"status": "won"}, headers=world.provider
        )
        assert_error(response, 409, "status")
        assert world.client.get(f"{INQUIRIES}/{sent['id']}", headers=world.provider).json["status"] == "lost"


def _change_behind_the_readers_back(world, monkeypatch, inquiry_id: int, status: str) -> None:
    """Once the next request has read the inquiry, commit ``status`` from another connection."""
    from sqlalchemy import update

    from marketplace.extensions import db
    from marketplace.inquiries import service
    from marketplace.models import Inquiry

    real = service.get_inquiry

    def read_then_race(actor, ident):
        found = real(actor, ident)
        with db.engine.begin() as other:
            other.execute(update(Inquiry).where(Inquiry.id == ident).values(status=status))
        monkeypatch.setattr(service, "get_inquiry", real)
        return found

    monkeypatch.setattr(service, "get_inquiry", read_then_race)


class TestSendingRules:
    """Request ids are checked like feedback events, and bursts of the same inquiry are refused."""

    def test_an_unknown_request_id_is_422(self, world):
        """A request id that names no served list is refused, as /events refuses it."""
        solution = world.solution()
        response = world.client.post(
            f"/api/v1/solutions/{solution['id']}/inquiries",
            json={"message": MESSAGE, "request_id": "x" * 36},
            headers=world.enterprise,
        )
        assert_error(response, 422, "request_id")
        assert listed_ids(world, world.enterprise) == []

    def test_the_same_inquiry_twice_within_ten_minutes_is_409(self, world):
        """Same sender, solution and message within 10 minutes is a duplicate; other messages are not."""
        solution = world.solution()
        assert ask(world, solution["id"]).status_code == 201
        assert_error(ask(world, solution["id"]), 409, "message")
        assert ask(world, solution["id"], message="另外想问一下售后").status_code == 201
        assert ask(world, world.solution()["id"]).status_code == 201
        assert len(listed_ids(world, world.enterprise)) == 3

    def test_the_same_message_after_ten_minutes_is_accepted(self, world, monkeypatch):
        """The window is ten minutes."""
        from datetime import timedelta

        from marketplace.inquiries import service

        solution = world.solution()
        assert ask(world, solution["id"]).status_code == 201
        later = service.utcnow() + timedelta(minutes=11)
        monkeypatch.setattr(service, "utcnow", lambda: later)
        assert ask(world, solution["id"]).status_code == 201
