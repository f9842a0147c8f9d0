"""The Chinese analysis chain: normalisation, segmentation, synonyms, bigrams and highlighting."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import threading
from pathlib import Path

import pytest
import rjieba
from hypothesis import given, settings
from hypothesis import strategies as st

from indexing.analysis import AnalysedText, Analyzer

SEED_DIR = Path(__file__).resolve().parents[2] / "seed_data"
SYNONYMS = json.loads((SEED_DIR / "synonyms" / "synonyms.json").read_text(encoding="utf-8"))
GROUPS = [list(group) for group in SYNONYMS["groups"]]


def _terms(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


DOMAIN_TERMS = _terms(SEED_DIR / "lexicon" / "domain.txt")
STOPWORDS = _terms(SEED_DIR / "lexicon" / "stopwords.txt")
SYNONYM_PAIRS = [
    pytest.param(written, asked, id=f"{written}->{asked}")
    for group in GROUPS
    for written, asked in itertools.permutations(group, 2)
]
CJK_SAMPLE = "注塑件外观缺陷能耗监测體臺薴苧ＡＢＣａｂｃ１２３，。！？、 \t\n視覺檢測設備綜合效率<>&\"'"


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer.from_seed_data(SEED_DIR)


@pytest.fixture(scope="module")
def fold(analyzer):
    """Map a normalised synonym member to its group's canonical token, as the data defines it."""
    canonical = {}
    for group in GROUPS:
        for member in group:
            canonical[analyzer.normalise(member)] = analyzer.normalise(group[0])
    return lambda term: canonical.get(term, term)


def _words(analyzer: Analyzer, text: str) -> list[str]:
    return analyzer.analyse(text).words


class TestNormalise:
    def test_traditional_becomes_simplified(self, analyzer):
        assert analyzer.normalise("繁體中文與設備綜合效率") == "繁体中文与设备综合效率"

    def test_full_width_becomes_half_width(self, analyzer):
        assert analyzer.normalise("ＡＢＣ１２３") == "abc123"
        assert analyzer.normalise("注塑件，良率！") == "注塑件,良率!"

    def test_case_is_folded_and_whitespace_collapsed(self, analyzer):
        assert analyzer.normalise("  Hello\tMES \n\u3000OEE  ") == "hello mes oee"

    def test_traditional_text_analyses_like_simplified(self, analyzer):
        traditional = analyzer.analyse("機器視覺檢測注塑件的外觀缺陷")
        assert traditional == analyzer.analyse("机器视觉检测注塑件的外观缺陷")

    def test_chained_conversions_reach_a_fixed_point(self, analyzer):
        once = analyzer.normalise("薴")
        assert analyzer.normalise(once) == once


class TestSegmentation:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("客户投诉注塑件有外观缺陷", ["注塑件", "外观缺陷"]),
            ("上线能耗监测以后电费清楚了", ["能耗监测", "电费"]),
            ("验布机识别布面瑕疵", ["验布机", "布面瑕疵"]),
            ("提升设备综合效率", ["oee"]),
            ("汽车零部件及配件制造", ["汽车零部件", "配件制造"]),
        ],
    )
    def test_lexicon_terms_stay_whole(self, analyzer, text, expected):
        words = _words(analyzer, text)
        for term in expected:
            assert term in words

    @pytest.mark.parametrize("term", [term for term in DOMAIN_TERMS if not term.isascii()])
    def test_every_domain_term_is_one_token(self, analyzer, fold, term):
        assert _words(analyzer, term) == [fold(analyzer.normalise(term))]

    def test_scenario_names_stay_whole(self, analyzer, fold):
        scenarios = json.loads((SEED_DIR / "taxonomy" / "scenarios_2024.json").read_text(encoding="utf-8"))
        for scenario in scenarios["scenarios"]:
            assert _words(analyzer, scenario["name"]) == [fold(scenario["name"])]

    def test_stopwords_punctuation_and_whitespace_are_dropped(self, analyzer):
        words = _words(analyzer, "我们的系统和设备是在工厂里，（好）！\n\t…")
        assert words == ["系统", "设备", "工厂", "里", "好"]
        for stopword in STOPWORDS:
            assert _words(analyzer, stopword) == []

    def test_ascii_jargon_is_kept_lower_cased(self, analyzer):
        words = _words(analyzer, "上了MES、WMS和APS，OEE提升，PLC联网，还有AOI")
        assert {"mes", "wms", "aps", "oee", "plc"} <= set(words)
        assert "视觉检测" in words, "AOI folds into its synonym group's canonical token"
        assert "aoi" in analyzer.analyse("AOI").bigrams

    def test_ascii_next_to_chinese_is_split_off(self, analyzer):
        assert _words(analyzer, "MES系统") == ["mes", "系统"]

    def test_words_are_in_text_order(self, analyzer):
        assert _words(analyzer, "注塑件 黑点 缩水 飞边") == ["注塑件", "黑点", "缩水", "飞边"]


class TestSynonyms:
    def test_data_is_versioned_and_large_enough(self):
        assert SYNONYMS["version"]
        assert len(GROUPS) >= 25
        assert all(len(group) >= 2 for group in GROUPS)

    def test_no_term_is_in_two_groups(self, analyzer):
        seen: dict[str, int] = {}
        for index, group in enumerate(GROUPS):
            for member in {analyzer.normalise(member) for member in group}:
                assert member not in seen, f"{member} is in groups {seen[member]} and {index}"
                seen[member] = index

    def test_no_stopword_is_a_term(self, analyzer):
        stopwords = {analyzer.normalise(word) for word in STOPWORDS}
        members = {analyzer.normalise(member) for group in GROUPS for member in group}
        assert not stopwords & members
        assert not stopwords & {analyzer.normalise(term) for term in DOMAIN_TERMS}

    @pytest.mark.parametrize("member", [member for group in GROUPS for member in group])
    def test_every_member_folds_to_its_canonical_token(self, analyzer, fold, member):
        assert _words(analyzer, member) == [fold(analyzer.normalise(member))]

    @pytest.mark.parametrize(("written", "asked"), SYNONYM_PAIRS)
    def test_a_query_finds_a_document_written_with_a_synonym(self, analyzer, written, asked):
        document = _words(analyzer, f"我们提供{written}方案，已在多家工厂落地。")
        assert set(document) & set(_words(analyzer, asked))

    def test_folding_applies_to_traditional_and_full_width_forms(self, analyzer):
        assert _words(analyzer, "機器視覺") == _words(analyzer, "ａｏｉ") == ["视觉检测"]

    def test_a_member_in_two_groups_is_refused(self):
        with pytest.raises(ValueError, match="two groups"):
            Analyzer(synonyms=[["排产", "排程"], ["计划", "排程"]])

    def test_a_member_with_spaces_is_refused(self):
        with pytest.raises(ValueError, match="one non-empty token"):
            Analyzer(synonyms=[["mes", "manufacturing execution"]])


class TestBigrams:
    def test_a_sub_word_query_matches_through_bigrams(self, analyzer):
        document, query = analyzer.analyse("注塑件外观检测"), analyzer.analyse("塑件")
        assert not set(document.words) & set(query.words)
        assert set(query.bigrams) <= set(document.bigrams)

    def test_bigrams_of_chinese_runs_and_whole_ascii_tokens(self, analyzer):
        assert analyzer.analyse("注塑件 AOI-2 泵 X5").bigrams == ["注塑", "塑件", "aoi", "x5"]

    def test_a_lone_character_is_no_fallback(self, analyzer):
        """A run of one character (泵, 电, 2) would match nearly every document as a fallback: none."""
        assert analyzer.analyse("电 费").bigrams == []

    def test_queries_drop_single_character_words_unless_nothing_else_is_left(self, analyzer):
        from indexing.documents import analyse_query

        assert "多" not in analyse_query("报销单据太多", analyzer).words
        assert analyse_query("省电", analyzer).words == () and analyse_query("省电", analyzer).bigrams == (
            "省电",
        )
        assert analyse_query("电", analyzer).words == ("电",)

    def test_bigrams_come_from_the_normalised_text(self, analyzer):
        assert analyzer.analyse("視覺").bigrams == ["视觉"]

    def test_stopword_characters_stay_in_bigrams(self, analyzer):
        assert "的注" in analyzer.analyse("我们的注塑件").bigrams


class TestHighlight:
    def test_matches_are_wrapped(self, analyzer):
        terms = analyzer.highlight_terms("机器视觉")
        assert {"aoi", "视觉检测", "机器视觉"} <= terms
        assert analyzer.highlight("客户用AOI做外观检测", terms) == "客户用<em>AOI</em>做<em>外观检测</em>"

    def test_html_is_escaped(self, analyzer):
        fragment = analyzer.highlight("<script>alert('x')</script> 注塑件 & 模具", {"注塑件"})
        assert fragment == "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; <em>注塑件</em> &amp; 模具"

    def test_a_term_that_looks_like_markup_is_escaped_too(self, analyzer):
        assert analyzer.highlight("a<b>c", {"<b>"}) == "a<em>&lt;b&gt;</em>c"

    def test_none_when_nothing_matches(self, analyzer):
        assert analyzer.highlight("注塑件外观检测", {"仓储"}) is None
        assert analyzer.highlight("注塑件外观检测", set()) is None
        assert analyzer.highlight("", {"注塑件"}) is None

    def test_longest_term_wins_without_nesting(self, analyzer):
        assert analyzer.highlight("注塑件和注塑", {"注塑", "注塑件"}) == "<em>注塑件</em>和<em>注塑</em>"

    def test_matching_ignores_case_width_and_script_but_keeps_the_original(self, analyzer):
        terms = analyzer.highlight_terms("机器视觉")
        assert analyzer.highlight("用ＡＯＩ和機器視覺", terms) == "用<em>ＡＯＩ</em>和<em>機器視覺</em>"

    def test_long_text_is_cut_to_a_window_around_the_first_match(self, analyzer):
        text = "甲" * 500 + "注塑件" + "乙" * 100 + "注塑件" + "丙" * 500
        fragment = analyzer.highlight(text, {"注塑件"}, max_chars=160)
        assert fragment is not None
        assert fragment.startswith("…") and fragment.endswith("…")
        assert fragment.count("<em>注塑件</em>") == 2
        plain = fragment.replace("<em>", "").replace("</em>", "").strip("…")
        assert len(plain) == 160
        assert plain in text

    def test_short_text_is_returned_whole(self, analyzer):
        text = "注塑件" + "乙" * 100
        assert analyzer.highlight(text, {"乙乙乙"}, max_chars=160).count("<em>") == 33

    def test_match_at_the_end_of_a_long_text(self, analyzer):
        text = "甲" * 500 + "注塑件"
        fragment = analyzer.highlight(text, {"注塑件"}, max_chars=100)
        assert fragment.startswith("…") and fragment.endswith("<em>注塑件</em>")


class TestLexiconTerms:
    def test_terms_starting_with_a_prefix_shortest_first(self, analyzer):
        assert analyzer.lexicon_terms("能耗")[:2] == ["能耗", "能耗监测"]
        assert "视觉检测" in analyzer.lexicon_terms("視覺")

    def test_terms_are_shown_as_written_in_the_data(self, analyzer):
        assert analyzer.lexicon_terms("ao") == ["AOI"]

    def test_nothing_for_an_empty_or_unknown_prefix(self, analyzer):
        assert analyzer.lexicon_terms("  ") == []
        assert analyzer.lexicon_terms("不存在的前缀") == []


class TestConstruction:
    def test_version_comes_from_the_data_files(self, analyzer):
        declared, digest = analyzer.version.rsplit(" / ", 1)
        assert declared == f"lexicon 2024.1 / synonyms {SYNONYMS['version']}"
        assert re.fullmatch("[0-9a-f]{8}", digest)
        assert Analyzer().version == "custom"

    def test_version_changes_with_the_data_even_when_no_declared_version_does(self, tmp_path):
        """A term added without bumping the lexicon's version still changes the analyser's version."""
        copy = tmp_path / "seed"
        shutil.copytree(SEED_DIR, copy)
        with (copy / "lexicon" / "domain.txt").open("a", encoding="utf-8") as terms:
            terms.write("\n新型检测工装\n")
        edited = Analyzer.from_seed_data(copy)
        assert (
            edited.version.rsplit(" / ", 1)[0]
            == Analyzer.from_seed_data(SEED_DIR).version.rsplit(" / ", 1)[0]
        )
        assert edited.version != Analyzer.from_seed_data(SEED_DIR).version

    def test_from_seed_data_reuses_one_instance(self, analyzer):
        assert Analyzer.from_seed_data(str(SEED_DIR)) is analyzer

    def test_the_global_segmenter_is_left_alone(self):
        Analyzer(lexicon=["甲乙丙丁戊己"])
        assert not rjieba.has_word("甲乙丙丁戊己")

    def test_custom_lexicon_and_synonyms(self):
        custom = Analyzer(lexicon=["甲乙丙丁"], synonyms=[["Foo", "巴尔巴"]], version="t1")
        assert custom.version == "t1"
        assert custom.analyse("甲乙丙丁和巴尔巴").words == ["甲乙丙丁", "foo"]


class TestDeterminismAndThreads:
    TEXTS = [
        "客户老投诉我们的注塑件有黑点缩水，全靠老师傅拿眼看",
        "四十多台注塑机，哪台在干活哪台在等模具，得跑车间才知道",
        "上線MES與WMS之後，OEE提升了12%，電費下降",
        "圆机织出来的布有破洞漏针，验布工一天验不了几卷还老漏",
    ]

    def test_the_same_text_gives_the_same_tokens(self, analyzer):
        for text in self.TEXTS:
            assert analyzer.analyse(text) == analyzer.analyse(text)
        first, second = Analyzer(DOMAIN_TERMS, GROUPS), Analyzer(DOMAIN_TERMS, GROUPS)
        assert [first.analyse(text) for text in self.TEXTS] == [second.analyse(text) for text in self.TEXTS]

    def test_threads_get_the_same_results(self, analyzer):
        texts = self.TEXTS * 50
        expected = [analyzer.analyse(text) for text in texts]
        results: list[list[AnalysedText]] = []

        def work() -> None:
            results.append([analyzer.analyse(text) for text in texts])

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(results) == 4
        assert all(result == expected for result in results)

    def test_lone_surrogates_do_not_break_the_chain(self, analyzer):
        assert analyzer.analyse("\ud800注塑件\udfff").words == ["注塑件"]
        assert analyzer.highlight("\ud800注塑件", {"注塑件"}) == "\ud800<em>注塑件</em>"


texts = st.text() | st.text(alphabet=st.sampled_from(CJK_SAMPLE)) | st.text(st.characters(codec="utf-8"))


@settings(max_examples=300, deadline=None)
@given(texts)
def test_analyse_never_raises_and_gives_clean_tokens(text):
    analyzer = Analyzer.from_seed_data(SEED_DIR)
    analysed = analyzer.analyse(text)
    for token in analysed.words + analysed.bigrams:
        assert token and not any(char.isspace() for char in token)
    assert analyzer.analyse(analyzer.normalise(text)) == analysed


@settings(max_examples=300, deadline=None)
@given(texts)
def test_normalise_is_idempotent(text):
    analyzer = Analyzer.from_seed_data(SEED_DIR)
    once = analyzer.normalise(text)
    assert analyzer.normalise(once) == once


@settings(max_examples=100, deadline=None)
@given(st.text(), st.sets(st.text(min_size=1, max_size=4), max_size=3))
def test_highlight_never_raises(text, terms):
    fragment = Analyzer.from_seed_data(SEED_DIR).highlight(text, terms)
    assert fragment is None or "<em>" in fragment


@given(texts)
def test_words_are_the_analysed_words(text):
    """``words`` (what the text models read) is ``analyse(...).words`` without computing bigrams."""
    analyzer = Analyzer.from_seed_data(SEED_DIR)
    assert analyzer.words(text) == analyzer.analyse(text).words
