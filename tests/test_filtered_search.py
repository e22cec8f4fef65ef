"""DECISIONS #9: a filtered search returns k results whenever k exist, even when the filter keeps
1% of the rows (Open WebUI's pgvector store can silently lose them)."""

import random

from accounts.models import User
from files.models import Chunk, File
from knowledge import retrieval


def _file(user, name):
    return File.objects.create(user=user, filename=name, storage_name=name, file_hash="0" * 64, status="completed")


def test_selective_filter_still_returns_k_nearest(settings):
    user = User.objects.create_user("bulk@example.com", "pw", name="Bulk", role="user")
    big, small = _file(user, "big.txt"), _file(user, "small.txt")
    rng = random.Random(7)

    def rows(file, count):
        return [Chunk(file=file, position=i, text=f"chunk {i}", metadata={"file_id": str(file.id)},
                      embedding=[rng.random() for _ in range(16)], embedding_model="m", dimensions=16)
                for i in range(count)]

    Chunk.objects.bulk_create(rows(big, 19_800), batch_size=2000)
    Chunk.objects.bulk_create(rows(small, 200), batch_size=2000)
    query = [rng.random() for _ in range(16)]
    hits = retrieval.vector_search([str(small.id)], query, "m", 10)
    assert len(hits) == 10
    assert {h.metadata["file_id"] for h in hits} == {str(small.id)}
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    # and they are the true nearest of that file: compare with an exhaustive computation
    import math

    def cos(a, b):
        return sum(x * y for x, y in zip(a, b)) / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))

    exact = sorted(((1 + cos(list(c.embedding), query)) / 2 for c in Chunk.objects.filter(file=small)), reverse=True)[:10]
    assert [round(s, 6) for s in scores] == [round(s, 6) for s in exact]
