"""What the public is told of its mistakes, wherever anyone may send input
(the meeting page's correction form, the API's change requests and list
filters): one set of messages, each under the code Django or DRF gives the
mistake. Their English is Django's and DRF's, what people and API clients
have always read; their Spanish speaks to the reader as "tú", as the public
pages do, where Django's and DRF's own speak as "usted" ("Introduzca...",
"Escoja...").

They are ours under the context "public": the same English without it in
our catalogue would change Django's Spanish everywhere, the admin's too,
which speaks to curators as "usted" and keeps Django's words.

- `PublicForm`: the base of a public Django form, and of a public
  FilterSet's form (`Meta.form`).
"""

from __future__ import annotations

from django import forms
from django.utils.translation import npgettext_lazy, pgettext_lazy

REQUIRED = pgettext_lazy("public", "This field is required.")

# Django's forms, by field class and code: the words of a class's own come
# before its bases'. Parameters as Django gives them (%-style); a form field
# words its validators' refusals by their code too (max_length).
FORM_MESSAGES: dict[type, dict[str, str]] = {
    forms.Field: {"required": REQUIRED},
    forms.CharField: {
        "max_length": npgettext_lazy(
            "public", "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
            "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).", "limit_value"),
        "null_characters_not_allowed": pgettext_lazy("public", "Null characters are not allowed."),
    },
    forms.ChoiceField: {
        "invalid_choice": pgettext_lazy("public", "Select a valid choice. %(value)s is not one of the available "
                                                  "choices."),
    },
    forms.ModelChoiceField: {
        "invalid_choice": pgettext_lazy("public", "Select a valid choice. That choice is not one of the available "
                                                  "choices."),
    },
}


def messages_for(field_class: type, table: dict[type, dict[str, str]]) -> dict[str, str]:
    """The table's messages for a field of `field_class`, by code: those of
    the nearest class in its ancestry that has words for a code."""
    messages: dict[str, str] = {}
    for cls in reversed(field_class.__mro__):
        messages.update(table.get(cls, {}))
    return messages


class PublicForm(forms.Form):
    """A form the public fills in: each field refuses in the public's words
    (FORM_MESSAGES) for every code they have, its validators' too."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # each form's own copies
            field.error_messages = {**field.error_messages, **messages_for(type(field), FORM_MESSAGES)}
