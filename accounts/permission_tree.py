"""Open WebUI's permission tree (its config.py DEFAULT_USER_PERMISSIONS): what a non-admin may do,
as `section.key` booleans. Who gets which tree is `accounts.access.permissions`.

The effective tree of a user is the admin's default tree (runtime setting USER_PERMISSIONS, filled
in from `defaults()`), combined with the `permissions` of each of the user's groups: a group can
grant, never take away (most permissive wins), as in Open WebUI."""

from copy import deepcopy
from typing import Any

from django.conf import settings

# Open WebUI 0.12.4's defaults, by section. Some differ here: workspace.models/knowledge/prompts are
# seeded from USER_PERMISSIONS_WORKSPACE_*_ACCESS (settings), features.api_keys is on (DECISIONS #1).
_DEFAULTS: dict[str, dict[str, bool]] = {
    "workspace": {
        "models": False, "knowledge": False, "prompts": False, "tools": False, "skills": False,
        "models_import": False, "models_export": False, "models_hidden": False,
        "prompts_import": False, "prompts_export": False, "tools_import": False, "tools_export": False,
        "skills_import": False, "skills_export": False,
    },
    "sharing": {
        "models": False, "public_models": False, "knowledge": False, "public_knowledge": False,
        "prompts": False, "public_prompts": False, "tools": False, "public_tools": False,
        "skills": False, "public_skills": False, "notes": False, "public_notes": False,
        "folders": False, "public_chats": False, "open_chats": False, "public_calendars": False,
    },
    "access_grants": {"allow_users": True, "allow_groups": True},
    "chat": {
        "controls": True, "valves": True, "system_prompt": True, "params": True, "file_upload": True,
        "web_upload": True, "delete": True, "delete_message": True, "continue_response": True,
        "regenerate_response": True, "rate_response": True, "edit": True, "share": True, "export": True,
        "import": True, "stt": True, "tts": True, "call": True, "multiple_models": True, "temporary": True,
        "temporary_enforced": False,
    },
    "features": {
        "api_keys": True, "notes": True, "channels": True, "encrypted_channels": False, "folders": True,
        "direct_tool_servers": False, "web_search": True, "image_generation": True, "code_interpreter": True,
        "memories": True, "automations": False, "calendar": True, "webhooks": False,
    },
    "settings": {"interface": True},
}


def defaults() -> dict[str, dict[str, bool]]:
    """The tree before an admin saves one (GET /users/default/permissions/defaults)."""
    tree = deepcopy(_DEFAULTS)
    tree["workspace"]["models"] = bool(settings.USER_PERMISSIONS_WORKSPACE_MODELS_ACCESS)
    tree["workspace"]["knowledge"] = bool(settings.USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS)
    tree["workspace"]["prompts"] = bool(settings.USER_PERMISSIONS_WORKSPACE_PROMPTS_ACCESS)
    return tree


def is_tree(value: Any) -> bool:
    """A (partial) tree: sections of booleans."""
    return isinstance(value, dict) and all(
        isinstance(section, dict) and all(isinstance(flag, bool) for flag in section.values())
        for section in value.values()
    )


def clean(value: Any) -> dict[str, dict[str, bool]]:
    """`value` reduced to the known sections and keys (unknown ones are dropped, as Open WebUI's
    form models drop them); raises ValueError when it is not a tree."""
    if not is_tree(value):
        raise ValueError("permissions must be an object of sections, each an object of true/false values")
    known = _DEFAULTS
    return {section: {key: flag for key, flag in flags.items() if key in known[section]}
            for section, flags in value.items() if section in known}


def fill(tree: dict) -> dict[str, dict[str, bool]]:
    """`tree` with every missing section and key taken from `defaults()`."""
    full = defaults()
    for section, flags in (tree or {}).items():
        if section in full and isinstance(flags, dict):
            full[section].update({k: v for k, v in flags.items() if k in full[section] and isinstance(v, bool)})
    return full


def combine(tree: dict, grants: dict) -> dict:
    """`tree` with every flag `grants` sets to true turned on (a group grants, never denies)."""
    for section, flags in (grants or {}).items():
        if section in tree and isinstance(flags, dict):
            for key, flag in flags.items():
                if key in tree[section] and flag is True:
                    tree[section][key] = True
    return tree


def lookup(tree: dict, key: str) -> bool:
    """The flag at `section.key` (false when absent)."""
    section, _, name = key.partition(".")
    return bool((tree.get(section) or {}).get(name, False))
