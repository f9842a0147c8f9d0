"""Pick a search backend by name, as ``SEARCH_BACKEND`` says."""

from __future__ import annotations

from pathlib import Path

from indexing.base import SearchBackend
from indexing.documents import AnalyzerLike
from indexing.vocabulary import VectorSpec

BACKENDS = ("embedded", "elasticsearch")


def create_backend(
    name: str,
    analyzer: AnalyzerLike,
    *,
    index_dir: str | Path | None = None,
    elasticsearch_url: str | None = None,
    index_prefix: str = "marketplace",
    analysis_processes: int = 1,
    vectors: VectorSpec | None = None,
) -> SearchBackend:
    """Create the backend ``name`` (``embedded`` or ``elasticsearch``).

    ``analysis_processes`` analyse documents in parallel during a rebuild. ``vectors`` names the
    model and size of the documents' vectors the backend keeps and searches (``None``: none).

    :raises ValueError: for an unknown name or a missing setting.
    """
    if name == "embedded":
        if index_dir is None:
            raise ValueError("the embedded backend needs INDEX_DIR")
        from indexing.embedded_backend import EmbeddedBackend

        return EmbeddedBackend(index_dir, analyzer, analysis_processes=analysis_processes, vectors=vectors)
    if name == "elasticsearch":
        if not elasticsearch_url:
            raise ValueError("SEARCH_BACKEND=elasticsearch needs ELASTICSEARCH_URL")
        from indexing.elasticsearch_backend import ElasticsearchBackend

        return ElasticsearchBackend(
            url=elasticsearch_url,
            analyzer=analyzer,
            index_prefix=index_prefix,
            analysis_processes=analysis_processes,
            vectors=vectors,
        )
    raise ValueError(f"unknown SEARCH_BACKEND {name!r}; expected one of {', '.join(BACKENDS)}")
