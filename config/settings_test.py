"""Settings for the test suite: the production settings with a fast password hasher and the
suite's fixed secret. Selected by pytest (pyproject's DJANGO_SETTINGS_MODULE) and passed to the
servers and workers the tests start (tests/server.py), so a password hashed in the test process
verifies in a server and back. tests/test_auth.py proves the production settings hash with Argon2."""

from config.settings import *  # noqa: F403
from config.settings import PASSWORD_HASHERS as PRODUCTION_HASHERS
from config.settings import SIMPLE_JWT as PRODUCTION_JWT

# Argon2 costs ~50 ms a hash by design; the suite hashes hundreds of passwords. MD5 hashes new
# passwords, and the production hashers still verify any hash made with them.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PRODUCTION_HASHERS]

# The key the live servers sign sessions with (tests/server.py sets WEBUI_SECRET_KEY to it), so a
# session issued in the test process (tests/factories.py) is valid in a server.
TEST_SECRET = "test-secret-key-for-the-suite-only-0123456789"
SECRET_KEY = TEST_SECRET
SIMPLE_JWT = {**PRODUCTION_JWT, "SIGNING_KEY": SECRET_KEY}

# The suite reaches no network: no tokenizer to fetch for usage estimates (UTF-8 bytes / 3).
USAGE_ESTIMATE_ENCODING = ""
