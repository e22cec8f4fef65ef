"""Full-text vectors stored in the row (STORAGE MAIN) beside the embeddings (0003), not out of line.

The keyword side reads each candidate's `search` two or three times (the tier filter, ts_rank): out of
line that was five buffer reads a row, a third of its time. At 100,000 chunks of 768 dimensions
(bench/retrieval data rewritten both ways, in-process): 8.0 -> 5.7 ms for a 1% scope, 12.5 -> 9.1 ms
for the whole table. The price is room: a 768-dimension row now fills its page (the table 1.14 ->
1.32 GB). Rows written before keep their layout until re-indexed."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("files", "0003_embedding_inline")]

    operations = [
        migrations.RunSQL("ALTER TABLE files_chunk ALTER COLUMN search SET STORAGE MAIN",
                          "ALTER TABLE files_chunk ALTER COLUMN search SET STORAGE EXTENDED"),
    ]
