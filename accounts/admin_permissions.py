"""The admin's page for the default permission tree (runtime USER_PERMISSIONS, as
/api/v1/users/default/permissions): one group of checkboxes per section."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from accounts import permission_tree, services
from config import runtime


class DefaultPermissionsForm(forms.Form):
    def __init__(self, *args, tree: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for section, flags in permission_tree.defaults().items():
            self.fields[section] = forms.MultipleChoiceField(
                required=False, label=section, widget=forms.CheckboxSelectMultiple,
                choices=[(key, key) for key in flags], initial=[k for k in flags if tree[section].get(k)])

    def tree(self) -> dict:
        return {section: {key: key in (self.cleaned_data.get(section) or ()) for key in flags}
                for section, flags in permission_tree.defaults().items()}


def default_permissions(request, admin_site):
    form = DefaultPermissionsForm(request.POST or None, tree=permission_tree.fill(runtime.get("USER_PERMISSIONS")))
    if request.method == "POST" and form.is_valid():
        services.set_default_permissions(tree=form.tree())
        messages.success(request, "Default permissions saved.")
        return redirect("admin:default_permissions")
    return TemplateResponse(request, "admin/default_permissions.html", {
        **admin_site.each_context(request), "title": "Default permissions", "form": form})
