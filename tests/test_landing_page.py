"""The landing page (book/intro.md) glues its numbers and its figure from the chapters: every
``notebooks/<chapter>.ipynb::<key>`` it names must be glued by that chapter's source, so a
renamed key fails here, not only in the book build."""

import re

from spikeflux.config import project_root

ROOT = project_root()
TEXT_REF = re.compile(r"\{glue:text\}`notebooks/(\w+)\.ipynb::([\w-]+):\w*`")
DOC_REF = re.compile(r"```\{glue\} ([\w-]+)\n:doc: notebooks/(\w+)\.ipynb")


def test_landing_page_glues_exist_in_the_chapters():
    intro = (ROOT / "book" / "intro.md").read_text()
    refs = set(TEXT_REF.findall(intro)) | {(doc, key) for key, doc in DOC_REF.findall(intro)}
    assert len(refs) >= 8, f"the landing page should glue its findings from the chapters; found {sorted(refs)}"
    assert ("theory", "fig-toy-graph") in refs  # the opening figure
    missing = []
    for chapter, key in sorted(refs):
        source = (ROOT / "notebooks" / f"{chapter}.md").read_text()
        if not re.search(rf"""glue\(\s*f?["']{re.escape(key)}["']""", source):
            missing.append(f"{chapter}: {key}")
    assert not missing, "the landing page glues keys its chapters do not define: " + ", ".join(missing)
