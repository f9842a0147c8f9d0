"""The teaching half of the OpenAPI document: Chinese text, declared constraints and examples.

Text that integrators read lives here in three tables, each in one place:

- ``intro.md``, the document's ``info.description`` (sign-in, roles, errors, paging, limits, lifecycle);
- :data:`marketplace.apidocs.glossary.FIELD_DESCRIPTIONS`, the Chinese description of every field
  that does not carry its own ``metadata={"description": ...}``;
- ``examples.json``, one request and one response per operation, taken from the demo catalog
  (``scripts/openapi_examples.py`` captures them from a seeded store).

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

from marketplace.common.schemas import MAX_ID
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
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "当前计数窗口的限额（次）",
    "X-RateLimit-Remaining": "当前窗口内还可调用的次数",
    "X-RateLimit-Reset": "当前窗口重置的时间（Unix 时间戳，秒）",
}
RETRY_AFTER = {"description": "需要等待的秒数", "schema": {"type": "integer", "minimum": 0}}
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


RATIO_BASELINE = {
    "type": "number",
    "minimum": 0,
    "exclusiveMinimum": True,
    "description": "改造前（基期）数值；按比例比较的指标须大于 0",
}


def assessment_schemas(seed_dir: str) -> dict[str, dict]:
    """The answer sheet of the digital-level indicator, as the server checks it, as component schemas."""
    from marketplace.assessments.indicator import load_indicator

    indicator = load_indicator(seed_dir)
    choices = {
        item.code: {
            "type": "string",
            "enum": [option.code for option in item.options],
            "description": f"{item.name}：" + "；".join(f"{o.code} {o.label}" for o in item.options),
        }
        for item in indicator.choice_items
    }
    measures = {
        item.code: {
            "allOf": [{"$ref": "#/components/schemas/MeasureValues"}],
            "description": f"{item.name}（{item.measure.unit}）"
            + ("；按比例比较，改造前数值须大于 0" if item.measure.compare == "ratio" else ""),
            **({"properties": {"before": RATIO_BASELINE}} if item.measure.compare == "ratio" else {}),
        }
        for item in indicator.measure_items
    }
    levels = {
        code: {
            "type": "integer",
            "minimum": 0,
            "maximum": 4,
            "description": "约束性场景" if constraint else "指导性场景",
        }
        for code, constraint in indicator.scenarios.items()
    }
    return {
        "AssessmentAnswers": {
            "type": "object",
            "description": "数字化基础、数字化管理的每道题都须作答：题目代码 → 选项代码",
            "properties": choices,
            "required": list(choices),
            "additionalProperties": False,
        },
        "AssessmentMeasures": {
            "type": "object",
            "description": "数字化成效指标：指标代码 → 改造前/本期数值；可只填已知的，未填的计 0 分",
            "properties": measures,
            "additionalProperties": False,
        },
        "ScenarioLevels": {
            "type": "object",
            "description": "16 个场景都须填写等级 0–4（0 = 未达一级）：场景代码 → 等级",
            "properties": levels,
            "required": list(levels),
            "additionalProperties": False,
        },
    }


FIELD_COMPONENTS = {
    ("AssessmentSchema", "answers"): "AssessmentAnswers",
    ("AssessmentSchema", "measures"): "AssessmentMeasures",
    ("AssessmentSchema", "scenario_levels"): "ScenarioLevels",
}
"""Fields whose values the server checks against the indicator, by schema and name."""


def field_component(field: fields.Field) -> str | None:
    """The component schema a field's values must belong to, if the server checks them against a table."""
    from marketplace.taxonomy.schemas import City, IndustryCode, Province, ScenarioCode

    named = FIELD_COMPONENTS.get((type(field.parent).__name__, field.name))
    if named is not None:
        return named
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
        for key in ("type", "additionalProperties"):
            ret.pop(key, None)
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


class ApiDocsPlugin(BasePlugin):
    """Chinese descriptions of responses and path parameters, and the examples of ``examples.json``."""

    def response_helper(self, response, **kwargs) -> dict:
        """Describe the shared error responses in Chinese, with the message the server gives."""
        status = STATUS_BY_PHRASE.get(response.get("description"))
        if status in DEFAULT_MESSAGES:
            response["description"] = DEFAULT_MESSAGES[status]
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            response.setdefault("headers", {})["Retry-After"] = RETRY_AFTER
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
                if parameter.get("schema", {}).get("type") == "integer":
                    parameter["schema"]["maximum"] = MAX_ID  # ids are 32-bit in every store
                if parameter["name"] in values:
                    parameter["example"] = values[parameter["name"]]

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        """Attach the examples of each of ``operations`` at ``path``."""
        table = operation_examples()
        for method, operation in (operations or {}).items():
            limited = "429" in {str(code) for code in operation.get("responses", {})}
            for code, response in operation.get("responses", {}).items():
                if isinstance(response, dict) and str(code) in SUCCESS_DESCRIPTIONS:
                    if response.get("description") == HTTPStatus(int(code)).phrase:
                        response["description"] = SUCCESS_DESCRIPTIONS[str(code)]
                    if limited:
                        headers = response.setdefault("headers", {})
                        for name, description in RATE_LIMIT_HEADERS.items():
                            headers[name] = {"description": description, "schema": {"type": "integer"}}
            example = table.get(f"{method.upper()} {path}")
            if example is not None:
                attach_examples(operation, example)


def attach_examples(operation: dict, example: dict) -> None:
    """Attach one operation's examples: ``query`` values, ``body`` and ``response`` (status and body).

    A query value for a repeatable parameter is shown as a list. A text response (a CSV download) is
    shown on its ``text/*`` media types only, a JSON one on ``application/json``.
    """
    for parameter in operation.get("parameters", []):
        if isinstance(parameter, dict) and parameter.get("name") in example.get("query", {}):
            value = example["query"][parameter["name"]]
            if parameter.get("schema", {}).get("type") == "array" and not isinstance(value, list):
                value = [value]
            parameter["example"] = value
    if "body" in example:
        for media in operation.get("requestBody", {}).get("content", {}).values():
            media["example"] = example["body"]
    responses = operation.get("responses", {})
    response = responses.get(str(example["status"]), responses.get(example["status"]))
    if isinstance(response, dict) and "response" in example:
        text = isinstance(example["response"], str)
        for media_type, media in response.get("content", {}).items():
            if media_type.startswith("text/") if text else media_type == "application/json":
                media["example"] = example["response"]


def init_apidocs(app: Flask, api, plugin) -> None:
    """Teach the app's OpenAPI document: components of code tables, field text and constraints, examples."""
    seed_dir = app.config["SEED_DATA_DIR"]
    for name, schema in {**taxonomy_schemas(seed_dir), **assessment_schemas(seed_dir)}.items():
        api.spec.components.schema(name, schema)
    plugin.converter.add_attribute_function(document_field)
    api.spec.components.schemas.pop("PaginationMetadata", None)  # flask-smorest's; this API pages in the body
