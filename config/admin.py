"""The runtime-settings admin lives with its feature (config.runtime)."""

from config.runtime import admin  # noqa: F401
