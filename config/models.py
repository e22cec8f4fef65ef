"""Django discovers the app's models here; the runtime-settings feature keeps them in config.runtime."""

from config.runtime.models import RuntimeSetting  # noqa: F401
