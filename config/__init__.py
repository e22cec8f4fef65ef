"""The project's wiring and what no app owns.

- Wiring: settings (settings.py, settings_test.py), the URLConf (urls.py), WebSocket routing
  (routing.py), the ASGI entry (asgi.py), the admin site and its dashboard, the site-level endpoints
  (views.py: health, readiness, version) and the operator commands (management/).
- The database bootstrap: the embedded server (embedded_db.py, db_backend/), the pgvector
  self-check (vector_check.py, startup.py) and readiness (readiness.py).
- common/: helpers every app may use and that import no app (errors, body parsing, middleware...).
- runtime/: the runtime-settings feature (the declared settings, their store and admin).
"""
