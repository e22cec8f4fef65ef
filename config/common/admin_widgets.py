"""Autocomplete fields that survive a crafted value: Django's widget queries the submitted id to
render it back, and an id that is not a UUID makes that query raise (a 500) instead of leaving the
form's own "select a valid choice" error to show."""

from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError


class SafeAutocompleteSelect(AutocompleteSelect):
    def optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        target = remote.model._meta.get_field(getattr(remote, "field_name", None) or remote.model._meta.pk.name)
        return super().optgroups(name, [v for v in value if _valid(target, v)], attr)


def _valid(field, value) -> bool:
    try:
        field.to_python(value)
    except ValidationError:
        return False
    return True


class SafeAutocomplete:
    """Mixin for ModelAdmins and inlines with `autocomplete_fields`."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        widget = getattr(formfield, "widget", None)
        inner = getattr(widget, "widget", widget)  # inside the admin's related-field wrapper
        if type(inner) is AutocompleteSelect:
            inner.__class__ = SafeAutocompleteSelect
        return formfield
