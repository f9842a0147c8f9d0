"""Route builders shared by blueprints."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from http import HTTPStatus

import flask_smorest
from flask import request
from werkzeug.routing import UnicodeConverter, ValidationError

from marketplace.auth.security import authenticated, current_user
from marketplace.common.concurrency import version_tag
from marketplace.common.schemas import BaseSchema, Text, strict_json, text
from marketplace.taxonomy.service import taxonomy

LIFECYCLE_ACTIONS = {
    "submit": "Submit an own draft or rejected {noun} for review.",
    "approve": "Publish a {noun} that is in review (reviewers only).",
    "reject": "Reject a {noun} that is in review, with a reason (reviewers only).",
    "archive": "Archive a published {noun} (its owner or a reviewer).",
}


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint, whose argument schemas are made once instead of on every request.

    webargs instantiates a schema given as a class for each request it parses, copying every
    declared field; a schema instance is reused, and loading keeps no state on it.
    """

    def arguments(self, schema, **kwargs):
        """As :meth:`flask_smorest.Blueprint.arguments`, with ``schema`` a class or an instance.

        A JSON body's integers and booleans must be JSON integers and booleans (:func:`strict_json`).
        """
        instance = schema() if isinstance(schema, type) else schema
        if kwargs.get("location", "json") == "json":
            instance = strict_json(instance)
        return super().arguments(instance, **kwargs)


class CityConverter(UnicodeConverter):
    """A city in a URL path, read as its full name (苏州 → 苏州市); an unknown city matches no route (404)."""

    def to_python(self, value: str) -> str:
        """The city's full name.

        :raises ValidationError: for a name that is not a known city, so the route does not match.
        """
        city = taxonomy().regions.city(value)
        if city is None:
            raise ValidationError()
        return city


def city_parameter(converter: CityConverter) -> dict:
    """How the OpenAPI document describes a city in a path."""
    return {"type": "string", "example": "苏州市"}


IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "the ETag of the version this write is based on; a stale one answers 412",
}
ETAG_HEADER = {"description": "the stored version of the resource", "schema": {"type": "string"}}


def if_match() -> frozenset[str] | None:
    """The strong tags of the request's ``If-Match``, or None if it sent none (or ``*``)."""
    tags = request.if_match
    if not tags or tags.star_tag:
        return None
    return frozenset(tags.as_set())


def versioned(blp: Blueprint, status: int = 200, write: bool = False):
    """Answer the row a view returns with its ``ETag``; a write view also gets ``if_match`` to pass on.

    Put it below ``blp.response``. It documents the ``ETag`` header, and for a write the optional
    ``If-Match`` header and the 412 it can answer.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if write:
                kwargs["if_match"] = if_match()
            row = view(*args, **kwargs)
            return row, {"ETag": f'"{version_tag(row)}"'}

        doc: dict = {"responses": {status: {"headers": {"ETag": ETAG_HEADER}}}}
        if write:
            doc["parameters"] = [IF_MATCH_PARAMETER]
            doc["responses"]["412"] = HTTPStatus.PRECONDITION_FAILED.name
        return blp.doc(**doc)(wrapper)

    return decorator


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
