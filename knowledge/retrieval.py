"""Retrieval over files.Chunk, filtered to a set of files. Keyword search is Postgres full text
(the zero-set-up path, DECISIONS #17); vector and hybrid search come with the embedding engines."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F

from files.models import Chunk

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class Hit:
    text: str
    metadata: dict
    score: float


def _query(text: str) -> SearchQuery | None:
    """Any of the query's words (a question rarely has all its words in the answer)."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))[:64]
    if not words:
        return None
    return SearchQuery(" | ".join(words), config="simple", search_type="raw")


def keyword_search(file_ids, query: str, k: int | None = None) -> list[Hit]:
    tsquery = _query(query)
    if tsquery is None or not file_ids:
        return []
    rows = (
        Chunk.objects.filter(file_id__in=file_ids, search=tsquery)
        .annotate(rank=SearchRank(F("search"), tsquery, cover_density=True, normalization=32))
        .order_by("-rank", "position")
        .values_list("text", "metadata", "rank")[: k or settings.RAG_TOP_K]
    )
    return [Hit(text, metadata, float(rank)) for text, metadata, rank in rows]
