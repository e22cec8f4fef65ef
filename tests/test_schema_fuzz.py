"""Schema fuzzing: schemathesis generates requests for every operation in the live server's
/openapi.json (valid and invalid ones) and sends them as an admin; no answer may be a 5xx.

Bounded for the suite: FUZZ_EXAMPLES (default 2, over ~700 operations) per operation and mode, derandomized so every run
sends the same requests, no shrinking. The README has the bigger run for release checks. Nothing
leaves the machine: no upstream connection is configured here.

One test walks all operations (rather than `schema.parametrize()`, whose lazy form cannot load the
schema from a fixture's server under pytest 9) and reports every server error it saw at once."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup

from tests.conftest import bearer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
# Signing out would revoke the session every later case authenticates with (tests/test_auth.py covers it).
# /ollama/api/version answers 502 by design when no Ollama server answers (none is configured here;
# README, "Differences" 20; tests/test_proxies.py covers it).
# /ollama/verify and /openai/verify reach out to the URL they are sent (502 when it does not answer;
# tests/test_provider_passthrough.py covers them); model file downloads and uploads answer 501 by design.
EXCLUDED_PATHS = ["/api/v1/auths/signout", "/ollama/api/version", "/ollama/api/version/{url_idx}",
                  "/ollama/verify", "/openai/verify", "/ollama/models/download", "/ollama/models/download/{url_idx}",
                  "/ollama/models/upload", "/ollama/models/upload/{url_idx}"]


@pytest.mark.timeout(600)  # grows with the number of operations (every route is documented)
def test_no_operation_answers_a_server_error(gateway, admin):
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json", timeout=30).exclude(path=EXCLUDED_PATHS)
    headers = bearer(admin["token"])
    server_errors: list[str] = []
    operations = 0

    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=False,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def fuzz(case):
                try:
                    case.call_and_validate(base_url=gateway.url, headers=headers, checks=[not_a_server_error], timeout=30)
                except (Failure, FailureGroup) as failure:
                    server_errors.append(f"{case.method} {case.formatted_path}: {failure}\n  {case.as_curl_command()}")

            try:
                fuzz()
            except Unsatisfiable:  # nothing to make invalid: an operation without parameters or body
                assert mode == GenerationMode.NEGATIVE

    assert operations > 50  # the schema was read and walked
    assert not server_errors, "\n".join(server_errors)
