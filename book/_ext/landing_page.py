"""Sphinx extension: the landing page (``intro``) is read again whenever a chapter changed.

The landing page pastes numbers and a figure glued in the chapters' notebooks (myst-nb's
``path::key`` references), a dependency Sphinx does not know about: on an incremental build
that re-reads only the edited chapters, the landing page would keep the old numbers.
"""

LANDING_PAGE = "intro"


def _outdated(app, env, added, changed, removed):
    chapters = (set(added) | set(changed)) - {LANDING_PAGE}
    return [LANDING_PAGE] if chapters and LANDING_PAGE in env.found_docs else []


def setup(app):
    app.connect("env-get-outdated", _outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
