"""A fast local OpenAI/Ollama upstream for the benchmark (the tests' fake, standalone).

    python -m bench.upstream KIND PORT TOKEN_DELAY TOKENS [EMBEDDING_DIMENSIONS [MODEL]]
"""

import sys

from tests.upstreams import FakeUpstream

if __name__ == "__main__":
    kind, port, token_delay, tokens = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    upstream = FakeUpstream(kind, models=[sys.argv[6] if len(sys.argv) > 6 else "bench-model"])
    upstream.port, upstream.token_delay, upstream.tokens, upstream.reply = port, token_delay, tokens or None, "ok"
    if len(sys.argv) > 5:
        upstream.embedding_dims = int(sys.argv[5])
    import uvicorn

    upstream._server = uvicorn.Server(uvicorn.Config(upstream.app, host="127.0.0.1", port=port, log_level="critical",
                                                     lifespan="off", interface="asgi3", backlog=4096))
    class _NoRecord(list):  # keep memory flat under load
        def append(self, item):
            pass

    upstream.requests = _NoRecord()
    upstream._server.run()
