"""Querysets whose writes that skip `save()` (`update`, `bulk_create`,
`bulk_update`) announce themselves first, as `save()` does with `pre_save`:
`pre_queryset_write` is sent with the model and the database. The public
read path's directory version (meetings/directory_version.py) is bumped on
either, so a bulk write is read at once like any other."""

from __future__ import annotations

from django.db import models, router
from django.dispatch import Signal

# Sent before a queryset write that skips save(): sender is the model, `using` the database.
pre_queryset_write = Signal()


class AnnouncedWritesQuerySet(models.QuerySet):
    def _announce(self) -> None:
        pre_queryset_write.send(sender=self.model, using=router.db_for_write(self.model))

    def update(self, **kwargs) -> int:
        self._announce()
        return super().update(**kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        if objs:
            self._announce()
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        objs = list(objs)
        if objs:
            self._announce()
        return super().bulk_update(objs, fields, *args, **kwargs)
