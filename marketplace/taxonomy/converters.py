"""Cities in URL paths."""

from __future__ import annotations

from werkzeug.routing import UnicodeConverter, ValidationError

from marketplace.taxonomy.service import taxonomy


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
    return {"allOf": [{"$ref": "#/components/schemas/CityName"}], "example": "福州市"}
