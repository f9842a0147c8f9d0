"""Form posts read as the API's schemas read JSON, and their errors shown beside the fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from flask import request
from marshmallow import Schema, ValidationError, fields
from werkzeug.datastructures import MultiDict

from marketplace.errors import DEFAULT_MESSAGES, APIError

LIST_SEPARATORS = str.maketrans({"，": ",", "、": ",", ";": ",", "；": ","})


def form_data(schema: Schema, form: MultiDict, only: tuple[str, ...] | None = None) -> dict:
    """Collect the schema's loadable fields from a form post, as the JSON body would carry them.

    A list field comes from repeated inputs, or from one text input of comma-separated values
    (``tags``); an empty input is left out, so the schema reports a missing required field in its
    own words. Values stay text: the schema converts and checks them.
    """
    data: dict = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if only is not None and key not in only:
            continue
        if isinstance(field, fields.List) and not isinstance(field.inner, fields.Nested):
            values = []
            for raw in form.getlist(key):
                values.extend(part.strip() for part in raw.translate(LIST_SEPARATORS).split(","))
            values = [value for value in values if value]
            if values or key in form:
                data[key] = values
        elif isinstance(field, fields.Boolean):
            if key in form:
                data[key] = form.get(key) in ("true", "on", "1", "yes")
        elif form.get(key, "").strip():
            data[key] = form[key]
    return data


def rows(
    form: MultiDict, prefix: str, keys: tuple[str, ...], significant: tuple[str, ...] | None = None
) -> list[dict]:
    """Read repeated row inputs named ``prefix-<n>-<key>``.

    A row whose ``significant`` inputs (all by default) are all empty is left out, so a preset
    select (a source type) does not make an untouched row.
    """
    found = []
    for index in range(50):
        row = {key: form.get(f"{prefix}-{index}-{key}", "").strip() for key in keys}
        if not any(f"{prefix}-{index}-{key}" in form for key in keys):
            break
        if any(row[key] for key in significant or keys):
            found.append({key: value for key, value in row.items() if value})
    return found


def field_errors(error: Exception) -> tuple[str, dict[str, list[str]]]:
    """The message and the per-field messages of a schema or service error, flattened for display.

    A nested message (``level_uplifts[0].to_level``) is shown beside its top-level field.
    """
    if isinstance(error, ValidationError):
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        message = DEFAULT_MESSAGES[422]
    elif isinstance(error, APIError):
        messages, message = error.errors or {}, error.message
    else:
        raise TypeError(error)
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        if key == "allowed_status":
            continue
        flat.setdefault(str(key).split("[")[0].split(".")[0], []).extend(_texts(value, ""))
    fields = len([key for key in flat if key != "_schema"])
    if message == DEFAULT_MESSAGES[422] and fields:
        # the API's generic words say nothing a person can act on; say how much is left to fix
        message = f"有 {fields} 处需要修改，请查看标出的字段"
    return message, flat


def _texts(value, path: str) -> list[str]:
    if isinstance(value, str):
        return [f"{path}{value}"]
    if isinstance(value, dict):
        found = []
        for key, inner in value.items():
            label = f"第 {key + 1} 项：" if isinstance(key, int) else f"{key}："
            found.extend(_texts(inner, path + label))
        return found
    if isinstance(value, list | tuple):
        return [text for inner in value for text in _texts(inner, path)]
    return [f"{path}{value}"]


class ProfileForm(NamedTuple):
    """A one-per-account profile form after its request: what to show, and whether it was saved."""

    values: dict
    message: str | None
    errors: dict[str, list[str]]
    saved: bool


def profile_form(
    schema_class: type[Schema],
    stored: object | None,
    create: Callable[[dict], object],
    update: Callable[[int, dict], object],
) -> ProfileForm:
    """Read a company's or an enterprise's profile form: on a POST, create the profile if there is
    none yet, else update it (a partial update the service checks as a whole); the posted values
    and their errors come back for the page."""
    if request.method != "POST":
        return ProfileForm(schema_class().dump(stored) if stored is not None else {}, None, {}, False)
    schema = schema_class(partial=stored is not None)
    try:
        data = schema.load(form_data(schema, request.form))
        if stored is None:
            create(data)
        else:
            update(stored.id, data)
    except (ValidationError, APIError) as error:
        message, errors = field_errors(error)
        return ProfileForm(request.form.to_dict(), message, errors, False)
    return ProfileForm(request.form.to_dict(), None, {}, True)
