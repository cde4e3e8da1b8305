"""The documentation site builds, strict (a warning, a broken link, a page left out of the navigation or an
API reference entry that names nothing fails it), as ``make docs`` and CI build it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_site_builds_strict(tmp_path):
    source = ROOT / "build" / "reference-src"
    source.mkdir(parents=True, exist_ok=True)
    link = source / "llmaas"
    if not link.exists():
        link.symlink_to(Path("..") / ".." / "sdk")
    mkdocs = Path(sys.executable).parent / "mkdocs"
    out = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "clients" / "index.html").read_text().count("chat") > 0
    assert "evals.runs" in (tmp_path / "site" / "evals" / "index.html").read_text()


def test_every_symbol_and_parameter_in_the_reference_has_a_docstring():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import reference_coverage
    finally:
        sys.path.remove(str(ROOT / "bench"))
    total, with_doc, missing = reference_coverage.coverage()
    fields, fields_doc, fields_missing = reference_coverage.parameter_coverage()
    assert total > 500 and fields > 100  # the walk reached the package
    assert missing == [] and with_doc == total
    assert fields_missing == [] and fields_doc == fields


def test_the_sync_resources_and_raw_views_read_their_async_docstrings():
    import inspect

    from llmaas._docstrings import RAW_NOTE
    from llmaas.resources.files import AsyncFiles, Files, FilesWithRawResponse
    from llmaas.resources.fine_tuning import AsyncJobs, Jobs

    assert AsyncFiles.content.__doc__ and Files.content.__doc__ == AsyncFiles.content.__doc__
    assert FilesWithRawResponse.content.__doc__ == AsyncFiles.content.__doc__ + RAW_NOTE
    assert Jobs.__doc__ == AsyncJobs.__doc__ and "fine_tuning.jobs" in (Jobs.__doc__ or "")
    assert inspect.getdoc(Jobs.list_events) == inspect.getdoc(AsyncJobs.list_events)
    # a method with its own docstring keeps it
    from llmaas.resources.chat import AsyncChatCompletions, ChatCompletions
    assert ChatCompletions.stream.__doc__ != AsyncChatCompletions.stream.__doc__
