"""The review lifecycle's routes, which the solution and case blueprints share."""

from __future__ import annotations

from collections.abc import Callable

from marketplace.auth.security import authenticated, current_user
from marketplace.common.routes import Blueprint, versioned
from marketplace.common.schemas import BaseSchema, Text, text

LIFECYCLE_ACTIONS = {
    "submit": (
        "提交{noun}审核\n\n作者把自己的草稿（draft）或被驳回（rejected）的{noun}提交审核，状态变为 "
        "pending_review 待审核；{reviewers}审核。其他状态返回 409。"
    ),
    "approve": (
        "审核通过并发布{noun}（审核者）\n\n待审核的{noun}变为 published 已发布，对所有人可见。"
        "{reviewers}可调用；其他状态返回 409。"
    ),
    "reject": (
        "驳回{noun}（审核者）\n\n待审核的{noun}变为 rejected 已驳回，理由记入 review_note 并显示给作者；"
        "作者修改后可再次提交。{reviewers}可调用。"
    ),
    "archive": (
        "下架{noun}\n\n已发布的{noun}变为 archived 已下架，不再展示，也不能再修改。作者或审核者可调用；"
        "其他状态返回 409。"
    ),
}
"""The Chinese summary and description of each action's operation (``{noun}``: 方案 or 案例)."""
REVIEWERS = {"方案": "平台管理员", "案例": "案例所在城市的主管部门或平台管理员"}


class ReviewSchema(BaseSchema):
    """A reviewer's reason for rejecting."""

    reason = Text(required=True, multiline=True, validate=text(2, 500))


def add_lifecycle_routes(blp: Blueprint, item_schema, transition: Callable, noun: str) -> None:
    """Register ``POST /<id>/{submit,approve,reject,archive}`` on ``blp``, each taking ``If-Match``.

    :param transition: ``transition(actor, item_id, action, reason, if_match)`` from the service.
    :param noun: what the listing is called in Chinese, 方案 or 案例.
    """
    for action, doc in LIFECYCLE_ACTIONS.items():
        if action == "reject":

            def view(data, item_id, if_match, action=action):
                return transition(current_user(), item_id, action, data["reason"], if_match)

            view = versioned(blp, write=True)(view)
            view = blp.arguments(ReviewSchema)(view)
        else:

            def view(item_id, if_match, action=action):
                return transition(current_user(), item_id, action, None, if_match)

            view = versioned(blp, write=True)(view)

        view.__doc__ = doc.format(noun=noun, reviewers=REVIEWERS[noun])
        view.__name__ = f"{action}_{blp.name}"
        decorated = authenticated(blp)(blp.response(200, item_schema)(view))
        blp.route(f"/<int:item_id>/{action}", methods=["POST"], endpoint=f"{action}")(decorated)
