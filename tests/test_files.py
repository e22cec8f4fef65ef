import json
import time
from datetime import timedelta

from django.contrib.postgres.search import SearchQuery
from django.utils import timezone

from files.models import Chunk, File
from tests.conftest import bearer
from tests.helpers import upload, wait_done


def test_upload_is_processed_in_the_background(api, user):
    text = "MARKER-ALPHA " + "lorem ipsum dolor sit amet " * 100
    response = upload(api, user["token"], data=text.encode())
    body = response.json()
    assert response.status_code == 200 and body["status"] is True
    assert body["data"] == {"status": "pending"} and body["meta"]["size"] == len(text)
    assert wait_done(api, user["token"], body["id"]) == "completed"
    record = api.get(f"/api/v1/files/{body['id']}", headers=bearer(user["token"])).json()
    assert record["data"]["content"] == text and record["hash"]
    chunks = list(Chunk.objects.filter(file_id=body["id"]).order_by("position"))
    assert len(chunks) > 1 and chunks[0].text.startswith("MARKER-ALPHA")
    assert chunks[1].metadata["start_index"] > 0 and chunks[0].metadata["file_id"] == body["id"]
    assert Chunk.objects.filter(search=SearchQuery("marker-alpha", config="simple")).count() == 1


def test_html_csv_json_are_extracted(api, user):
    cases = [
        ("page.html", b"<html><script>var x=1</script><p>Visible MARKER</p></html>", "text/html", "Visible MARKER"),
        ("rows.csv", b"name,city\nAda,London\n", "text/csv", "name: Ada\ncity: London"),
        ("data.json", b'{"k": "MARKER"}', "application/json", '"k": "MARKER"'),
        ("latin.txt", ("Le café crème est très apprécié à Paris, où l'on déguste des éclairs. " * 3).encode("latin-1"),
         "text/plain", "café crème est très apprécié"),
    ]
    ids = [(upload(api, user["token"], name, data, ctype).json()["id"], expected) for name, data, ctype, expected in cases]
    for file_id, expected in ids:
        assert wait_done(api, user["token"], file_id) == "completed"
        content = api.get(f"/api/v1/files/{file_id}/data/content", headers=bearer(user["token"])).json()["content"]
        assert expected in content and "var x" not in content


def test_unsupported_files_fail_with_a_readable_error_and_stay_listed(api, user):
    png = upload(api, user["token"], "pic.png", b"\x89PNG\r\n\x1a\n\x00\x00", "image/png").json()
    empty = upload(api, user["token"], "empty.txt", b"   ", "text/plain").json()
    assert wait_done(api, user["token"], png["id"]) == "failed"
    assert wait_done(api, user["token"], empty["id"]) == "failed"
    record = api.get(f"/api/v1/files/{png['id']}", headers=bearer(user["token"])).json()
    assert record["data"]["error"] == "File type image/png is not supported for processing"
    assert api.get("/api/v1/files/", headers=bearer(user["token"])).json()["total"] == 2


def test_process_false_stores_without_processing(api, user):
    body = upload(api, user["token"], process="false").json()
    assert body["data"] == {} and "status" not in body
    time.sleep(0.5)
    assert File.objects.get(id=body["id"]).status == ""


def test_content_download_and_names_are_sanitised(api, user):
    body = upload(api, user["token"], name="../../etc/pass wd.md", data=b"# Title", content_type="text/markdown").json()
    assert body["filename"] == "pass wd.md"
    assert "/" not in body["path"] and ".." not in body["path"]
    response = api.get(f"/api/v1/files/{body['id']}/content", headers=bearer(user["token"]))
    assert response.content == b"# Title"
    assert response.headers["content-disposition"].startswith("attachment")


def test_users_cannot_see_each_others_files(api, make_user):
    alice, bob = make_user("Alice"), make_user("Bob")
    body = upload(api, alice["token"]).json()
    for path in ("", "/content", "/data/content", "/process/status"):
        response = api.get(f"/api/v1/files/{body['id']}{path}", headers=bearer(bob["token"]))
        assert response.status_code == 404
        assert response.json() == {"detail": "We could not find what you're looking for :/"}
    assert api.delete(f"/api/v1/files/{body['id']}", headers=bearer(bob["token"])).status_code == 404
    assert api.get("/api/v1/files/", headers=bearer(bob["token"])).json() == {"items": [], "total": 0}
    assert File.objects.filter(id=body["id"]).exists()


def test_delete_removes_row_chunks_and_bytes(api, gateway, user):
    body = upload(api, user["token"]).json()
    wait_done(api, user["token"], body["id"])
    stored = gateway.data_dir / "uploads" / File.objects.get(id=body["id"]).storage_name
    assert stored.read_bytes() == b"hello world"
    assert api.delete(f"/api/v1/files/{body['id']}", headers=bearer(user["token"])).json() == {"message": "File deleted successfully"}
    assert not File.objects.filter(id=body["id"]).exists() and not Chunk.objects.filter(file_id=body["id"]).exists()
    assert not stored.exists()


def test_bad_uploads(api, user):
    assert api.post("/api/v1/files/", files={"other": ("a", b"x")}, headers=bearer(user["token"])).status_code == 422
    response = api.post("/api/v1/files/", files={"file": ("a.txt", b"x")}, data={"metadata": "{bad"}, headers=bearer(user["token"]))
    assert response.status_code == 400
    assert File.objects.count() == 0
    assert api.post("/api/v1/files/", files={"file": ("a.txt", b"x")}).status_code == 401


def test_office_and_pdf_documents_are_extracted(api, user):
    from tests import documents

    cases = [
        ("report.pdf", documents.pdf("MARKER-PDF quarterly report"), "application/pdf", "MARKER-PDF"),
        ("memo.docx", documents.docx("MARKER-DOCX memo"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "cell-a | cell-b"),
        ("sheet.xlsx", documents.xlsx("MARKER-XLSX"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "MARKER-XLSX\t42"),
        ("deck.pptx", documents.pptx("MARKER-PPTX title"), "application/vnd.openxmlformats-officedocument.presentationml.presentation", "MARKER-PPTX"),
    ]
    ids = [(upload(api, user["token"], n, d, c).json()["id"], expected) for n, d, c, expected in cases]
    for file_id, expected in ids:
        assert wait_done(api, user["token"], file_id) == "completed", file_id
        assert expected in api.get(f"/api/v1/files/{file_id}/data/content", headers=bearer(user["token"])).json()["content"]


def test_corrupt_documents_and_decompression_bombs_fail_cleanly(api, user):
    from tests import documents

    bomb = upload(api, user["token"], "bomb.docx", documents.zip_bomb(), "application/octet-stream").json()
    broken = upload(api, user["token"], "broken.pdf", b"%PDF-1.4 nonsense", "application/pdf").json()
    assert wait_done(api, user["token"], bomb["id"]) == "failed"
    assert wait_done(api, user["token"], broken["id"]) == "failed"
    errors = [api.get(f"/api/v1/files/{f['id']}", headers=bearer(user["token"])).json()["data"]["error"] for f in (bomb, broken)]
    assert "refusing" in errors[0] and errors[1]
    later = upload(api, user["token"], data=b"still working").json()
    assert wait_done(api, user["token"], later["id"]) == "completed"

def _kill_the_worker_mid_file(api, gateway, user, marker: str) -> dict:
    """Upload ~14 MB (several seconds of work) and kill -9 the worker once it is processing it."""
    import signal

    text = (f"{marker} " + "word " * 40_000 + "\n\n") * 60
    body = upload(api, user["token"], name="big.txt", data=text.encode()).json()
    deadline = time.monotonic() + 20
    while File.objects.get(id=body["id"]).status != "processing":
        assert time.monotonic() < deadline, "processing never started"
        time.sleep(0.02)
    gateway.worker.send_signal(signal.SIGKILL)
    gateway.worker.wait(5)
    return body


def test_a_worker_killed_mid_file_loses_nothing(api, gateway, user):
    """kill -9 the worker while it processes a large file; a new worker finishes the file."""

    body = _kill_the_worker_mid_file(api, gateway, user, "MARKER-SURVIVOR")
    assert File.objects.get(id=body["id"]).status == "processing"  # the dead worker left it mid-way
    gateway.worker = gateway.start_worker()
    assert wait_done(api, user["token"], body["id"], timeout=60) == "completed"
    assert Chunk.objects.filter(file_id=body["id"]).count() == len(set(Chunk.objects.filter(
        file_id=body["id"]).values_list("position", flat=True)))


def test_status_can_be_streamed_until_done(api, user):
    body = upload(api, user["token"], data=b"streamed status").json()
    with api.stream("GET", f"/api/v1/files/{body['id']}/process/status?stream=true", headers=bearer(user["token"])) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == {"status": "completed"}


def test_content_update_reindexes_now(api, user):
    body = upload(api, user["token"], data=b"old text").json()
    wait_done(api, user["token"], body["id"])
    response = api.post(f"/api/v1/files/{body['id']}/data/content/update", json={"content": "new MARKER-NEW text"},
                        headers=bearer(user["token"]))
    assert response.json() == {"content": "new MARKER-NEW text"}
    assert [c.text for c in Chunk.objects.filter(file_id=body["id"])] == ["new MARKER-NEW text"]
    assert api.post(f"/api/v1/files/{body['id']}/data/content/update", json={"content": "  "},
                    headers=bearer(user["token"])).status_code == 400
    assert File.objects.get(id=body["id"]).content == "new MARKER-NEW text"


def _many_files(owner_id, count, size):
    """`count` completed files of `size` characters of extracted text each, straight into the database."""
    import random

    rng = random.Random(3)
    words = ["refund", "policy", "parking", "lunch", "invoice", "contract", "server", "garden", "window", "ticket"]
    files = []
    for i in range(count):
        text = f"MARKER-{i:03d} " + " ".join(rng.choice(words) for _ in range(size // 6))
        files.append(File(user_id=owner_id, filename=f"f{i:03d}.txt", storage_name=f"f{i:03d}.txt", content_type="text/plain",
                          size=len(text), file_hash="0" * 64, status="completed", content=text[:size]))
    File.objects.bulk_create(files, batch_size=10)
    return files


def test_file_list_memory_stays_bounded(api, gateway, user):
    """20 concurrent list requests over 100 files of 300 KB of text: the server keeps under 300 MB,
    whether the page carries the text (streamed) or not (never read from the database)."""
    import threading

    import httpx
    import psutil

    files = _many_files(user["id"], 100, 300_000)
    server = psutil.Process(gateway.proc.pid)
    peak, sampling = [server.memory_info().rss], threading.Event()

    def sample():
        while not sampling.is_set():
            peak.append(server.memory_info().rss)
            time.sleep(0.01)

    def fetch(params, out):
        with httpx.Client(base_url=gateway.url, timeout=120) as client:
            response = client.get("/api/v1/files/", params=params, headers=bearer(user["token"]))
            out.append((response.status_code, response.json() if response.status_code == 200 else response.text))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        for params in ({"content": "false"}, {}, {"page": 2}):
            results = []
            threads = [threading.Thread(target=fetch, args=(params, results)) for _ in range(20)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert len(results) == 20 and all(status == 200 for status, _ in results), results[:1]
            body = results[0][1]
            assert body["total"] == 100 and len(body["items"]) == 50
            if params.get("content") == "false":
                assert all("content" not in item["data"] for item in body["items"])
            else:
                by_name = {f.filename: f.content for f in files}
                assert all(item["data"]["content"] == by_name[item["filename"]] for item in body["items"])
    finally:
        sampling.set()
        sampler.join()
    assert max(peak) < 300 * 1024 * 1024, f"server RSS peaked at {max(peak) / 2**20:.0f} MB"


def test_large_text_is_streamed_whole_and_exact(api, user):
    """Text longer than a slice, with quotes, escapes and characters outside the BMP across slice borders."""
    from files.streaming import SLICE

    text = ('é "q" \\ \n\t \u2028 😀 ' * (SLICE // 7))[: 2 * SLICE + 5]
    file = File.objects.create(user_id=user["id"], filename="big.txt", storage_name="big.txt", file_hash="0" * 64,
                               status="completed", content=text)
    assert api.get(f"/api/v1/files/{file.id}/data/content", headers=bearer(user["token"])).json() == {"content": text}
    detail = api.get(f"/api/v1/files/{file.id}", headers=bearer(user["token"]))
    assert detail.headers["content-type"] == "application/json" and detail.json()["data"]["content"] == text
    assert api.get("/api/v1/files/", headers=bearer(user["token"])).json()["items"][0]["data"]["content"] == text


def _jobs(file_id) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT status FROM procrastinate_jobs WHERE task_name = 'files.tasks.process_file' "
                       "AND args->>'file_id' = %s ORDER BY id", [str(file_id)])
        return [row[0] for row in cursor.fetchall()]


def test_a_failed_attempt_is_retried_even_while_another_job_for_the_file_waits(api, gateway, user):
    """The first attempt fails (a trigger refuses its chunks once, after a second) while a second job
    for the file waits: Procrastinate's own retry collided with that job's queueing lock and left the
    first job `doing` for ever (procrastinate#1446); now the waiting job does the work."""
    from django.db import connection

    from files import services

    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE SEQUENCE test_fail_once;
            CREATE FUNCTION test_fail_once() RETURNS trigger AS $$ BEGIN
                IF NEW.text LIKE '%MARKER-FAIL%' AND nextval('test_fail_once') = 1 THEN
                    PERFORM pg_sleep(1);
                    RAISE EXCEPTION 'injected failure';
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_fail_once BEFORE INSERT ON files_chunk FOR EACH ROW EXECUTE FUNCTION test_fail_once();""")
    try:
        body = upload(api, user["token"], data=b"MARKER-FAIL once, then fine").json()
        deadline = time.monotonic() + 20
        while _jobs(body["id"]) != ["doing"]:
            assert time.monotonic() < deadline, _jobs(body["id"])
            time.sleep(0.02)
        assert services.queue(body["id"], delay=4) is True  # waits while the first attempt fails
        assert services.queue(body["id"]) is False  # one waiting job a file
        assert wait_done(api, user["token"], body["id"], timeout=30) == "completed"
        deadline = time.monotonic() + 10
        while "doing" in _jobs(body["id"]) or "todo" in _jobs(body["id"]):
            assert time.monotonic() < deadline, _jobs(body["id"])
            time.sleep(0.1)
        assert _jobs(body["id"]) == ["failed", "succeeded"]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_fail_once ON files_chunk; DROP FUNCTION test_fail_once(); "
                           "DROP SEQUENCE test_fail_once")


def test_a_stalled_job_gives_way_to_a_waiting_one_for_the_same_file(api, gateway, user):
    """A worker dies mid-file while another job for the file waits: recovery cannot put the dead job back
    in the queue beside it (the queueing lock), so it ends the dead one and the waiting one does the work."""

    from files import services

    body = _kill_the_worker_mid_file(api, gateway, user, "MARKER-STALLED")
    # still waiting when recovery finds the dead job (a new worker's start-up and a recovery round can
    # take several seconds on a loaded machine)
    assert services.queue(body["id"], delay=12) is True
    gateway.worker = gateway.start_worker()
    deadline = time.monotonic() + 12
    while _jobs(body["id"]) != ["aborted", "todo"]:
        assert time.monotonic() < deadline, _jobs(body["id"])
        time.sleep(0.1)
    assert wait_done(api, user["token"], body["id"], timeout=60) == "completed"


def test_a_file_that_fails_every_attempt_ends_failed_not_processing(api, gateway, user):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE FUNCTION test_fail_always() RETURNS trigger AS $$ BEGIN
                IF NEW.text LIKE '%MARKER-ALWAYS%' THEN RAISE EXCEPTION 'injected failure'; END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_fail_always BEFORE INSERT ON files_chunk FOR EACH ROW EXECUTE FUNCTION test_fail_always();""")
    try:
        body = upload(api, user["token"], data=b"MARKER-ALWAYS fails").json()
        assert wait_done(api, user["token"], body["id"], timeout=30) == "failed"
        error = api.get(f"/api/v1/files/{body['id']}", headers=bearer(user["token"])).json()["data"]["error"]
        assert error.startswith("Processing failed after 3 attempts") and "injected failure" in error
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_fail_always ON files_chunk; DROP FUNCTION test_fail_always();")


def test_a_file_left_processing_with_no_job_is_queued_again(api, user):
    """A job that failed while the database was away could not queue its retry and was recorded as
    failed once it was back (tests/test_database_faults.py): the file must not say `processing` for ever."""
    body = upload(api, user["token"], data=b"orphaned MARKER-ORPHAN text").json()
    assert wait_done(api, user["token"], body["id"]) == "completed"
    Chunk.objects.filter(file_id=body["id"]).delete()
    File.objects.filter(id=body["id"]).update(status="processing", processing_started_at=timezone.now() - timedelta(minutes=1))
    assert wait_done(api, user["token"], body["id"]) == "completed"  # no job existed: the recovery queued one
    assert [c.text for c in Chunk.objects.filter(file_id=body["id"])] == ["orphaned MARKER-ORPHAN text"]
