import signal
import time

import pytest
from django.core.management import call_command

from accounts.models import User
from config.runtime.models import RuntimeSetting
from models_registry.models import Connection
from tests.server import LiveServer


def test_bootstrap_creates_the_first_admin_once(settings):
    settings.WEBUI_ADMIN_EMAIL = "Root@Example.com"
    settings.WEBUI_ADMIN_PASSWORD = "bootstrap pass"
    call_command("bootstrap")
    call_command("bootstrap")
    admin = User.objects.get()
    assert (admin.email, admin.role, admin.name) == ("root@example.com", "admin", "Admin")
    assert admin.check_password("bootstrap pass")
    assert RuntimeSetting.objects.get(key="ENABLE_SIGNUP").value is False


def test_bootstrap_does_nothing_when_users_exist(settings):
    User.objects.create_user("someone@example.com", "pw", name="Someone", role="user")
    settings.WEBUI_ADMIN_EMAIL = "root@example.com"
    settings.WEBUI_ADMIN_PASSWORD = "bootstrap pass"
    call_command("bootstrap")
    assert User.objects.count() == 1


def test_health_db_is_503_when_the_database_is_down(tmp_path):
    from tests.server import free_port

    server = LiveServer(
        database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nothing",
        data_dir=tmp_path,
        env={"DB_POOL_TIMEOUT": "1"},
    )
    try:
        import httpx

        assert httpx.get(f"{server.url}/health").json() == {"status": True}
        response = httpx.get(f"{server.url}/health/db", timeout=15)
        assert response.status_code == 503
        assert response.json()["detail"].startswith("Database not ready")
    finally:
        server.stop()


def test_the_serve_command_migrates_bootstraps_and_serves(database_url, tmp_path):
    """What the README's first command runs after installing (system checks included)."""
    import subprocess
    import sys
    import time

    import httpx

    from tests.server import ROOT, TEST_SECRET, free_port

    port = free_port()
    env = {**__import__("os").environ, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path),
           "WEBUI_SECRET_KEY": TEST_SECRET, "PORT": str(port), "OLLAMA_BASE_URL": "http://127.0.0.1:9"}
    proc = subprocess.Popen([sys.executable, "manage.py", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.2)
        login = httpx.get(f"http://127.0.0.1:{port}/admin/login/")
        if login.status_code != 200:
            proc.terminate()
            raise AssertionError(proc.stdout.read().decode()[-3000:])
    finally:
        proc.terminate()
        proc.wait(10)
    assert list(Connection.objects.values_list("base_url", flat=True)) == ["http://127.0.0.1:9"]


def _serve(database_url, tmp_path):
    import os
    import subprocess
    import sys

    import httpx

    from tests.server import ROOT, TEST_SECRET, free_port

    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(tmp_path), "WEBUI_SECRET_KEY": TEST_SECRET,
           "PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "manage.py", "serve"], cwd=ROOT, env=env,
                            stdout=(tmp_path / "serve.log").open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
    proc.kill()
    raise AssertionError((tmp_path / "serve.log").read_text())


def _worker_of(proc):
    import psutil

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        workers = [c for c in psutil.Process(proc.pid).children() if "worker" in c.cmdline()]
        if workers:
            return workers[0]
        time.sleep(0.1)
    raise AssertionError("serve started no worker")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_its_worker_on_a_signal(database_url, tmp_path, sig):
    proc = _serve(database_url, tmp_path)
    worker = _worker_of(proc)
    proc.send_signal(sig)
    assert proc.wait(30) != 0 or sig == signal.SIGINT
    worker.wait(10)  # raises psutil.TimeoutExpired if it outlived serve
    assert not worker.is_running()


def test_a_killed_serve_takes_its_worker_along(database_url, tmp_path):
    proc = _serve(database_url, tmp_path)
    worker = _worker_of(proc)
    proc.kill()
    proc.wait(10)
    worker.wait(10)
    assert not worker.is_running()


def test_serve_starts_another_worker_when_one_dies(database_url, tmp_path):
    proc = _serve(database_url, tmp_path)
    try:
        first = _worker_of(proc)
        first.kill()
        first.wait(10)
        deadline = time.monotonic() + 20
        while (second := _worker_of(proc)).pid == first.pid and time.monotonic() < deadline:
            time.sleep(0.2)
        assert second.pid != first.pid and second.is_running()
    finally:
        proc.terminate()
        proc.wait(30)
