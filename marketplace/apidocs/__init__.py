"""The teaching half of the OpenAPI document: Chinese text, declared constraints and examples.

Text that integrators read lives here in three tables, each in one place:

- ``intro.md``, the document's ``info.description`` (sign-in, roles, errors, paging, limits, lifecycle);
- :data:`marketplace.apidocs.glossary.FIELD_DESCRIPTIONS`, the Chinese description of every field
  that does not carry its own ``metadata={"description": ...}``;
- ``examples.json``, one request and one response per operation, taken from the demo catalog
  (``scripts/openapi-examples`` captures them from a seeded store).

Operation summaries and descriptions stay in the views' docstrings, as flask-smorest reads them.
Constraints that marshmallow's own validators express reach the document through apispec; the
custom fields (codes checked against the taxonomy, user text, credit codes) declare theirs here.
"""

from __future__ import annotations

import json
from functools import cache
from http import HTTPStatus
from pathlib import Path

from apispec import BasePlugin
from flask import Flask
from marshmallow import Schema, fields

from marketplace.errors import DEFAULT_MESSAGES

HERE = Path(__file__).resolve().parent
CONTROL = r"\x00-\x1f\x7f-\x9f"
SINGLE_LINE_TEXT = rf"^([^\s{CONTROL}]([^{CONTROL}]*[^\s{CONTROL}])?)?$"
MULTILINE_TEXT = rf"^([^\s{CONTROL}]([^\x00-\x08\x0b-\x1f\x7f-\x9f]*[^\s{CONTROL}])?)?$"
"""User text as the server keeps it: no control characters (a multiline text may hold line breaks
and tabs) and no surrounding whitespace, which the server strips before it checks the length."""
CREDIT_CODE_PATTERN = "^[0-9A-HJ-NPQRTUWXY]{18}$"
STATUS_BY_PHRASE = {status.phrase: status.value for status in HTTPStatus}
SUCCESS_DESCRIPTIONS = {"200": "成功", "201": "已创建", "204": "成功，无响应体"}
TAXONOMY_COMPONENTS = {
    "IndustryCode": (
        "GB/T 4754-2017 国民经济行业分类中制造业（门类 C）的代码，任一层级均可，如 C、C29、C292、C2929"
    ),
    "ScenarioCode": "16 个数字化场景之一的代码，见 GET /api/v1/scenarios",
    "CityName": (
        "地级市（或直辖市）全称，如 福州市、厦门市、淄博市、十堰市；服务端也接受简称（福州 → 福州市）"
    ),
    "ProvinceName": "省级行政区全称，如 福建省、山东省、湖北省；服务端也接受简称（福建 → 福建省）",
}


def intro() -> str:
    """The Markdown of ``info.description``."""
    return (HERE / "intro.md").read_text(encoding="utf-8")


@cache
def operation_examples() -> dict[str, dict]:
    """The examples of every operation, keyed ``"GET /api/v1/solutions"``."""
    return json.loads((HERE / "examples.json").read_text(encoding="utf-8"))


def taxonomy_schemas(seed_dir: str) -> dict[str, dict]:
    """The code and name tables the server checks against, as OpenAPI component schemas."""
    from marketplace.taxonomy.service import load_taxonomy

    taxonomy = load_taxonomy(seed_dir)
    regions = taxonomy.regions
    enums = {
        "IndustryCode": list(taxonomy.industries),
        "ScenarioCode": list(taxonomy.scenarios),
        "CityName": sorted(regions.province_of_city, key=lambda city: (regions.province_of_city[city], city)),
        "ProvinceName": list(regions.provinces),
    }
    return {
        name: {"type": "string", "description": TAXONOMY_COMPONENTS[name], "enum": values}
        for name, values in enums.items()
    }


def field_component(field: fields.Field) -> str | None:
    """The component schema a field's values must belong to, if the server checks them against a table."""
    from marketplace.taxonomy.schemas import City, IndustryCode, Province, ScenarioCode

    for cls, name in (
        (IndustryCode, "IndustryCode"),
        (ScenarioCode, "ScenarioCode"),
        (City, "CityName"),
        (Province, "ProvinceName"),
    ):
        if isinstance(field, cls):
            return name
    return None


def document_field(self, field: fields.Field, ret: dict, **kwargs) -> dict:
    """apispec attribute function: the Chinese description and the constraints of custom fields.

    It runs after apispec's own converters, so ``ret`` already holds what marshmallow's validators
    declare; this adds what custom fields enforce in code.
    """
    from marketplace.apidocs.glossary import describe
    from marketplace.common.schemas import CreditCode, Text

    extra: dict = {}
    component = field_component(field)
    if component is not None:
        ret.pop("type", None)
        extra["allOf"] = [{"$ref": f"#/components/schemas/{component}"}]
    elif isinstance(field, Text):
        multiline = "\n" in field.allowed_controls
        extra["pattern"] = MULTILINE_TEXT if multiline else SINGLE_LINE_TEXT
    elif isinstance(field, CreditCode):
        extra.update(pattern=CREDIT_CODE_PATTERN, format="credit-code", minLength=18, maxLength=18)
    if "description" not in ret and field.name and isinstance(field.parent, Schema):
        description = describe(type(field.parent).__name__.removesuffix("Schema"), field.name)
        if description:
            extra["description"] = description
    return extra


class ExamplesPlugin(BasePlugin):
    """Put the examples of ``examples.json`` on their operations: request body, query, path, response."""

    def response_helper(self, response, **kwargs) -> dict:
        """Describe the shared error responses in Chinese, with the message the server gives."""
        status = STATUS_BY_PHRASE.get(response.get("description"))
        if status in DEFAULT_MESSAGES:
            response["description"] = DEFAULT_MESSAGES[status]
        return response

    def path_helper(self, path=None, operations=None, parameters=None, **kwargs) -> None:
        """Describe the path's parameters, with an example value from one of its operations."""
        from marketplace.apidocs.glossary import PATH_DESCRIPTIONS

        table = operation_examples()
        values: dict = {}
        for method in operations or {}:
            values = {**table.get(f"{method.upper()} {path}", {}).get("path", {}), **values}
        for parameter in parameters or []:
            if isinstance(parameter, dict) and parameter.get("in") == "path":
                parameter.setdefault("description", PATH_DESCRIPTIONS.get(parameter["name"], ""))
                if parameter["name"] in values:
                    parameter["example"] = values[parameter["name"]]

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        """Attach the examples of each of ``operations`` at ``path``."""
        table = operation_examples()
        for method, operation in (operations or {}).items():
            example = table.get(f"{method.upper()} {path}")
            if example is None:
                continue
            attach_examples(operation, example)


def attach_examples(operation: dict, example: dict) -> None:
    """Attach one operation's examples: ``path``, ``query``, ``body`` and ``response`` (status and body)."""
    values = {**example.get("path", {}), **example.get("query", {})}
    for parameter in operation.get("parameters", []):
        if isinstance(parameter, dict) and parameter.get("name") in values:
            parameter["example"] = values[parameter["name"]]
    body = operation.get("requestBody", {}).get("content", {})
    if "body" in example:
        for media in body.values():
            media["example"] = example["body"]
    for code, response in operation.get("responses", {}).items():
        if isinstance(response, dict) and code in SUCCESS_DESCRIPTIONS:
            if response.get("description") == HTTPStatus(int(code)).phrase:
                response["description"] = SUCCESS_DESCRIPTIONS[code]
    status = str(example["status"])
    content = operation.get("responses", {}).get(status, {})
    if isinstance(content, dict) and "response" in example:
        for media in content.get("content", {}).values():
            media["example"] = example["response"]


def init_apidocs(app: Flask, api, plugin) -> None:
    """Teach the app's OpenAPI document: components of code tables, field text and constraints, examples."""
    for name, schema in taxonomy_schemas(app.config["SEED_DATA_DIR"]).items():
        api.spec.components.schema(name, schema)
    plugin.converter.add_attribute_function(document_field)
    api.spec.components.schemas.pop("PaginationMetadata", None)  # flask-smorest's; this API pages in the body
