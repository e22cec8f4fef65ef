def test_health(api):
    assert api.get("/health").json() == {"status": True}


def test_health_db_pings_the_database(api):
    assert api.get("/health/db").json() == {"status": True}


def test_version(api):
    assert api.get("/api/version").json() == {"version": "0.12.4", "deployment_id": ""}
