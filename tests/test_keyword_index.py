"""A big file's keyword-index entries wait in the GIN pending list while it is written and are merged
once, right after it says completed; keyword search finds them either way (files.keyword_index: the
live server's KEYWORD_INDEX_DEFER_MIN_ROWS is 100)."""

from django.db import connection

from files.models import Chunk
from tests.conftest import _wait_for_idle_ingestion, bearer
from tests.helpers import upload, wait_done


def _keyword_query(api, token, file_id, text):
    return api.post("/api/v1/retrieval/query/doc", headers=bearer(token),
                    json={"collection_name": f"file-{file_id}", "query": text, "k": 3}).json()["documents"][0]


def test_a_big_files_keyword_entries_are_searchable_and_merged_once_it_is_completed(api, admin):
    token = admin["token"]
    paragraph = "Warehouse hours and parking notes for the handbook, said once more. " * 20 + "\n\n"
    text = paragraph * 75 + "Refunds take fourteen days, says MARKERQUOKKA.\n\n" + paragraph * 75
    body = upload(api, token, name="big.txt", data=text.encode()).json()
    assert wait_done(api, token, body["id"], timeout=90) == "completed"
    assert Chunk.objects.filter(file_id=body["id"]).count() > 100  # a big load
    assert "MARKERQUOKKA" in _keyword_query(api, token, body["id"], "MARKERQUOKKA refunds")[0]
    _wait_for_idle_ingestion()  # the job merges after the file says completed
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list('chunk_search_gin')")
        assert cursor.fetchone()[0] == 0  # nothing left pending: merged by the job
    assert "MARKERQUOKKA" in _keyword_query(api, token, body["id"], "MARKERQUOKKA refunds")[0]
