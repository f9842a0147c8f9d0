"""The shared contract against a live Elasticsearch cluster, when ELASTICSEARCH_URL names one."""

from __future__ import annotations

import os
import uuid

import pytest

from indexing.analysis import Analyzer
from marketplace.config import default_config
from tests.indexing.contract import BackendContract

ELASTICSEARCH_URL = os.environ.get("ELASTICSEARCH_URL")

pytestmark = [
    pytest.mark.elasticsearch,
    pytest.mark.skipif(not ELASTICSEARCH_URL, reason="ELASTICSEARCH_URL is not set: no cluster here"),
]


@pytest.fixture(scope="module")
def analyzer():
    return Analyzer.from_seed_data(default_config(".")["SEED_DATA_DIR"])


@pytest.fixture
def bare_backend(analyzer):
    """A backend on a prefix of its own, where no index exists."""
    from indexing.elasticsearch_backend import ElasticsearchBackend

    backend = ElasticsearchBackend(
        url=ELASTICSEARCH_URL, analyzer=analyzer, index_prefix=f"test-{uuid.uuid4().hex[:12]}"
    )
    yield backend
    backend.drop_indexes()
    backend.close()


@pytest.fixture
def backend(bare_backend):
    """The same after ``flask index ensure``: empty indexes behind both aliases."""
    bare_backend.create()
    return bare_backend


class TestElasticsearchBackend(BackendContract):
    """The shared contract on Elasticsearch."""
