"""Build the demo catalog: city offices, providers, solutions, cases, enterprises.

Run ``python3 seed_data/demo/build_demo.py`` (or ``python3 -m
seed_data.demo.build_demo``) from the repository root. The output is
deterministic (``random.Random(20241)``) and written as JSON arrays next to
this file. All wording comes from ``vocabulary.py``; solution listings are
written by ``seed_data.synthetic``. Every company is fictional and every
record carries ``"demo": true``. Standard library only.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from seed_data import synthetic  # noqa: E402
from seed_data.demo import vocabulary as vocab  # noqa: E402

SEED = 20241
OUTPUT_DIR = Path(__file__).resolve().parent

SOLUTION_COUNT = 260
CASE_COUNT = 64
ENTERPRISE_COUNT = 168
PROMOTED_CASE_COUNT = 10
COMPETITORS_PER_POPULAR_SCENARIO = 18
MIN_COMPETING_PROVIDERS = 15
MIN_SOLUTIONS_PER_SCENARIO = 6
UNPUBLISHED_STATUSES = ("draft",) * 7 + ("pending_review",) * 6

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORGANIZATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

PROMOTION_STARTS = ("2026-07-01", "2026-09-01", "2026-10-15", "2026-11-01", "2026-12-01", "2027-01-05")
PROMOTION_DAYS = (92, 121, 151, 182, 212)

DEMO_DOMAIN = "demo.example.cn"
CONTACT_MAILBOXES = ("sales", "bd", "service", "contact")

STAFF_BY_SIZE = {"micro": (8, 12, 15), "small": (30, 50, 80), "medium": (120, 200, 300)}


def credit_check_character(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters."""
    total = sum(
        CREDIT_ALPHABET.index(char) * weight for char, weight in zip(first17, CREDIT_WEIGHTS, strict=True)
    )
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def organization_check_character(first8: str) -> str:
    """Return the GB 11714 check character of an organisation code body."""
    total = sum(int(char, 36) * weight for char, weight in zip(first8, ORGANIZATION_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def make_credit_code(
    rng: random.Random, region_code: str, registered_after_2015: bool, taken: set[str]
) -> str:
    """Make a unique, valid 统一社会信用代码 for a company in a region.

    Companies registered after the 2015 reform get ``MA``-style organisation
    codes; older ones a numeric code. Both carry their GB 11714 check digit.
    """
    letters = CREDIT_ALPHABET
    while True:
        if registered_after_2015:
            body = "MA" + rng.choice("123456789") + "".join(rng.choice(letters) for _ in range(5))
        else:
            body = "".join(rng.choice("0123456789") for _ in range(8))
        first17 = "91" + region_code + body + organization_check_character(body)
        code = first17 + credit_check_character(first17)
        if code not in taken:
            taken.add(code)
            return code


def make_phone(rng: random.Random, area_code: str) -> str:
    """Make a landline in the given area, or now and then a mobile number."""
    if rng.random() < 0.35:
        return rng.choice(("13", "15", "18")) + "".join(rng.choice("0123456789") for _ in range(9))
    return f"{area_code}-{rng.choice('5678')}{rng.randrange(10**7):07d}"


def build_city_offices() -> list[dict]:
    """Return one city-office record per pilot city."""
    return [
        {
            "key": f"office-{city['slug']}",
            "city": city["city"],
            "province": city["province"],
            "email": f"{city['slug']}-office@{DEMO_DOMAIN}",
            "name": f"{city['office']}（演示）",
        }
        for city in vocab.CITIES
    ]


def serves(codes: tuple[str, ...] | None, industry: str) -> bool:
    """Tell whether a provider serving ``codes`` (None = all) serves an industry."""
    return codes is None or any(industry.startswith(code) or code.startswith(industry) for code in codes)


def usable_archetypes(kind: dict) -> list[dict]:
    """Return the kind's archetypes that fit the industries it serves."""
    archetypes = [synthetic.ARCHETYPES_BY_CODE[code] for code in kind["archetypes"]]
    if kind["industries"] is None:
        return archetypes
    return [a for a in archetypes if set(synthetic.SPECIFIC_INDUSTRIES[a["code"]]) & set(kind["industries"])]


def provider_description(
    rng: random.Random, profile: dict, kind: dict, home: dict, district: str, year: int
) -> str:
    """Write a provider's self-description."""
    codes = kind["industries"] or home.get("industries") or rng.sample(vocab.ALL_SPECIFIC_INDUSTRIES, 3)
    labels = list(dict.fromkeys(synthetic.industry_profile(code)["label"] for code in codes))
    values = {
        "staff": rng.choice((28, 45, 60, 86, 120, 150, 210, 320)),
        "share": rng.randint(45, 75),
        "labels": "、".join(rng.sample(labels, min(len(labels), rng.randint(2, 3)))),
        "clients": rng.choice((40, 60, 80, 120, 150, 200, 300, 500)),
        "copyrights": rng.randint(12, 60),
        "patents": rng.randint(2, 15),
        "province": home["province"],
        "city_short": home["short"],
    }
    parts = vocab.PROVIDER_DESCRIPTION_PARTS
    credentials = rng.sample(parts["credentials"], 2)
    sentences = [
        f"{profile['short']}成立于{year}年，总部位于{home['city']}{district}，{rng.choice(parts['team'])}。",
        f"公司专注{kind['focus']}，{rng.choice(kind['capabilities'])}。",
        rng.choice(parts["clients"]) + "。",
        "，".join(credentials) + "。",
    ]
    return "".join(sentences).format_map(values)


def build_providers(rng: random.Random, taken_codes: set[str]) -> tuple[list[dict], list[dict]]:
    """Return provider records and, in the same order, their private profiles.

    A profile holds what later steps need: kind, brand, home city, the
    industries the provider serves and the archetypes it sells.
    """
    total = sum(kind["count"] for kind in vocab.PROVIDER_KINDS.values())
    brands = rng.sample(vocab.PROVIDER_BRANDS, total)
    records, profiles = [], []
    for kind_name, kind in vocab.PROVIDER_KINDS.items():
        for _ in range(kind["count"]):
            key = f"prov-{len(records) + 1:03d}"
            brand, pinyin = brands[len(records)]
            homes = [
                c for c in vocab.CITIES if any(serves(kind["industries"], code) for code in c["industries"])
            ]
            if kind["industries"] is None and rng.random() < 0.2:
                homes = list(vocab.PROVIDER_HUBS)
            home = rng.choice(homes)
            region_code, district = rng.choice(home["districts"])
            suffix = rng.choice(kind["suffixes"])
            year = rng.randint(2008, 2021)
            company_form = "股份有限公司" if rng.random() < 0.15 else "有限公司"
            profile = {
                "key": key,
                "kind": kind_name,
                "brand": (brand, pinyin),
                "short": brand + suffix.removesuffix("科技").removesuffix("技术"),
                "city_short": home["short"],
                "allowed": kind["industries"],
                "preferred": home.get("industries", ()),
                "archetypes": usable_archetypes(kind),
            }
            records.append(
                {
                    "key": key,
                    "name": f"{home['short']}{brand}{suffix}{company_form}（演示）",
                    "credit_code": make_credit_code(rng, region_code, year >= 2016, taken_codes),
                    "province": home["province"],
                    "city": home["city"],
                    "description": provider_description(rng, profile, kind, home, district, year),
                    "contact_email": f"{rng.choice(CONTACT_MAILBOXES)}@{pinyin}.{DEMO_DOMAIN}",
                    "contact_phone": make_phone(rng, home["area_code"]),
                    "owner_email": f"{key}@{DEMO_DOMAIN}",
                    "demo": True,
                }
            )
            profiles.append(profile)
    return records, profiles


def plan_solutions(rng: random.Random, profiles: list[dict]) -> list[tuple[dict, dict]]:
    """Decide which provider lists which archetype.

    First every popular scenario gets listings from many different
    providers, then every scenario gets a minimum, then providers with the
    fewest listings fill up the catalog. Listings come out grouped by provider.
    """
    plan: list[tuple[dict, dict]] = []
    load: Counter[str] = Counter()
    used: set[tuple[str, str]] = set()

    def capable(scenario: str) -> list[dict]:
        candidates = [p for p in profiles if any(scenario in a["scenarios"] for a in p["archetypes"])]
        rng.shuffle(candidates)
        return sorted(candidates, key=lambda p: load[p["key"]])

    def add(profile: dict, scenario: str | None = None) -> None:
        options = [a for a in profile["archetypes"] if scenario is None or scenario in a["scenarios"]]
        fresh = [a for a in options if (profile["key"], a["code"]) not in used] or options
        leading = [a for a in fresh if scenario is None or a["scenarios"][0] == scenario] or fresh
        archetype = rng.choice(leading)
        plan.append((profile, archetype))
        load[profile["key"]] += 1
        used.add((profile["key"], archetype["code"]))

    for scenario in vocab.POPULAR_SCENARIOS:
        for profile in capable(scenario)[:COMPETITORS_PER_POPULAR_SCENARIO]:
            add(profile, scenario)
    for scenario in vocab.SCENARIOS:
        while sum(scenario in a["scenarios"] for _, a in plan) < MIN_SOLUTIONS_PER_SCENARIO:
            add(capable(scenario)[0], scenario)
    while len(plan) < SOLUTION_COUNT:
        add(min(profiles, key=lambda p: (load[p["key"]], rng.random())))
    order = {profile["key"]: index for index, profile in enumerate(profiles)}
    return sorted(plan, key=lambda item: order[item[0]["key"]])


def competing_providers(solutions: list[dict], scenario: str) -> int:
    """Count distinct providers with a published listing in a scenario."""
    return len(
        {s["provider_key"] for s in solutions if s["status"] == "published" and scenario in s["scenarios"]}
    )


def build_solutions(rng: random.Random, profiles: list[dict]) -> tuple[list[dict], dict[str, dict]]:
    """Write the solution listings of the plan, with unique titles and a
    handful of drafts and listings pending review.

    :returns: the listings, and the archetype of each listing by key.
    """
    solutions, archetype_of, titles = [], {}, set()
    for number, (profile, archetype) in enumerate(plan_solutions(rng, profiles), start=1):
        while True:
            industries = synthetic.choose_industries(rng, archetype, profile["allowed"], profile["preferred"])
            record = synthetic.compose_solution(
                rng,
                key=f"sol-{number:04d}",
                provider_key=profile["key"],
                brand=profile["brand"],
                archetype=archetype,
                industries=industries,
                city_short=profile["city_short"],
            )
            if record["title"] not in titles:
                break
        titles.add(record["title"])
        archetype_of[record["key"]] = archetype
        solutions.append(record)
    statuses = list(UNPUBLISHED_STATUSES)
    for solution in rng.sample(solutions, len(solutions)):
        if not statuses:
            break
        solution["status"] = statuses[-1]
        if all(competing_providers(solutions, s) >= MIN_COMPETING_PROVIDERS for s in vocab.POPULAR_SCENARIOS):
            statuses.pop()
        else:
            solution["status"] = "published"
    return solutions, archetype_of


def case_metric(rng: random.Random, name: str, industry: str, source_type: str) -> dict:
    """Draw a plausible before/after pair for one case metric."""
    spec = vocab.CASE_METRICS[name]
    heavy = "heavy" in spec and industry in vocab.ENERGY_INTENSIVE_INDUSTRIES
    before = rng.uniform(*(spec["heavy"] if heavy else spec["before"]))
    mode, low, high = spec["change"]
    change = rng.uniform(low, high)
    after = before * (1 + change) if mode == "ratio" else before + change
    after = min(after, spec.get("cap", after))
    decimals = spec["decimals"]
    before, after = synthetic.format_number(before, decimals), synthetic.format_number(after, decimals)
    if before == after:
        step = 10**-decimals
        after = synthetic.format_number(after + (step if change > 0 else -step), decimals)
    return {"name": name, "before": before, "after": after, "unit": spec["unit"], "source_type": source_type}


def metric_phrase(metric: dict) -> str:
    """Word a before/after metric, e.g. ``月均产品合格率由96.2%提高到99.1%``."""
    unit = metric["unit"]
    before = f"{metric['before']}{unit}" if unit == "%" else str(metric["before"])
    verb = "提高到" if metric["after"] > metric["before"] else "降至"
    return f"{metric['name']}由{before}{verb}{metric['after']}{unit}"


def choose_case_metrics(rng: random.Random, archetypes: list[dict]) -> list[str]:
    """Pick 2–4 metric names for a case, at least one of the four 成效 measures."""
    names = list(archetypes[0]["case_metrics"][: rng.randint(1, 2)])
    for archetype in archetypes[1:]:
        names.append(rng.choice(archetype["case_metrics"]))
    names = list(dict.fromkeys(names))[:3]
    if not set(names) & set(vocab.EFFECT_METRICS):
        names.append("每百元营收成本")
    if len(names) < 2:
        names.append(rng.choice([m for m in vocab.EFFECT_METRICS if m not in names]))
    return names


def pick_case_solutions(rng: random.Random, solutions: list[dict], industry: str, author: str) -> list[dict]:
    """Pick one to three published listings that fit an industry.

    Industry-specific listings are three times as likely as generic ones.
    Provider-authored cases only show that provider's listings.
    """
    fitting = [
        s
        for s in solutions
        if s["status"] == "published" and synthetic.is_compatible(s["industries"], industry)
    ]
    weights = [1 if s["industries"] == ["C"] else 3 for s in fitting]
    first = rng.choices(fitting, weights)[0]
    pool = [s for s in fitting if s["scenarios"][0] != first["scenarios"][0]]
    if author == "provider":
        pool = [s for s in pool if s["provider_key"] == first["provider_key"]]
    extra = min(len(pool), rng.choices((0, 1, 2), (45, 40, 15))[0])
    chosen = [first]
    for solution in rng.sample(pool, extra):
        if all(solution["scenarios"][0] != other["scenarios"][0] for other in chosen):
            chosen.append(solution)
    return chosen


def case_source_type(rng: random.Random, author: str) -> str:
    """Say who stands behind a case metric, given who wrote the case."""
    if author == "city_office":
        return rng.choices(("city_accepted", "third_party"), (85, 15))[0]
    return rng.choices(("vendor_claimed", "third_party", "city_accepted"), (50, 25, 25))[0]


def case_text(rng: random.Random, facts: dict) -> tuple[str, str]:
    """Write a case title and a 100–300 character summary from its facts."""
    metrics = facts["metrics"]
    headline = metrics[0]
    title = rng.choice(vocab.CASE_TITLES).format(
        **facts,
        metric=headline["name"],
        verb="提升至" if headline["after"] > headline["before"] else "降至",
        after=headline["after"],
        unit=headline["unit"],
    )
    patterns = list(vocab.CASE_SUMMARIES)
    if not facts["branded"]:
        patterns.remove(vocab.CASE_SUMMARIES[2])
    replicable = rng.choice(vocab.CASE_REPLICABLE).format(**facts)
    for metric_count in (min(3, len(metrics)), 2, 1):
        results = "，".join(metric_phrase(m) for m in metrics[:metric_count])
        summary = rng.choice(patterns).format(**facts, results=results, replicable=replicable)
        if len(summary) <= 300:
            break
    if len(summary) < 100:
        summary += f"{replicable}。"
    return title, summary


def build_cases(
    rng: random.Random, solutions: list[dict], archetype_of: dict[str, dict], profiles: list[dict]
) -> list[dict]:
    """Write benchmark cases (转型样板) in the pilot cities."""
    shorts = {p["key"]: p["short"] for p in profiles}
    cases = []
    for number in range(1, CASE_COUNT + 1):
        city = vocab.CITIES[(number - 1) % len(vocab.CITIES)]
        industry = city["industries"][((number - 1) // len(vocab.CITIES)) % len(city["industries"])]
        author = "city_office" if rng.random() < 0.6 else "provider"
        chosen = pick_case_solutions(rng, solutions, industry, author)
        archetypes = [archetype_of[s["key"]] for s in chosen]
        kit = synthetic.build_kit(rng, archetypes[0], industry)
        profile = synthetic.industry_profile(industry)
        name_word = rng.choice(profile["name_words"])
        branded = rng.random() < 0.3
        brand = rng.choice(vocab.ENTERPRISE_BRANDS)
        enterprise_name = f"{city['short']}{brand if branded else '某'}{name_word}有限公司（演示）"
        level_before = rng.choices((0, 1, 2, 3), (10, 50, 30, 10))[0]
        level_after = min(4, level_before + rng.choices((1, 2), (80, 20))[0])
        metrics = [
            case_metric(rng, name, industry, case_source_type(rng, author))
            for name in choose_case_metrics(rng, archetypes)
        ]
        investment = sum(rng.uniform(s["price_min_cny"], s["price_max_cny"]) for s in chosen)
        investment = synthetic.round_price(investment * rng.uniform(1.0, 1.3))
        providers = list(dict.fromkeys(s["provider_key"] for s in chosen))
        main = archetypes[0]["scenarios"][0]
        anonymous = f"{city['short']}某{name_word}企业"
        facts = {
            "ent": f"{brand}{name_word}" if branded else anonymous,
            "ent_short": f"{city['short']}{brand}{name_word}" if branded else anonymous,
            "branded": branded,
            "city_short": city["short"],
            "label": profile["label"],
            "product": kit["product"],
            "customer": rng.choice(profile["customers"]),
            "pain": rng.choice(kit["pains"]),
            "year": rng.choice((2024, 2025)),
            "trigger": rng.choice(vocab.CASE_TRIGGERS).format(city_short=city["short"]),
            "solutions": "、".join(f"{shorts[s['provider_key']]}的“{s['title']}”" for s in chosen),
            "action": rng.choice(archetypes[0]["case_action"]),
            "detail": rng.choice(kit["functions"]).split("，")[0],
            "scenario_name": vocab.SCENARIOS[main]["name"],
            "outcome": vocab.OUTCOME_WORDS[main],
            "level_before": vocab.LEVEL_NAMES[level_before],
            "level_after": vocab.LEVEL_NAMES[level_after],
            "invest": round(investment / 10000, 1),
            "payback": rng.randint(8, 30),
            "peers": rng.randint(3, 20),
            "metrics": metrics,
        }
        title, summary = case_text(rng, facts)
        cases.append(
            {
                "key": f"case-{number:03d}",
                "title": title,
                "enterprise_name": enterprise_name,
                "city": city["city"],
                "province": city["province"],
                "industry": industry,
                "scenarios": list(dict.fromkeys(sc for s in chosen for sc in s["scenarios"])),
                "solution_keys": [s["key"] for s in chosen],
                "summary": summary,
                "metrics": metrics,
                "level_before": level_before,
                "level_after": level_after,
                "investment_cny": investment,
                "author": author,
                "provider_key": None if author == "city_office" and len(providers) > 1 else providers[0],
                "promotion": None,
                "demo": True,
            }
        )
    promote_cases(rng, cases)
    return cases


def promote_cases(rng: random.Random, cases: list[dict]) -> None:
    """Give about ten city-office cases a promotion window and note."""
    eligible = [case for case in cases if case["author"] == "city_office"]
    for case in rng.sample(eligible, min(PROMOTED_CASE_COUNT, len(eligible))):
        starts_on = dt.date.fromisoformat(rng.choice(PROMOTION_STARTS))
        ends_on = starts_on + dt.timedelta(days=rng.choice(PROMOTION_DAYS))
        case["promotion"] = {
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat(),
            "note": rng.choice(vocab.PROMOTION_NOTES),
        }


def enterprise_needs(rng: random.Random, profile: dict, district: str, size: str) -> str:
    """Write an SME owner's needs statement, 40–160 characters.

    One pain point is often the industry's own; a second one, a joiner and
    a closing wish are kept when the length allows.
    """
    values = {name: rng.choice(profile[field]) for name, field in synthetic.PROFILE_SLOTS.items()}
    values.update(label=profile["label"], district=district, staff=rng.choice(STAFF_BY_SIZE[size]))
    popular = [s for s in vocab.NEED_PAINS if s in vocab.POPULAR_SCENARIOS]
    own = [text for _, text in profile["owner_pains"]]
    first = (
        rng.choice(own) if own and rng.random() < 0.5 else rng.choice(vocab.NEED_PAINS[rng.choice(popular)])
    )
    second = rng.choice([p for pains in vocab.NEED_PAINS.values() for p in pains if p != first])
    opener, joiner = rng.choice(vocab.NEED_OPENERS), rng.choice(vocab.NEED_JOINERS)
    closer = rng.choice(vocab.NEED_CLOSERS)
    candidates = (
        f"{opener}{first}{joiner}{second}。{closer}",
        f"{opener}{first}{joiner}{second}。",
        f"{opener}{first}。{closer}",
        f"{opener}{first}{joiner}{second}。{vocab.NEED_CLOSERS[0]}",
        f"{first}。{vocab.NEED_CLOSERS[0]}",
    )
    texts = [candidate.format_map(values) for candidate in candidates]
    return next((text for text in texts if 40 <= len(text) <= 160), texts[-1])


def enterprise_profile_fields(rng: random.Random) -> dict:
    """Draw size, 规上 status, quality tier and digital level consistently."""
    size = rng.choices(("micro", "small", "medium"), (15, 50, 35))[0]
    above_scale = {"micro": False, "small": rng.random() < 0.5, "medium": rng.random() < 0.9}[size]
    tiers = ("none", "innovative", "specialized", "little_giant")
    weights = (50, 30, 15, 5) if above_scale else (65, 30, 5, 0)
    tier = rng.choices(tiers, weights)[0]
    level_weights = (2, 25, 45, 22, 6) if tier in ("specialized", "little_giant") else (10, 45, 33, 10, 2)
    return {
        "size": size,
        "above_scale": above_scale,
        "tier": tier,
        "digital_level": rng.choices(range(5), level_weights)[0],
    }


def build_enterprises(rng: random.Random, taken_codes: set[str]) -> list[dict]:
    """Write SME records spread across the pilot cities and their industries."""
    enterprises, names = [], set()
    for number in range(1, ENTERPRISE_COUNT + 1):
        city = vocab.CITIES[(number - 1) % len(vocab.CITIES)]
        industry = city["industries"][((number - 1) // len(vocab.CITIES)) % len(city["industries"])]
        profile = synthetic.industry_profile(industry)
        region_code, district = rng.choice(city["districts"])
        while True:
            prefix = city["short"] if rng.random() < 0.8 else city["province"][:2]
            brand, name_word = rng.choice(vocab.ENTERPRISE_BRANDS), rng.choice(profile["name_words"])
            name = f"{prefix}{brand}{name_word}有限公司（演示）"
            if name not in names:
                names.add(name)
                break
        key = f"ent-{number:03d}"
        fields = enterprise_profile_fields(rng)
        enterprises.append(
            {
                "key": key,
                "name": name,
                "credit_code": make_credit_code(rng, region_code, rng.random() < 0.6, taken_codes),
                "province": city["province"],
                "city": city["city"],
                "industry": industry,
                **fields,
                "needs": enterprise_needs(rng, profile, district, fields["size"]),
                "owner_email": f"{key}@{DEMO_DOMAIN}",
                "demo": True,
            }
        )
    return enterprises


def write_json(name: str, records: list[dict]) -> None:
    """Write records as a UTF-8 JSON array with one-space indentation."""
    text = json.dumps(records, ensure_ascii=False, indent=1)
    (OUTPUT_DIR / name).write_text(text + "\n", encoding="utf-8")


def build_catalog(seed: int = SEED) -> dict[str, list[dict]]:
    """Build every demo file's records, keyed by file name."""
    rng = random.Random(seed)
    taken_codes: set[str] = set()
    providers, profiles = build_providers(rng, taken_codes)
    solutions, archetype_of = build_solutions(rng, profiles)
    cases = build_cases(rng, solutions, archetype_of, profiles)
    enterprises = build_enterprises(rng, taken_codes)
    return {
        "city_offices.json": build_city_offices(),
        "providers.json": providers,
        "solutions.json": solutions,
        "cases.json": cases,
        "enterprises.json": enterprises,
    }


def main() -> None:
    """Build the demo catalog and write its JSON files."""
    for name, records in build_catalog().items():
        write_json(name, records)
        print(f"{name}: {len(records)} records")


if __name__ == "__main__":
    main()
