"""The intent corpus: needs in plain words teach the matcher which scenario a request is about."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from marketplace.config import default_config
from matching.features import Profile
from matching.intents import INTENTS_FILE, labelled_statements, load_scenario_needs
from matching.matcher import Matcher
from matching.text import AnalyzerNormaliser, AnalyzerWords, ScenarioClassifier, TextVectorizer

SEED_DIR = default_config(".")["SEED_DATA_DIR"]
CATALOG = [
    "费控报销 移动审批 差旅 发票 财务共享",
    "财务软件 总账 凭证 应收应付",
    "能耗监测 电表 用能分析 节能",
    "峰谷电价 用电分析 能源管理平台",
    "仓储管理 WMS 条码 库位 出入库",
    "扫码入库 库存盘点 拣货",
]
LABELS = [
    [code]
    for code in ("finance", "finance", "energy", "energy", "warehousing_logistics", "warehousing_logistics")
]
INTENTS = {
    "finance": ["老板出差，单子全压着签不了字", "月底跟供应商对不上数"],
    "energy": ["哪台机器最费钱开着", "车间夜里空转没人关"],
    "warehousing_logistics": ["找个东西要翻半天", "发货老是发错"],
}
NEED = "老板一出差，单子压着没人签字"


def _write(tmp_path, document) -> None:
    path = tmp_path / INTENTS_FILE
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


def test_the_bundled_corpus_labels_every_scenario_of_the_taxonomy_with_plain_needs():
    taxonomy = Path(SEED_DIR, "taxonomy", "scenarios_2024.json").read_text(encoding="utf-8")
    codes = [scenario["code"] for scenario in json.loads(taxonomy)["scenarios"]]
    needs = load_scenario_needs(SEED_DIR, codes)
    assert set(needs) == set(codes)
    assert all(len(statements) >= 20 for statements in needs.values())


def test_a_missing_corpus_gives_no_statements_and_a_malformed_one_is_refused(tmp_path):
    assert load_scenario_needs(tmp_path) == {}
    _write(tmp_path, {"scenarios": {"finance": ["  报销慢 ", ""], "hr": []}})
    assert load_scenario_needs(tmp_path, ["finance", "hr"]) == {"finance": ["报销慢"]}
    with pytest.raises(ValueError, match="not in the taxonomy"):
        load_scenario_needs(tmp_path, ["hr"])
    (tmp_path / INTENTS_FILE).write_text(json.dumps({"scenarios": {"hr": "招人难"}}), encoding="utf-8")
    with pytest.raises(ValueError, match="as strings"):
        load_scenario_needs(tmp_path)


def test_statements_are_labelled_with_their_one_scenario_in_a_stable_order():
    texts, labels = labelled_statements({"b": ["x", "y"], "a": ["z"]})
    assert texts == ["z", "x", "y"]
    assert labels == [["a"], ["b"], ["b"]]


def _vectorizer() -> TextVectorizer:
    return TextVectorizer(AnalyzerWords(SEED_DIR), AnalyzerNormaliser(SEED_DIR))


def test_weighted_statements_teach_the_classifier_words_the_catalog_never_uses():
    texts, labels = labelled_statements(INTENTS)
    catalog_only = ScenarioClassifier(_vectorizer()).fit(CATALOG, LABELS)
    with_needs = ScenarioClassifier(_vectorizer()).fit(
        CATALOG + texts, LABELS + labels, [1.0] * len(CATALOG) + [2.0] * len(texts)
    )
    before, after = catalog_only.scenario_scores(NEED), with_needs.scenario_scores(NEED)
    assert max(after, key=after.get) == "finance"
    assert after["finance"] > before["finance"]


def test_the_matcher_learns_its_scenario_intent_from_the_corpus_and_pickles():
    plain = Matcher(SEED_DIR).fit(CATALOG, LABELS)
    taught = pickle.loads(pickle.dumps(Matcher(SEED_DIR, intent_weight=2.0).fit(CATALOG, LABELS, INTENTS)))
    profile = Profile(industry="C2929", needs=NEED)
    scores = taught.scenario_scores(profile)
    assert max(scores, key=scores.get) == "finance"
    assert scores["finance"] > plain.scenario_scores(profile)["finance"]
    assert taught.text_model_.transform(["老板"]).nnz == plain.text_model_.transform(["老板"]).nnz == 0


def test_fitting_the_vectorizer_and_vectorising_at_once_gives_what_transform_gives():
    """The classifier vectorises its training texts while it learns the vocabulary (each text is
    analysed once); the rows must be those a need is later vectorised into."""
    texts, _ = labelled_statements(INTENTS)
    together = _vectorizer().fit_transform(CATALOG + texts)
    fitted = _vectorizer().fit(CATALOG + texts)
    assert together.shape == fitted.transform(CATALOG + texts).shape
    assert abs(together - fitted.transform(CATALOG + texts)).max() < 1e-6
