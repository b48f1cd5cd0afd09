"""Migration operations of our own (Django's "Writing your own" operations).

`AlterFieldLabels` changes what only forms, the admin and messages read (a
field's verbose_name, help_text) on many fields of one model in one step.
Django's AlterField re-renders the model and each model related to it for
every field it alters: the 163 of meetings 0010 took about 4 of the 7 seconds
of a fresh `migrate`, which every test worker and every new database pays.
This one re-renders once per model. The database is altered exactly as
AlterField alters it (for a label: not at all), and `makemigrations --check`
proves that the state it leaves is the models' (`.ci/run`).
"""

from __future__ import annotations

from django.db import models
from django.db.migrations.operations.base import Operation


class AlterFieldLabels(Operation):
    """Alter the non-relational fields `fields` ((name, field) pairs) of `model_name`."""

    reversible = True

    def __init__(self, model_name: str, fields: list[tuple[str, models.Field]]):
        for name, field in fields:
            if field.is_relation:
                raise ValueError(f"{model_name}.{name} is a relation: alter it with AlterField")
        self.model_name = model_name
        self.fields = list(fields)

    def deconstruct(self):
        return self.__class__.__qualname__, [self.model_name, self.fields], {}

    @property
    def model_name_lower(self) -> str:
        return self.model_name.lower()

    def state_forwards(self, app_label, state):
        model_state = state.models[app_label, self.model_name_lower]
        for name, field in self.fields:
            model_state.fields[name] = field
        # Once for all the fields; not delayed: a field may be a foreign key's target.
        state.reload_model(app_label, self.model_name_lower, delay=False)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        to_model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, to_model):
            from_model = from_state.apps.get_model(app_label, self.model_name)
            for name, _ in self.fields:
                schema_editor.alter_field(from_model, from_model._meta.get_field(name), to_model._meta.get_field(name))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self.database_forwards(app_label, schema_editor, from_state, to_state)

    def references_model(self, name, app_label):
        return name.lower() == self.model_name_lower

    def references_field(self, model_name, name, app_label):
        return model_name.lower() == self.model_name_lower and any(name == altered for altered, _ in self.fields)

    def describe(self):
        return f"Alter the labels of {len(self.fields)} fields of {self.model_name}"

    @property
    def migration_name_fragment(self):
        return f"alter_{self.model_name_lower}_labels"
