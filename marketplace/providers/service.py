"""Provider companies: one per provider account, public to all."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.common.lifecycle import get_or_404
from marketplace.common.pagination import paginate
from marketplace.common.profiles import create_profile, update_profile
from marketplace.errors import Forbidden, Unprocessable
from marketplace.models import Provider, Role, User
from marketplace.providers.schemas import ProviderSchema


def create_provider(actor: User, data: dict) -> Provider:
    """Create the company profile of a provider account.

    :raises Conflict: if the account already has one, or the credit code is taken.
    """
    return create_profile(Provider, actor, data, "服务商")


def update_provider(
    actor: User, provider_id: int, data: dict, if_match: frozenset[str] | None = None
) -> Provider:
    """Change a provider profile; owner or admin only.

    :raises Forbidden: for anyone else.
    """
    provider = get_or_404(Provider, provider_id, "服务商")
    if actor.role is not Role.ADMIN and provider.owner_id != actor.id:
        raise Forbidden("只能修改自己的服务商档案")
    return update_profile(provider, data, ProviderSchema(), if_match)


def get_provider(provider_id: int) -> Provider:
    """Get a provider profile; profiles are public."""
    return get_or_404(Provider, provider_id, "服务商")


def list_providers(province=None, city=None, name=None, page=1, per_page=20) -> dict:
    """List providers, filtered by place and name."""
    query = select(Provider).order_by(Provider.id)
    if province:
        query = query.where(Provider.province == province)
    if city:
        query = query.where(Provider.city == city)
    if name:
        query = query.where(Provider.name.contains(name, autoescape=True))
    return paginate(query, page, per_page)


def own_provider(actor: User) -> Provider:
    """Return the caller's provider company.

    :raises Unprocessable: if the provider account has no company profile yet.
    """
    if actor.provider is None:
        raise Unprocessable("请先创建服务商档案（POST /api/v1/providers）")
    return actor.provider
