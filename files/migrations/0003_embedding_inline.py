"""Vectors stored in the row (STORAGE MAIN), not out of line.

pgvector's type asks for EXTERNAL storage, so every vector over ~2 KB (512 dimensions and up) went to
the TOAST table, and an exact search over a file's chunks fetched each one there: at 768 dimensions,
1,000 chunks, p50 3.65 ms before, 1.52 ms after (bench/retrieval data, in-process). The row's
full-text vector (out of line already) and its text go there instead: the table keeps its size.
Rows written before keep their layout until re-indexed; a vector too big for a page (3,072
dimensions) still goes out of line."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("files", "0002_progress")]

    operations = [
        migrations.RunSQL("ALTER TABLE files_chunk ALTER COLUMN embedding SET STORAGE MAIN",
                          "ALTER TABLE files_chunk ALTER COLUMN embedding SET STORAGE EXTERNAL"),
    ]
