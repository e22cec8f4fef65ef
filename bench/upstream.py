"""A fast local OpenAI/Ollama upstream for the benchmark (the tests' fake, standalone).

    python -m bench.upstream KIND PORT TOKEN_DELAY TOKENS [EMBEDDING_DIMENSIONS [MODEL]]

Its embeddings come from a table of pre-serialised unit vectors around 64 random centres (one chosen
per text by a hash), with real embeddings' float precision: it answers as a fast embedding server would, so an
ingestion figure measures the gateway (or Open WebUI), not the Python fake computing and encoding
vectors (the tests' bag-of-words vectors cost more CPU than either side's own work)."""

import json
import random
import sys
import zlib

from tests.upstreams import FakeUpstream

TABLE = 4096  # distinct vectors
CLUSTERS = 64  # topics they are near


class BenchUpstream(FakeUpstream):
    def vector_table(self) -> list[bytes]:
        if getattr(self, "_table", None) is None:
            rng, dims = random.Random(self.embedding_dims), self.embedding_dims
            centres = [[rng.gauss(0, 1 / dims ** 0.5) for _ in range(dims)] for _ in range(CLUSTERS)]
            self._table = []
            for i in range(TABLE):  # clustered, as real embeddings are (uniform random ones defeat any index)
                v = [c + rng.gauss(0, 0.75 / dims ** 0.5) for c in centres[i % CLUSTERS]]
                norm = sum(x * x for x in v) ** 0.5
                self._table.append(json.dumps([x / norm for x in v]).encode())
        return self._table

    def vectors(self, texts: list[str]) -> bytes:
        table = self.vector_table()
        return b"[" + b",".join(table[zlib.crc32(t.encode()) % TABLE] for t in texts) + b"]"

    async def _raw_json(self, send, body: bytes):
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def _ollama_api_embed(self, send, data):
        inputs = data.get("input")
        inputs = [inputs] if isinstance(inputs, str) else inputs
        tokens = sum(len(t.split()) for t in inputs)
        await self._raw_json(send, b'{"model": ' + json.dumps(data.get("model")).encode() + b', "embeddings": '
                             + self.vectors(inputs) + b', "prompt_eval_count": ' + str(tokens).encode() + b"}")


if __name__ == "__main__":
    kind, port, token_delay, tokens = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    upstream = BenchUpstream(kind, models=[sys.argv[6] if len(sys.argv) > 6 else "bench-model"])
    upstream.port, upstream.token_delay, upstream.tokens, upstream.reply = port, token_delay, tokens or None, "ok"
    if len(sys.argv) > 5:
        upstream.embedding_dims = int(sys.argv[5])
        upstream.vector_table()  # before it answers: the table takes a moment to build
    import uvicorn

    upstream._server = uvicorn.Server(uvicorn.Config(upstream.app, host="127.0.0.1", port=port, log_level="critical",
                                                     lifespan="off", interface="asgi3", backlog=4096))
    class _NoRecord(list):  # keep memory flat under load
        def append(self, item):
            pass

    upstream.requests = _NoRecord()
    upstream._server.run()
