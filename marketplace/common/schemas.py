"""Shared schema pieces: Chinese validation messages, validators and list pages."""

from __future__ import annotations

import unicodedata

from marshmallow import Schema, ValidationError, fields, validate

from marketplace.common.credit_code import credit_code_problem

FIELD_MESSAGES: dict[type[fields.Field], dict[str, str]] = {
    fields.Field: {
        "required": "缺少必填字段",
        "null": "该字段不能为空值",
        "validator_failed": "取值无效",
    },
    fields.String: {"invalid": "应为字符串", "invalid_utf8": "不是合法的 UTF-8 字符串"},
    fields.Number: {"invalid": "应为数字", "too_large": "数值过大"},
    fields.Integer: {"invalid": "应为整数", "too_large": "数值过大"},
    fields.Float: {"special": "不允许 NaN 或无穷大"},
    fields.Decimal: {"special": "不允许 NaN 或无穷大"},
    fields.Boolean: {"invalid": "应为布尔值 true 或 false"},
    fields.Email: {"invalid": "不是有效的电子邮箱地址"},
    fields.Url: {"invalid": "不是有效的网址"},
    fields.UUID: {"invalid_uuid": "不是有效的 UUID"},
    fields.List: {"invalid": "应为列表"},
    fields.Tuple: {"invalid": "应为列表"},
    fields.Mapping: {"invalid": "应为对象（键值映射）"},
    fields.Nested: {"type": "应为对象"},
    fields.Enum: {"unknown": "取值应为以下之一：{choices}"},
    fields.DateTime: {
        "invalid": "不是有效的时间",
        "format": "时间格式无效",
        "invalid_awareness": "时区信息不符合要求",
    },
    fields.Date: {
        "invalid": "不是有效的日期（格式 YYYY-MM-DD）",
        "format": "日期格式无效",
        "invalid_awareness": "时区信息不符合要求",
    },
    fields.Time: {
        "invalid": "不是有效的时刻",
        "format": "时刻格式无效",
        "invalid_awareness": "时区信息不符合要求",
    },
    fields.TimeDelta: {"invalid": "不是有效的时长", "format": "时长格式无效"},
    fields.IP: {"invalid_ip": "不是有效的 IP 地址"},
    fields.IPInterface: {"invalid_ip_interface": "不是有效的 IP 网段"},
}
SCHEMA_MESSAGES = {"unknown": "不允许的字段", "type": "请求体应为 JSON 对象"}


def localise_marshmallow() -> None:
    """Make marshmallow's built-in field and schema messages Chinese, once, for every schema."""
    for field_cls, messages in FIELD_MESSAGES.items():
        field_cls.default_error_messages = {**field_cls.default_error_messages, **messages}
    Schema._default_error_messages = {**Schema._default_error_messages, **SCHEMA_MESSAGES}


localise_marshmallow()


MULTILINE_CONTROLS = frozenset("\n\t")


def control_character(value: str, allowed: frozenset[str] = frozenset()) -> str | None:
    """The first control character (Unicode category Cc) of ``value`` outside ``allowed``, if any."""
    return next((ch for ch in value if unicodedata.category(ch) == "Cc" and ch not in allowed), None)


class Text(fields.String):
    """A string of user text, stripped of surrounding whitespace before it is validated.

    So ``"  苏州智检 "`` is stored as ``"苏州智检"``, and a blank value fails its length check
    instead of being stored. Passwords stay plain strings: their spaces are the user's.

    Control characters (Unicode category Cc, NUL included) are refused: they break exports and
    some stores keep them while others refuse them. A ``multiline`` field (descriptions, messages,
    notes) keeps line breaks and tabs.
    """

    def __init__(self, *, multiline: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.allowed_controls = MULTILINE_CONTROLS if multiline else frozenset()

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        bad = control_character(text, self.allowed_controls)
        if bad is not None:
            name = "空字符" if bad == "\0" else "换行或制表符" if bad in MULTILINE_CONTROLS else "控制字符"
            raise ValidationError(f"不能包含{name}（U+{ord(bad):04X}）")
        return text


class _Exactly:
    """A one-value container matched by identity, so that ``1`` is not ``True`` nor ``0`` ``False``."""

    def __init__(self, value: bool):
        self.value = value

    def __contains__(self, item) -> bool:
        return item is self.value

    def __bool__(self) -> bool:
        return True


def strict_json(schema: Schema) -> Schema:
    """Make a schema instance take JSON values as they are, at every level of nesting; return it.

    Integers must be JSON integers (``1000.5`` and ``"1000"`` are refused, not rounded or parsed)
    and booleans JSON booleans (not ``"true"`` or ``1``). Query strings are text, so their
    schemas stay lenient; :class:`marketplace.common.routes.Blueprint` applies this to JSON bodies.
    """
    for field in schema.fields.values():
        _strict_field(field)
    return schema


def _strict_field(field: fields.Field) -> None:
    if isinstance(field, fields.Integer):
        field.strict = True
    elif isinstance(field, fields.Boolean):
        field.truthy, field.falsy = _Exactly(True), _Exactly(False)
    elif isinstance(field, fields.List):
        _strict_field(field.inner)
    elif isinstance(field, fields.Nested):
        strict_json(field.schema)


class BaseSchema(Schema):
    """Base of every API schema: Chinese schema-level messages, unknown fields rejected."""

    error_messages = SCHEMA_MESSAGES


def _writable(schema: Schema, data: dict) -> dict:
    """``data`` (dumped by ``schema``) without dump-only fields, at every level of nesting."""
    kept = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        if not field.dump_only and key in data:
            kept[key] = _writable_value(field, data[key])
    return kept


def _writable_value(field: fields.Field, value):
    if isinstance(field, fields.List) and isinstance(value, list):
        return [_writable_value(field.inner, item) for item in value]
    if isinstance(field, fields.Nested) and isinstance(value, dict):
        return _writable(field.schema, value)
    return value


def load_merged(schema: Schema, current: object, patch: dict) -> dict:
    """Check a partial update as the whole object it makes; return the patched fields, loaded.

    ``patch`` is what the PATCH schema (the same schema, partial) loaded. The current object's
    writable fields are dumped, the patch is laid over them, and the result is loaded with the
    full create schema: so a list in a PATCH replaces the whole list, a nested object must be
    complete, and rules across fields see the values that would be stored.

    :returns: the loaded values of the fields ``patch`` names, keyed as ``patch`` is.
    :raises ValidationError: naming the offending fields, as a create would.
    """
    cls = type(schema)
    dumper = cls(only=[name for name, field in schema.fields.items() if not field.dump_only])
    merged = {**_writable(dumper, dumper.dump(current)), **_writable(dumper, dumper.dump(patch))}
    loaded = strict_json(cls()).load(merged)
    return {key: loaded[key] for key in patch}


def text(min_len: int, max_len: int) -> validate.Length:
    """Validate a string's length with a Chinese message ("长度应为 36 个字符" for an exact length)."""
    if min_len == max_len:
        return validate.Length(equal=min_len, error=f"长度应为 {min_len} 个字符")
    return validate.Length(min=min_len, max=max_len, error=f"长度应在 {min_len} 到 {max_len} 个字符之间")


def one_of(choices) -> validate.OneOf:
    """Validate membership with a Chinese message listing the choices."""
    choices = list(choices)
    return validate.OneOf(choices, error="取值应为以下之一：" + "、".join(map(str, choices)))


def between(low: int | float | None = None, high: int | float | None = None) -> validate.Range:
    """Validate a numeric range with a Chinese message."""
    if low is not None and high is not None:
        message = f"取值应在 {low} 到 {high} 之间"
    elif low is not None:
        message = f"取值应不小于 {low}"
    else:
        message = f"取值应不大于 {high}"
    return validate.Range(min=low, max=high, error=message)


def list_size(max_len: int, min_len: int = 0) -> validate.Length:
    """Validate a list's size with a Chinese message ("应包含 3 项" for an exact size)."""
    if min_len == max_len:
        return validate.Length(equal=min_len, error=f"应包含 {min_len} 项")
    return validate.Length(min=min_len, max=max_len, error=f"应包含 {min_len} 到 {max_len} 项")


MAX_ID = 2**31 - 1


class Id(fields.Integer):
    """A row id: a positive 32-bit integer, as the store keeps them."""

    def __init__(self, **kwargs):
        super().__init__(validate=between(1, MAX_ID), **kwargs)


class Prebuilt(fields.Nested):
    """A nested schema for the documentation, whose value the service already builds as plain data.

    Dumping passes the value through instead of walking it field by field: for the facet counts
    and hits of a search page that walk cost more than the search itself. Search hits are dumped
    with their own schema once per index generation (see ``marketplace.search.service``).
    """

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class PageArgsSchema(BaseSchema):
    """Paging arguments shared by every list endpoint."""

    page = fields.Integer(load_default=1, validate=between(1, 10_000))
    per_page = fields.Integer(load_default=20, validate=between(1, 100))


def page_schema(item_schema: type[Schema]) -> type[Schema]:
    """Make the ``{items, total, page, per_page}`` envelope for one item schema."""
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    return type(
        name,
        (Schema,),
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "total": fields.Integer(required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
        },
    )


class CreditCode(fields.String):
    """A 统一社会信用代码, upper-cased and checked against its GB 32100-2015 check character."""

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        problem = credit_code_problem(code)
        if problem:
            raise ValidationError(problem)
        return code


class Phone(fields.String):
    """A mainland landline (区号-号码) or an 11-digit mobile number."""

    def __init__(self, **kwargs):
        super().__init__(
            validate=validate.Regexp(
                r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$", error="电话号码格式无效（手机号 11 位，或 区号-号码）"
            ),
            **kwargs,
        )
