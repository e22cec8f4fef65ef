"""Access grants (API.md §5.1) edited in the admin, for any shareable resource: everyone (read or
write), named readers and writers, and reader and writer groups."""

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple

from accounts import access, grants
from accounts.models import Group, User


class SharingForm(forms.ModelForm):
    kind = ""  # set by subclasses: access.MODEL, access.KNOWLEDGE

    everyone = forms.ChoiceField(required=False, label="Everyone", choices=[
        ("", "No access (private)"), ("read", "Can read"), ("write", "Can read and write")])
    readers = forms.ModelMultipleChoiceField(User.objects.order_by("email"), required=False,
                                             widget=FilteredSelectMultiple("readers", False))
    writers = forms.ModelMultipleChoiceField(User.objects.order_by("email"), required=False,
                                             widget=FilteredSelectMultiple("writers", False))
    reader_groups = forms.ModelMultipleChoiceField(Group.objects.order_by("name"), required=False,
                                                   widget=FilteredSelectMultiple("reader groups", False))
    writer_groups = forms.ModelMultipleChoiceField(Group.objects.order_by("name"), required=False,
                                                   widget=FilteredSelectMultiple("writer groups", False))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            current = grants.by_resource(self.kind, [self.instance.pk])[str(self.instance.pk)]
            held = {(g["principal_id"], g["permission"]) for g in current if g["principal_type"] == access.USER}
            held_by_groups = {(g["principal_id"], g["permission"]) for g in current if g["principal_type"] == access.GROUP}
            everyone = access.EVERYONE
            self.fields["everyone"].initial = ("write" if (everyone, access.WRITE) in held
                                               else "read" if (everyone, access.READ) in held else "")
            self.fields["readers"].initial = [p for p, perm in held if perm == access.READ and p != everyone]
            self.fields["writers"].initial = [p for p, perm in held if perm == access.WRITE and p != everyone]
            self.fields["reader_groups"].initial = [p for p, perm in held_by_groups if perm == access.READ]
            self.fields["writer_groups"].initial = [p for p, perm in held_by_groups if perm == access.WRITE]

    def save_grants(self, obj) -> None:
        data = self.cleaned_data
        wanted = []
        if data.get("everyone"):
            wanted.append({"principal_type": access.USER, "principal_id": access.EVERYONE, "permission": access.READ})
            if data["everyone"] == "write":
                wanted.append({"principal_type": access.USER, "principal_id": access.EVERYONE, "permission": access.WRITE})
        for permission, users, groups in ((access.READ, "readers", "reader_groups"),
                                          (access.WRITE, "writers", "writer_groups")):
            for user in data.get(users) or ():
                wanted.append({"principal_type": access.USER, "principal_id": str(user.pk), "permission": permission})
            for group in data.get(groups) or ():
                wanted.append({"principal_type": access.GROUP, "principal_id": str(group.pk), "permission": permission})
        grants.replace(self.kind, obj.pk, wanted)


SHARING_FIELDSET = ("Access", {"fields": ("everyone", "readers", "writers", "reader_groups", "writer_groups"),
                               "description": "Private to its owner (and admins) unless shared here."})
