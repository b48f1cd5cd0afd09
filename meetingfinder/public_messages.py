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
- `PublicMessages`: mixed into a DRF field or serializer the public sends
  input to.
- `model_field_refusal(...)`: a model field's refusal of a value the public
  proposed for it (a correction's), reworded.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import npgettext_lazy, pgettext_lazy
from rest_framework import serializers

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

# DRF's fields and serializers, by class and code; parameters as DRF gives them ({}-style).
SERIALIZER_MESSAGES: dict[type, dict[str, str]] = {
    serializers.Field: {
        "required": REQUIRED,
        "null": pgettext_lazy("public", "This field may not be null."),
    },
    serializers.CharField: {
        "invalid": pgettext_lazy("public", "Not a valid string."),
        "blank": pgettext_lazy("public", "This field may not be blank."),
        "max_length": pgettext_lazy("public", "Ensure this field has no more than {max_length} characters."),
        "min_length": pgettext_lazy("public", "Ensure this field has at least {min_length} characters."),
    },
    serializers.SlugField: {
        "invalid": pgettext_lazy("public", 'Enter a valid "slug" consisting of letters, numbers, underscores or '
                                           'hyphens.'),
        "invalid_unicode": pgettext_lazy("public", 'Enter a valid "slug" consisting of Unicode letters, numbers, '
                                                   'underscores, or hyphens.'),
    },
    serializers.DictField: {
        "not_a_dict": pgettext_lazy("public", 'Expected a dictionary of items but got type "{input_type}".'),
        "empty": pgettext_lazy("public", "This dictionary may not be empty."),
    },
    serializers.Serializer: {
        "invalid": pgettext_lazy("public", "Invalid data. Expected a dictionary, but got {datatype}."),
    },
}

# Django's model fields, checking a value the public proposes for one
# (meetings/change_requests.py): those of their messages that speak as "usted".
MODEL_FIELD_MESSAGES: dict[type, dict[str, str]] = {
    models.URLField: {"invalid": pgettext_lazy("public", "Enter a valid URL.")},
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


def model_field_refusal(field: models.Field, error: ValidationError) -> ValidationError:
    """`field`'s refusal of a value (`error`, from its `clean`) in the
    public's words (MODEL_FIELD_MESSAGES) where they have its code, as a form
    field words its validators' refusals."""
    words = messages_for(type(field), MODEL_FIELD_MESSAGES)
    return ValidationError([ValidationError(words.get(item.code, item.message), code=item.code, params=item.params)
                            for item in error.error_list])


# Mixed in, first, to a DRF field or serializer the public sends input to:
# it refuses in the public's words (SERIALIZER_MESSAGES), or in those its
# declaration gives (`error_messages=`). Given as it is made, when DRF words a
# field's length limit. No docstring: the OpenAPI schema would describe a
# serializer by it.
class PublicMessages:
    def __init__(self, *args, **kwargs) -> None:
        kwargs["error_messages"] = {**messages_for(type(self), SERIALIZER_MESSAGES),
                                    **(kwargs.get("error_messages") or {})}
        super().__init__(*args, **kwargs)
