from django.core.management import call_command

from accounts.models import User
from config.models import RuntimeSetting
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
