from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class GatewayAdminSite(admin.AdminSite):
    """The Django admin with a dashboard as its landing page."""

    index_title = "Operations"
    index_template = "admin/dashboard.html"

    def each_context(self, request):
        """The product name the chat page and `/api/config` show (`WEBUI_NAME`), here too."""
        from config import runtime

        name = runtime.get("WEBUI_NAME")
        return {**super().each_context(request), "site_header": name, "site_title": f"{name} admin"}

    def get_urls(self):
        from django.urls import path

        from accounts.admin_permissions import default_permissions
        from knowledge.admin_settings import retrieval_settings

        view = self.admin_view(lambda request: retrieval_settings(request, self))
        permissions = self.admin_view(lambda request: default_permissions(request, self))
        return [path("retrieval/", view, name="retrieval_settings"),
                path("permissions/", permissions, name="default_permissions"), *super().get_urls()]

    def index(self, request, extra_context=None):
        from config import dashboard  # this module is loaded with the app registry, before models

        return super().index(request, {**dashboard.summary(), **(extra_context or {})})


class GatewayAdminConfig(AdminConfig):
    """Named in INSTALLED_APPS in place of django.contrib.admin."""

    default_site = "config.admin_site.GatewayAdminSite"
