"""A file being processed shows how far it is, and one big file never holds up small ones."""

import json
import time

from tests.conftest import bearer
from tests.helpers import upload, use_engine, wait_done

PARAGRAPH = "Refund rules and parking notes for the handbook, said once more. " * 20 + "\n\n"


def _status(api, token, file_id) -> dict:
    return api.get(f"/api/v1/files/{file_id}/process/status", headers=bearer(token)).json()


def test_a_processing_file_reports_chunks_done_of_total_and_time_left(api, user, ollama):
    use_engine(ollama, batch=4)
    ollama.latency = 0.25  # each embedding batch takes a while: the job lasts a few seconds
    body = upload(api, user["token"], name="big.txt", data=(PARAGRAPH * 120).encode()).json()
    seen = []
    deadline = time.monotonic() + 60
    while (status := _status(api, user["token"], body["id"]))["status"] != "completed":
        assert time.monotonic() < deadline and status["status"] != "failed", status
        if "progress" in status:
            seen.append(status["progress"])
        time.sleep(0.1)
    moving = [p for p in seen if 0 < p["done"] < p["total"]]
    assert len({p["done"] for p in moving}) >= 2, seen  # it moved while we watched
    first, last = moving[0], moving[-1]
    assert first["total"] == last["total"] >= 100 and first["done"] < last["done"]
    assert all(p["eta_seconds"] is not None and p["eta_seconds"] >= 0 for p in moving)
    assert all(0 < p["percent"] < 100 for p in moving)
    assert "progress" not in status  # only while processing


def test_the_status_stream_carries_progress_until_completed(api, user, ollama):
    use_engine(ollama, batch=4)
    ollama.latency = 0.25
    body = upload(api, user["token"], name="big.txt", data=(PARAGRAPH * 120).encode()).json()
    with api.stream("GET", f"/api/v1/files/{body['id']}/process/status?stream=true",
                    headers=bearer(user["token"]), timeout=60) as response:
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == {"status": "completed"}
    assert any(e["status"] == "processing" and 0 < e.get("progress", {}).get("done", 0) for e in events), events


def test_a_small_file_completes_while_a_big_one_is_still_processing(api, user, ollama):
    use_engine(ollama, batch=4)
    ollama.latency = 0.25
    big = upload(api, user["token"], name="big.txt", data=(PARAGRAPH * 200).encode()).json()
    deadline = time.monotonic() + 30
    while _status(api, user["token"], big["id"])["status"] != "processing":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    small = upload(api, user["token"], name="small.txt", data=b"A short note about refunds.").json()
    assert wait_done(api, user["token"], small["id"], timeout=30) == "completed"
    assert _status(api, user["token"], big["id"])["status"] == "processing"  # not behind it in the queue
    assert wait_done(api, user["token"], big["id"], timeout=90) == "completed"


def test_big_files_queued_ahead_never_take_the_slots_a_small_file_needs(api, user, ollama):
    """More big files than the worker runs jobs at once (`-c 4`), all queued before a small one: they
    wait in their own lane, one at a time, and the small file completes before any of them."""
    use_engine(ollama, batch=4)
    ollama.latency = 0.25
    bigs = [upload(api, user["token"], name=f"big{i}.txt", data=(PARAGRAPH * 100).encode()).json() for i in range(5)]
    deadline = time.monotonic() + 30
    while all(_status(api, user["token"], big["id"])["status"] == "pending" for big in bigs):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    small = upload(api, user["token"], name="small.txt", data=b"A short note about refunds.").json()
    assert wait_done(api, user["token"], small["id"], timeout=30) == "completed"
    statuses = [_status(api, user["token"], big["id"])["status"] for big in bigs]
    assert "completed" not in statuses and statuses.count("processing") == 1, statuses
    for big in bigs:  # the waiting ones need not be processed: their jobs find nothing to do
        if _status(api, user["token"], big["id"])["status"] == "pending":
            assert api.delete(f"/api/v1/files/{big['id']}", headers=bearer(user["token"])).status_code == 200
