"""Django discovers the app's models here; the runtime-settings and events features keep them in their packages."""

from config.events.models import Event, Webhook  # noqa: F401
from config.runtime.models import RuntimeSetting  # noqa: F401
