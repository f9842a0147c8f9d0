"""The blueprint every resource registers its routes on."""

from __future__ import annotations

import flask_smorest


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint, whose argument schemas are made once instead of on every request.

    webargs instantiates a schema given as a class for each request it parses, copying every
    declared field; a schema instance is reused, and loading keeps no state on it.
    """

    def arguments(self, schema, **kwargs):
        """As :meth:`flask_smorest.Blueprint.arguments`, with ``schema`` a class or an instance."""
        return super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)
