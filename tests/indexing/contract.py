"""The contract every search backend passes.

Each backend's tests subclass :class:`BackendContract` with two fixtures: ``bare_backend``, a backend
where no index exists, and ``backend``, the same after :meth:`~indexing.base.SearchBackend.create`
(as ``flask index ensure`` leaves it).
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from indexing.base import IndexDocument, IndexMissing, SearchRequest

TODAY = date(2026, 11, 26)


def doc(id: int, kind: str = "solution", **overrides) -> IndexDocument:
    """A plausible document; tests override what matters to them."""
    values = {
        "kind": kind,
        "id": id,
        "title": f"通用数字化方案{id}",
        "summary": "帮助中小企业提升管理水平",
        "body": "适用于多种制造场景。",
        "industries": ("C", "C29", "C292", "C2929"),
        "industry_divisions": ("C29",),
        "scenarios": ("production_control",),
        "delivery_modes": ("saas",),
        "city": "苏州市",
        "province": "江苏省",
        "provider_id": 1,
        "price_min_cny": 10_000,
        "deploy_days": 30,
        "created_ts": 1_700_000_000 + id,
    }
    values.update(overrides)
    return IndexDocument(**values)


def search(backend, **kwargs):
    """Search solutions unless told otherwise."""
    kwargs.setdefault("kind", "solution")
    kwargs.setdefault("today", TODAY)
    return backend.search(SearchRequest(**kwargs))


def ids(result) -> list[int]:
    """Hit ids in order."""
    return [hit.id for hit in result.hits]


class IndexLifecycleContract:
    """Only create and rebuild make an index; leftovers of rebuilds are listed and never the live index.

    It needs no ranking, so it also runs on the Elasticsearch backend over a fake cluster.
    """

    MISSING_CALLS = {
        "index": lambda b: b.index([doc(1)]),
        "index-case": lambda b: b.index([doc(1, kind="case")]),
        "delete": lambda b: b.delete("solution", [1]),
        "search": lambda b: search(b, q="视觉检测"),
        "list": lambda b: search(b, kind="case"),
        "suggest": lambda b: b.suggest("视觉"),
        "stats": lambda b: b.stats(),
        "clear": lambda b: b.clear(),
    }

    @pytest.mark.parametrize("call", MISSING_CALLS.values(), ids=MISSING_CALLS.keys())
    def test_without_an_index_reads_and_writes_raise_index_missing_and_create_nothing(
        self, bare_backend, call
    ):
        """Only create and rebuild make an index; until then the backend says it is missing."""
        with pytest.raises(IndexMissing):
            call(bare_backend)
        with pytest.raises(IndexMissing):
            bare_backend.stats()
        bare_backend.create()
        assert bare_backend.stats().documents == {"solution": 0, "case": 0}

    def test_create_keeps_an_existing_index(self, backend):
        backend.index([doc(1)])
        backend.create()
        assert ids(search(backend)) == [1]

    def test_a_rebuild_lists_its_unfinished_version_as_a_leftover_and_cleans_up_when_it_fails(self, backend):
        """Leftovers never name the live index; clean removes none of it."""
        backend.index([doc(1)])
        live = backend.stats().version
        assert backend.leftovers() == []
        seen: list[str] = []

        def crashing():
            yield doc(2)
            seen.extend(backend.leftovers())
            raise RuntimeError("crash mid-rebuild")

        with pytest.raises(RuntimeError):
            backend.rebuild(crashing())
        assert seen and live not in seen
        assert backend.leftovers() == [] and backend.remove_leftovers() == []
        assert backend.stats().version == live and ids(search(backend)) == [1]


class BackendContract(IndexLifecycleContract):
    """Behaviour shared by the embedded and Elasticsearch backends."""

    def test_keyword_search_finds_and_ranks_title_matches_first(self, backend):
        """A word in the title outranks the same word in the body; unrelated documents are not returned."""
        backend.index(
            [
                doc(1, title="注塑件外观缺陷视觉检测", summary="黑点缩水在线检测"),
                doc(2, title="车间管理系统", body="也可对接注塑件外观缺陷视觉检测设备"),
                doc(3, title="财务共享平台", summary="业财一体"),
            ]
        )
        result = search(backend, q="注塑件 外观缺陷")
        assert ids(result)[:2] == [1, 2] and 3 not in ids(result)
        assert result.total == 2
        assert result.hits[0].score >= result.hits[1].score > 0

    def test_synonyms_match_across_terms(self, backend):
        """A document written with one synonym is found by a query with another."""
        backend.index([doc(1, title="AOI 光学检测设备"), doc(2, title="仓储管理软件")])
        assert ids(search(backend, q="机器视觉")) == [1]

    def test_sub_word_query_matches_through_bigrams(self, backend):
        """A query shorter than the indexed word still matches."""
        backend.index([doc(1, title="注塑件检测"), doc(2, title="财务软件")])
        assert 1 in ids(search(backend, q="塑件"))

    def test_highlight_marks_matches(self, backend):
        """Hits say where they matched, HTML-escaped with <em>."""
        backend.index([doc(1, title="能耗监测 <b>平台</b>")])
        hit = search(backend, q="能耗监测").hits[0]
        assert "<em>" in hit.highlight["title"] and "<b>" not in hit.highlight["title"]

    def test_empty_query_lists_everything_filtered_newest_first(self, backend):
        """No query lists all documents of the kind, newest first."""
        backend.index([doc(1), doc(2), doc(3), doc(4, kind="case")])
        result = search(backend)
        assert ids(result) == [3, 2, 1] and result.total == 3

    def test_kinds_are_separate(self, backend):
        """Solutions and cases with the same id do not collide."""
        backend.index([doc(1, title="视觉检测方案"), doc(1, kind="case", title="视觉检测案例")])
        assert search(backend, q="视觉检测").hits[0].id == 1
        assert search(backend, kind="case", q="视觉检测").total == 1
        assert search(backend, q="视觉检测").total == 1

    def test_parent_industry_filter_includes_children(self, backend):
        """A 大类 filter matches documents tagged with its 小类."""
        backend.index(
            [
                doc(1),
                doc(2, industries=("C", "C36", "C367", "C3670"), industry_divisions=("C36",)),
                doc(3, industries=("C", "C17"), industry_divisions=("C17",)),
            ]
        )
        assert ids(search(backend, filters={"industry": ("C29",)})) == [1]
        assert sorted(ids(search(backend, filters={"industry": ("C29", "C36")}))) == [1, 2]
        assert search(backend, filters={"industry": ("C",)}).total == 3

    def test_filters_or_within_and_across(self, backend):
        """Values of one filter are ORed; different filters are ANDed."""
        backend.index(
            [
                doc(1, scenarios=("quality",), delivery_modes=("edge",)),
                doc(2, scenarios=("energy",), delivery_modes=("saas",)),
                doc(3, scenarios=("energy",), delivery_modes=("edge",)),
            ]
        )
        assert sorted(ids(search(backend, filters={"scenario": ("quality", "energy")}))) == [1, 2, 3]
        both = search(backend, filters={"scenario": ("energy",), "delivery_mode": ("edge",)})
        assert ids(both) == [3]

    def test_keyword_filters(self, backend):
        """Tags, cities, provinces and providers filter exactly."""
        backend.index(
            [
                doc(1, tags=("视觉质检",), city="宁波市", province="浙江省", provider_id=7),
                doc(2, tags=("能耗监测",)),
            ]
        )
        assert ids(search(backend, filters={"tag": ("视觉质检",)})) == [1]
        assert ids(search(backend, filters={"city": ("宁波市",)})) == [1]
        assert ids(search(backend, filters={"province": ("江苏省",)})) == [2]
        assert ids(search(backend, filters={"provider_id": ("7",)})) == [1]

    def test_ranges(self, backend):
        """price_max_cny bounds the lowest price; deploy_days_max bounds deployment time."""
        backend.index(
            [doc(1, price_min_cny=5_000, deploy_days=7), doc(2, price_min_cny=50_000, deploy_days=90)]
        )
        assert ids(search(backend, price_max_cny=10_000)) == [1]
        assert ids(search(backend, price_max_cny=50_000)) == [2, 1]
        assert ids(search(backend, deploy_days_max=30)) == [1]

    def test_promoted_follows_the_window(self, backend):
        """A case is promoted only on the days of its window."""
        window = ((TODAY - timedelta(days=3), TODAY + timedelta(days=3)),)
        later = ((TODAY + timedelta(days=10), TODAY + timedelta(days=20)),)
        backend.index(
            [
                doc(1, kind="case", promotion_windows=window),
                doc(2, kind="case", promotion_windows=later),
                doc(3, kind="case"),
            ]
        )
        assert ids(search(backend, kind="case", promoted=True)) == [1]
        assert sorted(ids(search(backend, kind="case", promoted=False))) == [2, 3]
        future = search(backend, kind="case", promoted=True, today=TODAY + timedelta(days=15))
        assert ids(future) == [2]

    def test_facets_are_disjunctive(self, backend):
        """Each facet counts as if its own filter were absent, but honours the others."""
        backend.index(
            [
                doc(1, scenarios=("quality",), city="苏州市"),
                doc(2, scenarios=("quality", "energy"), city="宁波市"),
                doc(3, scenarios=("energy",), city="苏州市"),
                doc(4, scenarios=("equipment",), city="宁波市"),
            ]
        )
        result = search(backend, filters={"scenario": ("quality",), "city": ("苏州市",)})
        assert ids(result) == [1]
        scenario = {f.value: f.count for f in result.facets["scenario"]}
        assert scenario == {"quality": 1, "energy": 1}
        city = {f.value: f.count for f in result.facets["city"]}
        assert city == {"苏州市": 1, "宁波市": 1}
        industry = {f.value: f.count for f in result.facets["industry"]}
        assert industry == {"C29": 1}

    @pytest.mark.parametrize(
        ("sort", "expected"),
        [("newest", [3, 2, 1]), ("price_asc", [2, 3, 1]), ("deploy_days", [1, 3, 2])],
    )
    def test_sorts(self, backend, sort, expected):
        """Newest first, cheapest first, fastest deployment first."""
        backend.index(
            [
                doc(1, price_min_cny=30_000, deploy_days=5),
                doc(2, price_min_cny=10_000, deploy_days=60),
                doc(3, price_min_cny=20_000, deploy_days=20),
            ]
        )
        assert ids(search(backend, sort=sort)) == expected

    def test_pages(self, backend):
        """page and per_page slice the hits; total counts them all."""
        backend.index([doc(n) for n in range(1, 8)])
        result = search(backend, page=2, per_page=3)
        assert ids(result) == [4, 3, 2] and result.total == 7
        assert ids(search(backend, page=3, per_page=3)) == [1]

    def test_reindex_replaces_and_delete_removes(self, backend):
        """Indexing an id again replaces it; deleting removes it; unknown ids are ignored."""
        backend.index([doc(1, title="冲压模具监测"), doc(2)])
        backend.index([doc(1, title="注塑能耗分析")])
        assert search(backend).total == 2
        assert ids(search(backend, q="注塑能耗")) == [1] and search(backend, q="冲压模具").total == 0
        backend.delete("solution", [1, 999])
        assert ids(search(backend)) == [2]

    def test_clear_and_stats(self, backend):
        """Stats count documents per kind; clear empties the index."""
        backend.index([doc(1), doc(2), doc(1, kind="case")])
        assert backend.stats().documents == {"solution": 2, "case": 1}
        backend.clear()
        assert backend.stats().documents == {"solution": 0, "case": 0}

    def test_stats_name_the_analysis_the_index_was_built_with(self, backend):
        """The first write and every rebuild record the analyser's version with the index."""
        backend.index([doc(1)])
        assert backend.stats().analysis == backend.analyzer.version
        backend.rebuild(iter([doc(2)]))
        assert backend.stats().analysis == backend.analyzer.version

    def test_stats_name_the_layout_the_index_was_built_with(self, backend):
        """The first write and every rebuild record the backend's field layout with the index."""
        assert backend.layout
        backend.index([doc(1)])
        assert backend.stats().layout == backend.layout
        backend.rebuild(iter([doc(2)]))
        assert backend.stats().layout == backend.layout

    def test_rebuild_swaps_in_one_step(self, backend):
        """A rebuild serves exactly the new set afterwards."""
        backend.index([doc(1), doc(2)])
        assert backend.rebuild(iter([doc(3), doc(4, kind="case")])) == 2
        assert ids(search(backend)) == [3]
        assert backend.stats().documents == {"solution": 1, "case": 1}

    def test_failed_rebuild_leaves_the_old_index_serving(self, backend):
        """A crash part-way through a rebuild changes nothing users see."""
        backend.index([doc(1), doc(2)])

        def broken():
            yield doc(3)
            raise RuntimeError("crash mid-rebuild")

        with pytest.raises(RuntimeError):
            backend.rebuild(broken())
        assert sorted(ids(search(backend))) == [1, 2]
        backend.index([doc(5)])
        assert search(backend).total == 3

    def test_suggest_completes_titles_and_tags(self, backend):
        """Completions come from titles and tags, most common first."""
        backend.index(
            [
                doc(1, title="视觉检测一体机", tags=("视觉质检",)),
                doc(2, title="视觉检测云平台", tags=("视觉质检",)),
                doc(3, title="能耗监测"),
            ]
        )
        suggestions = backend.suggest("视觉", limit=5)
        assert suggestions[0] == "视觉质检"
        assert {"视觉检测一体机", "视觉检测云平台"} <= set(suggestions)
        assert "能耗监测" not in suggestions

    def test_synonym_of_a_part_of_a_compound_word_matches(self, backend):
        """A query for 用电 finds a document that only says 能耗监测."""
        backend.index([doc(1, title="车间能耗监测系统"), doc(2, title="仓储管理软件")])
        assert ids(search(backend, q="用电")) == [1]

    def test_a_matched_content_word_outranks_frequent_generic_words(self, backend):
        """客户 and 产品 are in most listings, if in few titles: the rare word that matched (划痕) decides."""
        backend.index(
            [
                doc(1, title="制造业CRM客户管理", summary="老客户跟进、客户投诉登记、产品报价"),
                doc(2, title="表面缺陷视觉检测", summary="划痕、凹坑在线检出", body="相机拍摄产品表面。"),
                doc(3, title="MES生产执行", summary="按客户订单排产，产品报工"),
                doc(4, title="仓储WMS", summary="产品出入库，客户发货"),
                doc(5, title="设备运维平台", summary="客户现场设备监测，产品寿命预测"),
                doc(6, title="能耗监测", summary="产品单耗分析，客户碳报告"),
                doc(7, title="APS排产", summary="客户交期承诺，产品工艺路线"),
                doc(8, title="售后服务工单", summary="客户投诉处理，产品返修派工"),
                doc(9, title="质量管理QMS", summary="客户投诉8D闭环，产品检验记录"),
            ]
        )
        assert ids(search(backend, q="客户老投诉产品有划痕"))[0] == 2

    def test_a_single_character_never_outranks_the_words_of_the_query(self, backend):
        """报销 decides; the lone 多 (of 多工序) and the bigram 太多 do not."""
        backend.index(
            [
                doc(1, title="智能费控平台", summary="员工拍照上传发票，报销自动校验"),
                doc(
                    2,
                    title="多工序多品种多批次智能排程",
                    summary="多工序、多设备、多订单排产",
                    body="多车间多产线",
                ),
                doc(3, title="低代码流程平台", summary="表单与流程搭建"),
            ]
        )
        assert ids(search(backend, q="报销单据太多 审批慢")) == [1]

    def test_a_lone_character_of_a_brand_name_does_not_match_a_two_character_query(self, backend):
        """省电 finds what says 省电, not every brand with 电 in its name."""
        backend.index(
            [
                doc(1, title="电管家空压站群控", summary="电管家品牌空压机联控"),
                doc(2, title="注塑机伺服节能改造", summary="伺服改造省电三成"),
                doc(3, title="电小二设备巡检", summary="电小二扫码巡检"),
            ]
        )
        assert ids(search(backend, q="省电")) == [2]
