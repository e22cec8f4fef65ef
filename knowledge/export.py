"""GET /knowledge/{id}/export (admin): the collection's extracted texts as a zip of `.txt` files."""

import tempfile
import zipfile

from files.selectors import content_slice
from files.streaming import SLICE
from knowledge.models import KnowledgeBase
from knowledge.services import files_of

SPOOL = 8 * 1024 * 1024  # archives above this go to a temporary file rather than memory


def zip_of(kb: KnowledgeBase):
    """The archive, rewound: one `<filename>.txt` per file with text; texts read slice by slice."""
    archive = tempfile.SpooledTemporaryFile(max_size=SPOOL)
    names: set[str] = set()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in files_of(kb).exclude(content="").only("id", "filename"):
            name = file.filename if file.filename.endswith(".txt") else f"{file.filename}.txt"
            if name in names:  # two files of one name: both kept
                name = f"{file.id}_{name}"
            names.add(name)
            with zf.open(name, "w") as out:
                start = 0
                while piece := content_slice(file.id, start, SLICE):
                    out.write(piece.encode())
                    start += SLICE
    archive.seek(0)
    return archive


def zip_name(kb: KnowledgeBase) -> str:
    return "".join(c if c.isalnum() or c in " -_" else "_" for c in kb.name) + ".zip"
