"""Reading and writing ``ExternalLink`` rows (see the model for why they exist)."""

import datetime

from django.contrib.contenttypes.models import ContentType
from django.db import models

from integrations.models import ExternalLink


def link_for(*, system: str, obj: models.Model) -> ExternalLink | None:
    content_type = ContentType.objects.get_for_model(obj)
    return ExternalLink.objects.filter(
        system=system, content_type=content_type, object_id=str(obj.pk)
    ).first()


def link_find(*, system: str, external_type: str, external_id: str) -> ExternalLink | None:
    return ExternalLink.objects.filter(
        system=system, external_type=external_type, external_id=str(external_id)
    ).first()


def link_set(
    *,
    system: str,
    obj: models.Model,
    external_type: str,
    external_id: str,
    pushed_hash: str | None = None,
    remote_updated_at: datetime.datetime | None = None,
) -> ExternalLink:
    """Create or update the link of ``obj`` in ``system`` (call inside a transaction)."""
    content_type = ContentType.objects.get_for_model(obj)
    defaults: dict = {"external_type": external_type, "external_id": str(external_id)}
    if pushed_hash is not None:
        defaults["last_pushed_hash"] = pushed_hash
    if remote_updated_at is not None:
        defaults["remote_updated_at"] = remote_updated_at
    link, _created = ExternalLink.objects.update_or_create(
        system=system, content_type=content_type, object_id=str(obj.pk), defaults=defaults
    )
    return link
