"""Who may act on a city's pilot.

A city office acts only within its own city. Another city's pilot, sub-industries, enterprises
and projects answer 404, as private things the caller may not see do elsewhere
(:mod:`marketplace.enterprises.service`); providers and enterprises get 403 for city-wide views.
"""

from __future__ import annotations

from marketplace.errors import Forbidden, NotFound
from marketplace.models import Role, User


def is_city_staff(actor: User, city: str) -> bool:
    """Admins, and the office of ``city``, act on that city's pilot."""
    return actor.role is Role.ADMIN or (actor.role is Role.CITY_OFFICE and actor.city == city)


def check_city_staff(actor: User, city: str) -> None:
    """Let only ``city``'s office and admins through.

    :raises Forbidden: for providers and enterprises.
    :raises NotFound: for another city's office.
    """
    if actor.role not in (Role.CITY_OFFICE, Role.ADMIN):
        raise Forbidden("试点数据仅限城市主管部门和平台管理员")
    if not 2 <= len(city) <= 50 or not is_city_staff(actor, city):
        raise NotFound("该城市的试点不存在")
