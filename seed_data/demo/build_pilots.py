"""Build the demo pilots: enrolments, assessment histories and retrofit projects.

Run ``python3 seed_data/demo/build_pilots.py`` (or ``python3 -m seed_data.demo.build_pilots``) from
the repository root after ``build_demo.py``. It reads ``pilots.json`` (the pilot cities' 细分行业,
written by hand), the demo enterprises, providers and solutions, and the digital-level indicator in
``seed_data/indicator``; it writes ``enrolments.json``, ``assessments.json`` and ``projects.json``
next to this file. The output is deterministic (``random.Random(SEED)``). Standard library only.

Each 细分行业 gets an outlook, alternating within its city, so that the dashboard shows some above
the 90% line and some below. ``ahead`` lifts every 规上 and 专精特新 enterprise to 二级 or above,
most through an accepted retrofit; ``behind`` leaves about half of them short: projects still
under way, enterprises a few points short of 二级, one never assessed. Levels are not written
down: the loader scores the answers with the indicator. The answers are built so that the
scenario gate decides the level (``level = min(gate, score band)``), which keeps the generator
free of the scoring rules. The accepted project that rose highest in each busy 细分行业 (and at
least one per city) carries a ``showcase`` promotion window: the loader makes its 样板 case.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from seed_data.demo import vocabulary as vocab  # noqa: E402

SEED = 20242
DEMO_DIR = Path(__file__).resolve().parent
INDICATOR_FILE = DEMO_DIR.parent / "indicator" / "digital_level_2024.json"
MAIN_GROUP_TIERS = ("specialized", "little_giant")
STAGES = ("diagnosis", "filing", "implementation", "accepted")
FIRST_LEVELS = {"ahead": (0, 1, 1, 1, 1, 1, 2, 2), "behind": (0, 0, 1, 1, 1, 1, 2)}
MEASURE_KNOWN = 0.75
SHOWCASE = {
    "starts_on": "2026-09-01",
    "ends_on": "2027-06-30",
    "note": "试点细分行业“看样学样”样板：改造前后均经现场评测，欢迎同行企业预约参观",
}


def read(name: str):
    """One JSON file of the demo folder."""
    return json.loads((DEMO_DIR / name).read_text(encoding="utf-8"))


def write(name: str, records: list[dict]) -> None:
    """Write records as a UTF-8 JSON array with one-space indentation."""
    (DEMO_DIR / name).write_text(json.dumps(records, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def on_one_branch(code: str, codes: list[str]) -> bool:
    """An industry code falls under a 细分行业 when one code is a prefix of the other."""
    return any(code.startswith(c) or c.startswith(code) for c in codes)


def in_groups(enterprise: dict) -> bool:
    """Counts towards the 90% or the 100% target: 规上, or 专精特新 (including 小巨人)."""
    return enterprise["above_scale"] or enterprise["tier"] in MAIN_GROUP_TIERS


def day(rng: random.Random, start: dt.date, low: int, high: int) -> dt.date:
    """A date ``low``–``high`` days after ``start``."""
    return start + dt.timedelta(days=rng.randint(low, high))


class AnswerMaker:
    """Makes answers that the indicator scores to a chosen level."""

    def __init__(self, indicator: dict):
        self.choice_items = [item for item in indicator["items"] if "options" in item]
        self.measure_items = [item for item in indicator["items"] if "measure" in item]
        self.constraint = [s["code"] for s in indicator["scenarios"] if s["constraint"]]
        self.guidance = [s["code"] for s in indicator["scenarios"] if not s["constraint"]]
        self.rule = {row["level"]: row for row in indicator["level_rule"]}

    def band(self, level: int) -> tuple[int, int]:
        """The option points that keep the score inside ``level``'s band (before 成效 points)."""
        if level == 0:
            return 6, self.rule[1]["min_score"] - 1
        low = self.rule[level]["min_score"]
        return low, min(
            low + 12, sum(max(o["points"] for o in item["options"]) for item in self.choice_items)
        )

    def options(self, rng: random.Random, points: int) -> dict[str, str]:
        """Options worth exactly ``points`` (or the nearest reachable sum above), spread evenly.

        Among the answer sets worth that much, the one closest to an even maturity across the
        questions (jittered by ``rng``) wins, so that no part scores zero while another is full.
        """
        share = points / sum(item["max_points"] for item in self.choice_items)
        best: dict[int, tuple[float, dict]] = {0: (0.0, {})}
        for item in self.choice_items:
            aim = min(1.0, max(0.0, share + rng.uniform(-0.2, 0.2)))
            found: dict[int, tuple[float, dict]] = {}
            for total, (cost, chosen) in best.items():
                for option in item["options"]:
                    key = total + option["points"]
                    score = cost + (option["points"] / item["max_points"] - aim) ** 2
                    if key not in found or score < found[key][0]:
                        found[key] = (score, {**chosen, item["code"]: option["code"]})
            best = found
        return best[min(total for total in best if total >= points)][1]

    def scenarios(self, rng: random.Random, gate: int) -> dict[str, int]:
        """Scenario levels passing the gate of level ``gate`` and no higher one."""
        if gate == 0:
            chosen, level = rng.sample(self.constraint, 2) + rng.sample(self.guidance, 2), 1
        else:
            row, level = self.rule[gate], gate
            constraint = row["min_constraint_scenarios"] + rng.randint(0, 1)
            guidance = min(len(self.guidance), max(0, row["min_scenarios"] - constraint) + rng.randint(0, 1))
            chosen = rng.sample(self.constraint, constraint) + rng.sample(self.guidance, guidance)
        ahead = set(rng.sample(chosen, rng.randint(0, 2))) if 0 < gate < 4 else set()
        levels = {}
        for code in self.constraint + self.guidance:
            if code in chosen:
                levels[code] = level + (code in ahead)
            else:
                levels[code] = max(0, level - rng.choice((1, 1, 2)))
        return levels

    def measures(self, rng: random.Random, industry: str) -> dict[str, dict]:
        """成效 measures before and after a retrofit, each known with some probability."""
        found = {}
        for item in self.measure_items:
            if rng.random() > MEASURE_KNOWN:
                continue
            spec = vocab.CASE_METRICS[item["short_name"]]
            heavy = "heavy" in spec and on_one_branch(industry, sorted(vocab.ENERGY_INTENSIVE_INDUSTRIES))
            before = round(rng.uniform(*(spec["heavy"] if heavy else spec["before"])), spec["decimals"])
            kind, low, high = spec["change"]
            change = rng.uniform(low, high)
            after = before * (1 + change) if kind == "ratio" else before + change
            after = round(min(after, spec.get("cap", after)), spec["decimals"])
            found[item["code"]] = {"before": before, "after": after}
        return found

    def assessment(self, rng: random.Random, gate: int, points: int, **record) -> dict:
        """One assessment record: the scenario gate at ``gate``, option points ``points``."""
        return {
            "measures": {},
            "note": "",
            **record,
            "answers": self.options(rng, points),
            "scenario_levels": self.scenarios(rng, gate),
        }


def pick_solution(rng: random.Random, solutions: list[dict], providers: dict, enterprise: dict) -> dict:
    """A published solution for the enterprise's industry, preferring providers of its city."""
    fitting = [
        s
        for s in solutions
        if s.get("status", "published") == "published"
        and any(code == "C" or on_one_branch(enterprise["industry"], [code]) for code in s["industries"])
    ]
    local = [s for s in fitting if providers[s["provider_key"]]["city"] == enterprise["city"]]
    return rng.choice(local or fitting)


class PilotBuilder:
    """Plans every enrolled enterprise's history and collects the records."""

    def __init__(self, seed: int = SEED):
        self.rng = random.Random(seed)
        self.maker = AnswerMaker(json.loads(INDICATOR_FILE.read_text(encoding="utf-8")))
        self.enterprises = read("enterprises.json")
        self.providers = {p["key"]: p for p in read("providers.json")}
        self.solutions = read("solutions.json")
        self.enrolments: list[dict] = []
        self.assessments: list[dict] = []
        self.projects: list[dict] = []
        self.final_levels: dict[str, int] = {}

    def assess(self, enterprise: dict, gate: int, points: int, kind: str, on: dt.date, **extra) -> None:
        """Record one assessment of ``enterprise``: scenario gate ``gate``, option points ``points``."""
        record = {
            "key": f"asm-{len(self.assessments) + 1:04d}",
            "enterprise_key": enterprise["key"],
            "kind": kind,
            "assessed_on": on.isoformat(),
            **extra,
        }
        self.assessments.append(self.maker.assessment(self.rng, gate, points, **record))

    def at_level(self, enterprise: dict, level: int, kind: str, on: dt.date, **extra) -> None:
        """An assessment that the indicator scores exactly to ``level``."""
        self.assess(enterprise, level, self.rng.randint(*self.maker.band(level)), kind, on, **extra)

    def near_miss(self, enterprise: dict, on: dt.date) -> None:
        """Scenarios ready for 二级 but a few points short: a 一级 whose gap is points only."""
        low = self.maker.band(2)[0]
        self.assess(enterprise, 2, self.rng.randint(low - 7, low - 2), "self", on)

    def project(self, enterprise: dict, first_on: dt.date, level: int, status: str, final: int = 2) -> None:
        """A retrofit project: an on-site diagnosis at its start and, once accepted, an on-site assessment."""
        rng = self.rng
        solution = pick_solution(rng, self.solutions, self.providers, enterprise)
        started = day(rng, first_on, 20, 60)
        self.at_level(enterprise, level, "onsite", started, note="诊断评估现场评测")
        low, high = solution["price_min_cny"], solution["price_max_cny"]
        record = {
            "key": f"prj-{len(self.projects) + 1:03d}",
            "enterprise_key": enterprise["key"],
            "provider_key": solution["provider_key"],
            "solution_key": solution["key"],
            "title": f"{solution['title']}改造项目"[:120],
            "contract_amount_cny": rng.randrange(low, high + 1, 1000) if high > low else low,
            "status": status,
            "started_on": started.isoformat(),
            "filed_on": None,
            "implementing_on": None,
            "accepted_on": None,
            "showcase": None,
        }
        reached = STAGES.index(status)
        when = started
        for stage, field in ((1, "filed_on"), (2, "implementing_on")):
            if reached >= stage:
                when = day(rng, when, 15, 40)
                record[field] = when.isoformat()
        if reached == 3:
            when = day(rng, when, 90, 160)
            measures = self.maker.measures(rng, enterprise["industry"])
            self.at_level(enterprise, final, "onsite", when, measures=measures, note="竣工验收现场评测")
            record["accepted_on"] = when.isoformat()
            self.final_levels[record["key"]] = final
        self.projects.append(record)

    def plan(self, enterprise: dict, outlook: str) -> None:
        """One enterprise's history under its 细分行业's outlook."""
        rng = self.rng
        first_on = dt.date(2024, 4, 1) + dt.timedelta(days=rng.randint(0, 200))
        first = rng.choice(FIRST_LEVELS[outlook])
        self.at_level(enterprise, first, "self" if rng.random() < 0.7 else "onsite", first_on)
        later = day(rng, first_on, 300, 600)
        if first >= 2:
            if rng.random() < 0.4:
                self.at_level(enterprise, min(first + (rng.random() < 0.3), 4), "self", later)
        elif not in_groups(enterprise):
            chance = rng.random()
            if outlook == "ahead" and chance < 0.3:
                self.project(enterprise, first_on, first, "accepted")
            elif chance < 0.6:
                self.at_level(enterprise, 2, "self", later)
        elif outlook == "ahead":
            final = 2 if rng.random() < 0.7 else 3
            if rng.random() < 0.85:
                self.project(enterprise, first_on, first, "accepted", final)
            else:
                self.at_level(enterprise, final, "onsite", later)
        else:
            fate = rng.choice(("accepted", "under_way", "under_way", "near_miss", "stalled"))
            if fate == "accepted":
                self.project(enterprise, first_on, first, "accepted")
            elif fate == "under_way":
                self.project(enterprise, first_on, first, rng.choice(STAGES[:3]))
            elif fate == "near_miss":
                self.near_miss(enterprise, later)

    def build(self) -> None:
        """Enrol and plan every pilot city's 细分行业."""
        for pilot in read("pilots.json"):
            taken: set[str] = set()
            for index, sub in enumerate(pilot["sub_industries"]):
                outlook = "ahead" if index % 2 == 0 else "behind"
                members = [
                    e
                    for e in self.enterprises
                    if e["city"] == pilot["city"]
                    and e["key"] not in taken
                    and on_one_branch(e["industry"], sub["industry_codes"])
                ]
                taken.update(e["key"] for e in members)
                counted = [e for e in members if in_groups(e)]
                never_assessed = counted[-1]["key"] if outlook == "behind" and len(counted) > 2 else None
                for enterprise in members:
                    self.enrolments.append(
                        {
                            "city": pilot["city"],
                            "sub_industry": sub["name"],
                            "enterprise_key": enterprise["key"],
                        }
                    )
                    if enterprise["key"] != never_assessed:
                        self.plan(enterprise, outlook)
                self.choose_showcase({e["key"] for e in members}, least=2)
            self.choose_showcase(taken, least=1)

    def choose_showcase(self, keys: set[str], least: int) -> None:
        """Promote the accepted project that rose highest among ``keys``' projects, if none is yet.

        Per 细分行业 when it has ``least`` accepted projects (leaving the others as candidates);
        per city with ``least=1``, so that every pilot city promotes at least one 样板.
        """
        accepted = [p for p in self.projects if p["enterprise_key"] in keys and p["status"] == "accepted"]
        if len(accepted) >= least and not any(p["showcase"] for p in accepted):
            best = max(accepted, key=lambda p: (self.final_levels[p["key"]], p["key"]))
            best["showcase"] = dict(SHOWCASE)

    def files(self) -> dict[str, list[dict]]:
        """The records of each output file."""
        return {
            "enrolments.json": self.enrolments,
            "assessments.json": self.assessments,
            "projects.json": self.projects,
        }


def main() -> None:
    """Build the demo pilots and write their JSON files."""
    builder = PilotBuilder()
    builder.build()
    for name, records in builder.files().items():
        write(name, records)
        print(f"{name}: {len(records)} records")


if __name__ == "__main__":
    main()
