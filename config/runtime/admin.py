from django import forms
from django.contrib import admin

from config import runtime
from config.runtime.models import RuntimeSetting


class RuntimeSettingForm(forms.ModelForm):
    class Meta:
        model = RuntimeSetting
        fields = ("key", "value")

    def clean(self):
        data = super().clean()
        error = runtime.validation_error(data.get("key", ""), data.get("value"))
        if error:
            raise forms.ValidationError(error)
        return data


@admin.register(RuntimeSetting)
class RuntimeSettingAdmin(admin.ModelAdmin):
    form = RuntimeSettingForm
    list_display = ("key", "value", "updated_at")
    search_fields = ("key",)
