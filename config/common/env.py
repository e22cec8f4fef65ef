"""Typed readers for environment variables (every one is documented in the README)."""

import os


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int | None) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


def env_list(name: str, default: str = "", sep: str = ";") -> list[str]:
    """Split a separated list, dropping blanks (Open WebUI's `A;B` form for connection lists)."""
    raw = os.environ.get(name, default)
    return [part.strip() for part in raw.split(sep) if part.strip()]
