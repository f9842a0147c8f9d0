"""Route builders shared by blueprints: the blueprint and ETags."""

from __future__ import annotations

from functools import wraps
from http import HTTPStatus

import flask_smorest
from flask import request

from marketplace.common.concurrency import version_tag
from marketplace.common.reading import BodyParser
from marketplace.common.schemas import strict_json


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint, whose argument schemas are made once instead of on every request.

    webargs instantiates a schema given as a class for each request it parses, copying every
    declared field; a schema instance is reused, and loading keeps no state on it. Bodies are read
    with the app's bounded JSON loader (:class:`~marketplace.common.reading.BodyParser`).
    """

    ARGUMENTS_PARSER = BodyParser()

    def arguments(self, schema, **kwargs):
        """As :meth:`flask_smorest.Blueprint.arguments`, with ``schema`` a class or an instance.

        A JSON body's integers and booleans must be JSON integers and booleans (:func:`strict_json`).
        """
        instance = schema() if isinstance(schema, type) else schema
        if kwargs.get("location", "json") == "json":
            instance = strict_json(instance)
        return super().arguments(instance, **kwargs)


IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "本次修改所基于版本的 ETag（读取时响应头 ETag 的值）；已被他人修改时返回 412",
}
ETAG_HEADER = {
    "description": "该资源当前存储的版本，修改时放入 If-Match 请求头",
    "schema": {"type": "string"},
}


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
