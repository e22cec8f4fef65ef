"""Reads of prompts, always scoped to the caller through accounts.access."""

from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from accounts import access
from chat.prompt_models import Prompt, PromptHistory

ORDERINGS = {"name", "created_at", "updated_at"}


def readable(user) -> QuerySet[Prompt]:
    return Prompt.objects.select_related("user").filter(access.visible(user, access.PROMPT))


def active(user) -> QuerySet[Prompt]:
    """GET /prompts/: the active prompts the caller may read, most recently changed first."""
    return readable(user).filter(is_active=True).order_by("-updated_at")


def tags(user) -> list[str]:
    """Every tag of the active prompts the caller may read, sorted."""
    found = set()
    for tag_list in Prompt.objects.filter(access.visible(user, access.PROMPT), is_active=True).values_list("tags", flat=True):
        found.update(t for t in tag_list or () if isinstance(t, str) and t)
    return sorted(found)


def search(user, *, query: str = "", view_option: str = "", tag: str = "", order_by: str = "", direction: str = "") -> QuerySet[Prompt]:
    """GET /prompts/list: Open WebUI's filters. `query` matches the name, command, content or the
    owner's name or email; `view_option` created|shared; `tag` one tag, any case."""
    qs = readable(user)
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(command__icontains=query) | Q(content__icontains=query)
                       | Q(user__name__icontains=query) | Q(user__email__icontains=query))
    if view_option == "created":
        qs = qs.filter(user_id=user.pk)
    elif view_option == "shared":
        qs = qs.exclude(user_id=user.pk)
    if tag:
        qs = qs.filter(RawSQL("EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof(chat_prompt.tags) = 'array' "
                              "THEN chat_prompt.tags ELSE '[]'::jsonb END) t WHERE lower(t) = %s)",
                              [tag.lower()], output_field=BooleanField()))
    field = order_by if order_by in ORDERINGS else "updated_at"
    return qs.order_by(field if direction == "asc" else f"-{field}", "-id")


def history(prompt: Prompt) -> QuerySet[PromptHistory]:
    return PromptHistory.objects.filter(prompt=prompt).select_related("user").order_by("-created_at", "-id")
