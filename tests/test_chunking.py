"""Markdown documents are cut at their headings before chunking (API.md §6.2 step 1): no chunk spans
two sections, each chunk carries its headings, offsets stay true, code fences are not headings."""

from files.models import Chunk
from tests.conftest import bearer
from tests.helpers import upload, wait_done

DOC = """# Handbook
Welcome to the company. {filler}

## Refunds
Refunds are processed within 14 days. MARKER-REFUND {filler}

```python
# not a heading: a comment in a code block
print("hello")
```

## Shipping
Parcels leave the warehouse daily. MARKER-SHIP {filler}

### Abroad
Customs may add a week. MARKER-ABROAD
"""
FILLER = "Lorem ipsum dolor sit amet. " * 8


def _chunks(api, token, name, content_type, text):
    body = upload(api, token, name=name, data=text.encode(), content_type=content_type).json()
    assert wait_done(api, token, body["id"]) == "completed"
    return list(Chunk.objects.filter(file_id=body["id"]).order_by("position"))


def test_markdown_is_split_at_headings_with_their_path(api, admin):
    api.post("/api/v1/retrieval/config/update", headers=bearer(admin["token"]), json={"CHUNK_SIZE": 200, "CHUNK_OVERLAP": 20})
    text = DOC.format(filler=FILLER)
    chunks = _chunks(api, admin["token"], "handbook.md", "text/markdown", text)
    for chunk in chunks:
        start = chunk.metadata["start_index"]
        assert text[start:start + len(chunk.text)] == chunk.text  # offsets point into the document
        assert sum(marker in chunk.text for marker in ("MARKER-REFUND", "MARKER-SHIP", "MARKER-ABROAD")) <= 1
        assert not ("## Refunds" in chunk.text and "## Shipping" in chunk.text)

    def headings(marker):
        chunk = next(c for c in chunks if marker in c.text)
        return {k: v for k, v in chunk.metadata.items() if k.startswith("Header")}

    assert headings("MARKER-REFUND") == {"Header 1": "Handbook", "Header 2": "Refunds"}
    assert headings("MARKER-SHIP") == {"Header 1": "Handbook", "Header 2": "Shipping"}
    assert headings("MARKER-ABROAD") == {"Header 1": "Handbook", "Header 2": "Shipping", "Header 3": "Abroad"}
    assert headings("print(") == {"Header 1": "Handbook", "Header 2": "Refunds"}  # the fence's '#' cut nothing


def test_plain_text_and_the_switch_keep_the_plain_splitter(api, admin):
    headers = bearer(admin["token"])
    api.post("/api/v1/retrieval/config/update", headers=headers, json={"CHUNK_SIZE": 200, "CHUNK_OVERLAP": 20})
    text = DOC.format(filler=FILLER)
    as_text = _chunks(api, admin["token"], "handbook.txt", "text/plain", text)
    assert not any(k.startswith("Header") for c in as_text for k in c.metadata)
    api.post("/api/v1/retrieval/config/update", headers=headers, json={"ENABLE_MARKDOWN_HEADER_TEXT_SPLITTER": False})
    switched_off = _chunks(api, admin["token"], "handbook.md", "text/markdown", text)
    assert [c.text for c in switched_off] == [c.text for c in as_text]
