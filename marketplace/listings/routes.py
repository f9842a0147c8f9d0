"""The review lifecycle's routes, which the solution and case blueprints share."""

from __future__ import annotations

from collections.abc import Callable

from marketplace.auth.security import authenticated, current_user
from marketplace.common.routes import Blueprint, versioned
from marketplace.common.schemas import BaseSchema, Text, text

LIFECYCLE_ACTIONS = {
    "submit": "Submit an own draft or rejected {noun} for review.",
    "approve": "Publish a {noun} that is in review (reviewers only).",
    "reject": "Reject a {noun} that is in review, with a reason (reviewers only).",
    "archive": "Archive a published {noun} (its owner or a reviewer).",
}


class ReviewSchema(BaseSchema):
    """A reviewer's reason for rejecting."""

    reason = Text(required=True, multiline=True, validate=text(2, 500))


def add_lifecycle_routes(blp: Blueprint, item_schema, transition: Callable, noun: str) -> None:
    """Register ``POST /<id>/{submit,approve,reject,archive}`` on ``blp``, each taking ``If-Match``.

    :param transition: ``transition(actor, item_id, action, reason, if_match)`` from the service.
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

        view.__doc__ = doc.format(noun=noun)
        view.__name__ = f"{action}_{blp.name}"
        decorated = authenticated(blp)(blp.response(200, item_schema)(view))
        blp.route(f"/<int:item_id>/{action}", methods=["POST"], endpoint=f"{action}")(decorated)
