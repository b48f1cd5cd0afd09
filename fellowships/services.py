from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from fellowships.models import Fellowship, MeetingType
from fellowships.vocabularies import fellowship_entries


@transaction.atomic
def vocabularies_sync(*, fellowship_model=Fellowship, type_model=MeetingType) -> dict[str, Fellowship]:
    """Create or update every fellowship and its type vocabulary; idempotent.

    A data migration passes its historical models (`apps.get_model`), so the
    same table fills a freshly migrated database; only fields the first
    migration already has are written."""
    fellowships = {}
    for entry in fellowship_entries():
        values = {"name": entry.name, "website": entry.website, "default_open_closed": entry.default_open_closed}
        fellowship, created = fellowship_model.objects.get_or_create(slug=entry.slug, defaults=values)
        if not created and any(getattr(fellowship, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(fellowship, k, v)
            fellowship.save()
        existing = {t.code: t for t in type_model.objects.filter(fellowship=fellowship)}
        # Missing types are written in one statement: a database emptied by a
        # test's flush is given back its vocabularies (154 types) at every load.
        missing = []
        for t in entry.types:
            values = {"name": t.name, "kind": t.kind, "meaning": t.meaning, "language": t.language,
                      "translations": t.translations}
            current = existing.get(t.code)
            if current is None:
                missing.append(type_model(fellowship=fellowship, code=t.code, **values))
            elif any(getattr(current, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(current, k, v)
                current.save()
        type_model.objects.bulk_create(missing)
        fellowships[entry.slug] = fellowship
    return fellowships


def open_closed_for(*, fellowship: Fellowship, types: Iterable[MeetingType]) -> str:
    """The fellowship's rule: a closed code wins over an open one (feeds send
    both); with neither, the fellowship's default (often "not stated")."""
    meanings = {t.meaning for t in types}
    if MeetingType.Meaning.CLOSED in meanings:
        return "closed"
    if MeetingType.Meaning.OPEN in meanings:
        return "open"
    return fellowship.default_open_closed
