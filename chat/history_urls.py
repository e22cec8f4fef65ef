"""URLs of /api/v1/chats/* and /api/v1/folders/* (config/urls.py mounts them). Fixed paths come before
the `{id}` ones, as in Open WebUI's router; ids are matched as any text and looked up as UUIDs (an id
that is not one is an unknown id: 404, never 422)."""

from django.urls import path

from chat import folder_views as f
from chat import history_views as v

chats = [
    path("", v.chats_root),
    path("list", v.chat_list),
    path("read", v.mark_all_read),
    path("stats/usage", v.usage_stats),
    path("stats/export", v.stats_export),
    path("stats/export/<str:chat_id>", v.stats_export_one),
    path("list/user/<str:user_id>", v.user_chat_list),
    path("new", v.new),
    path("import", v.import_chats),
    path("config", v.chat_config),
    path("search", v.search),
    path("folder/<str:folder_id>", v.by_folder),
    path("folder/<str:folder_id>/list", v.by_folder_list),
    path("pinned", v.pinned),
    path("all", v.export_all),
    path("all/archived", v.all_archived),
    path("all/tags", v.all_tags),
    path("all/db", v.all_in_db),
    path("archived", v.archived),
    path("archived/count", v.archived_count),
    path("archive/all", v.archive_all),
    path("unarchive/all", v.unarchive_all),
    path("share/all", v.unshare_all),
    path("shared", v.shared_list),
    path("share/<str:share_id>", v.shared_chat),
    path("tags", v.by_tag),
    path("shared/<str:chat_id>/access/update", v.shared_access_update),
    path("shared/<str:chat_id>/access", v.shared_access),
    path("<str:chat_id>", v.chat_detail),
    path("<str:chat_id>/compact", v.compact),
    path("<str:chat_id>/params", v.params),
    path("<str:chat_id>/messages/<str:message_id>", v.message),
    path("<str:chat_id>/messages/<str:message_id>/event", v.message_event),
    path("<str:chat_id>/messages/<str:message_id>/resolve", v.resolve),
    path("<str:chat_id>/pinned", v.pinned_status),
    path("<str:chat_id>/pin", v.pin),
    path("<str:chat_id>/fork", v.fork),
    path("<str:chat_id>/clone", v.clone),
    path("<str:chat_id>/clone/shared", v.clone_shared),
    path("<str:chat_id>/archive", v.archive),
    path("<str:chat_id>/share", v.share),
    path("<str:chat_id>/unread", v.unread),
    path("<str:chat_id>/folder", v.move_to_folder),
    path("<str:chat_id>/tags", v.tags),
    path("<str:chat_id>/tags/all", v.tags_all),
]

folders = [
    path("", f.folders),
    path("shared", f.shared),
    path("<str:folder_id>", f.folder),
    path("<str:folder_id>/update", f.update),
    path("<str:folder_id>/update/parent", f.update_parent),
    path("<str:folder_id>/update/expanded", f.update_expanded),
    path("<str:folder_id>/access/update", f.update_access),
    path("<str:folder_id>/shared/chats", f.shared_chats),
    path("<str:folder_id>/read", f.mark_read),
]
