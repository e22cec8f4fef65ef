"""Input serializers for bodies that set runtime settings: each value is checked by its declaration
(config.runtime.DECLARED), strictly typed ("3" is not an integer), so no field coerces."""

from collections.abc import Iterable, Mapping

from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from config import runtime


class SettingField(serializers.JSONField):
    """A runtime setting's value; the setting is the field's source (its name, unless `source=`)."""

    def __init__(self, *, blank_is_null: bool = False, **kwargs):
        self.blank_is_null = blank_is_null  # Open WebUI clears a number field by sending ""
        super().__init__(required=False, **kwargs)

    def run_validation(self, data=empty):
        if data is empty:
            return super().run_validation(data)  # not sent: skipped
        if data == "" and self.blank_is_null:
            data = None
        error = runtime.validation_error(self.source, data)
        if error:
            raise serializers.ValidationError(error)
        return data


class UnsupportedField(serializers.JSONField):
    """A setting of a feature this server lacks: accepted (and dropped) only at its off value."""

    def __init__(self, off, **kwargs):
        self.off = off
        super().__init__(required=False, allow_null=True, **kwargs)

    def run_validation(self, data=empty):
        if data is not empty and data != self.off and data not in ("", None):
            raise serializers.ValidationError(f"{self.field_name} is not supported by this server")
        raise SkipField


def settings_serializer(name: str, fields: Mapping[str, str] | Iterable[str],
                        **extra: serializers.Field) -> type[serializers.Serializer]:
    """A serializer of runtime settings (and `extra` fields): `fields` are setting names, or API names
    -> setting names. Its validated data is keyed by setting name, ready for `runtime.update`."""
    sources = fields if isinstance(fields, Mapping) else {key: key for key in fields}
    declared = {api: SettingField(source=key if key != api else None, blank_is_null=runtime.DECLARED[key].types[-1] is type(None))
                for api, key in sources.items()}
    return type(name, (serializers.Serializer,), {**declared, **extra})
