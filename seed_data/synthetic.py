"""Write plausible marketplace solution listings from the curated vocabulary.

Writing a listing has two steps. ``build_kit`` words a solution archetype
for one industry: every sentence fragment gets its industry words (products,
defects, equipment...) and incidental numbers filled in. ``compose_solution``
then assembles one listing from a kit: title style, sentence choice and
order, prices, deployment days, outcome claims and level uplifts.

``seed_data/demo/build_demo.py`` builds a fresh kit for every curated demo
listing. ``iter_synthetic_solutions`` reuses a few kits per archetype and
industry, which keeps 100,000 listings within a few seconds. Standard
library only.
"""

from __future__ import annotations

import itertools
import random
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence

from seed_data.demo import vocabulary as vocab

ARCHETYPES_BY_CODE = {archetype["code"]: archetype for archetype in vocab.ARCHETYPES}
"""Archetype dicts keyed by their code."""

KIT_VARIANTS = 4
"""Distinct wordings per (archetype, industry) in bulk synthetic data."""

STATUSES = ("published", "draft", "pending_review")
STATUS_CUM_WEIGHTS = (95, 98, 100)

CLAIM_SOURCES = ("vendor_claimed", "third_party", "city_accepted")
CLAIM_SOURCE_CUM_WEIGHTS = (72, 90, 100)

COUNTS = (0, 1, 2, 3)
CLAIM_COUNT_CUM_WEIGHTS = (15, 55, 90, 100)
UPLIFT_COUNT_CUM_WEIGHTS = (15, 60, 90, 100)
SECONDARY_UPLIFTS = ((1, 2), (2, 3))

RELATIVE_ENDINGS = ("下降", "减少", "缩短", "缩小", "提升", "增长", "降低", "节省", "提前")

SUMMARY_LIMIT = 120
DESCRIPTION_RANGE = (150, 400)

PROFILE_SLOTS = {
    "product": "products",
    "defect": "defects",
    "equipment": "equipment",
    "process": "processes",
    "param": "params",
    "energy": "energy",
    "material": "materials",
    "customer": "customers",
}
"""Slots filled with one word from the industry-profile list named."""

NUMBER_SLOTS = {
    "cams": tuple(range(2, 9)),
    "ppm": (30, 60, 90, 120, 200, 300),
    "points": (50, 100, 200, 300),
    "agvs": tuple(range(2, 7)),
    "clients": tuple(range(12, 181)),
    "onsite": (3, 5, 7, 10),
    "trial": (15, 30),
}
"""Slots filled with one of the numbers listed."""

DEFERRED_SLOTS = {"days": "{days}", "city_short": "{city_short}"}
"""Per-listing slots a kit leaves as placeholders."""

ARCHETYPE_CUM_WEIGHTS = tuple(
    itertools.accumulate(
        3 if archetype["scenarios"][0] in vocab.POPULAR_SCENARIOS else 1 for archetype in vocab.ARCHETYPES
    )
)
"""Archetypes of popular scenarios come up three times as often in bulk data."""

SPECIFIC_INDUSTRIES = {
    archetype["code"]: tuple(code for code in archetype["industries"] if code != "C")
    for archetype in vocab.ARCHETYPES
}
"""Each archetype's industry codes other than the generic ``C``."""

MODE_CHOICES = {
    archetype["code"]: tuple(
        (combo[0], tuple(mode for mode in vocab.DELIVERY_MODES if mode in combo))
        for combo in archetype["modes"]
    )
    for archetype in vocab.ARCHETYPES
}
"""Each archetype's delivery options as (leading mode, modes in canonical order)."""

TITLE_STYLES = ("{series}{core}", "{brand}{core}", "{brand}{series}·{core}", "{core}")
LABELLED_TITLE_STYLE = "{core}（{label}版）"

DESCRIPTION_ORDERS = (
    ("opener", "function", "extra", "hardware", "deployment", "mode", "results", "service"),
    ("opener", "function", "extra", "results", "hardware", "mode", "deployment", "service"),
    ("opener", "results", "function", "extra", "deployment", "hardware", "mode", "service"),
)
"""Orders in which description parts may appear."""

DROP_ORDER = ("service", "extra", "mode", "hardware", "function")
"""Parts dropped, in this order, while a description is too long."""

SUMMARIES_BY_LENGTH = tuple(sorted(vocab.SOLUTION_SUMMARIES, key=len))


def industry_profile(code: str) -> dict:
    """Return the wording profile for an industry code (generic for ``C``)."""
    return vocab.INDUSTRY_PROFILES.get(code, vocab.GENERIC_PROFILE)


def is_compatible(solution_industries: Sequence[str], industry: str) -> bool:
    """Tell whether a solution tagged with these codes fits an industry.

    A generic solution (``C``) fits every industry; otherwise a code fits
    itself and every finer code below it (``C36`` fits ``C3670``).
    """
    return any(code == "C" or industry.startswith(code) for code in solution_industries)


def round_price(value: float) -> int:
    """Round a price to a figure a vendor would quote."""
    step = 1000 if value < 100_000 else 5000
    return max(step, int(round(value / step)) * step)


def format_number(value: float, decimals: int) -> float | int:
    """Round to the given decimals; whole numbers become ``int``."""
    return int(round(value)) if decimals == 0 else round(value, decimals)


def claim_template(spec: tuple) -> str:
    """Return the phrase pattern (with ``{v}``) that words an outcome claim."""
    metric, unit = spec[0], spec[1]
    if len(spec) > 5:
        return spec[5]
    if metric.endswith(RELATIVE_ENDINGS):
        return f"{metric}约{{v}}{unit}"
    return f"{metric}达{{v}}{unit}"


CLAIM_TEMPLATES = {spec: claim_template(spec) for a in vocab.ARCHETYPES for spec in a["claims"]}
"""Phrase pattern of every claim spec in the vocabulary."""


def choose_industries(
    rng: random.Random,
    archetype: dict,
    allowed: Sequence[str] | None = None,
    preferred: Sequence[str] = (),
    generic_share: float = 0.35,
) -> list[str]:
    """Pick the industry codes a listing targets.

    :param allowed: codes a specialised provider serves; ``None`` for any.
    :param preferred: codes to favour, e.g. the provider's home-city industries.
    :param generic_share: chance of a generic (``C``) listing when possible.
    :returns: ``["C"]`` for a generic listing, else one to three codes.
    """
    rand = rng.random
    specific = SPECIFIC_INDUSTRIES[archetype["code"]]
    if allowed is not None:
        specific = [code for code in specific if code in allowed]
    elif len(specific) < len(archetype["industries"]) and (not specific or rand() < generic_share):
        return ["C"]
    if not specific:
        return ["C"]
    favoured = [code for code in specific if code in preferred] if preferred else ()
    pool = favoured if favoured and rand() < 0.6 else specific
    chosen = [pool[int(rand() * len(pool))]]
    if rand() < 0.4:
        siblings = [code for code in specific if code != chosen[0] and code[:3] == chosen[0][:3]]
        if siblings:
            chosen.append(siblings[int(rand() * len(siblings))])
    if rand() < 0.15:
        others = [code for code in specific if code not in chosen]
        if others:
            chosen.append(others[int(rand() * len(others))])
    return chosen


def _draw_slots(rng: random.Random, profile: dict) -> dict:
    """Draw the industry words and incidental numbers one wording uses."""
    slots = {name: rng.choice(profile[field]) for name, field in PROFILE_SLOTS.items()}
    slots.update((name, rng.choice(values)) for name, values in NUMBER_SLOTS.items())
    for name, count in (("defects", rng.randint(2, 3)), ("params", 2)):
        items = profile[name]
        start = rng.randrange(len(items))
        slots[name] = "、".join((items + items)[start : start + count])
    slots["label"] = profile["label"]
    slots.update(DEFERRED_SLOTS)
    return slots


def build_kit(rng: random.Random, archetype: dict, industry: str) -> dict:
    """Word an archetype for one industry.

    Every title core, pain point, function, hardware sentence, deployment
    note and service sentence is formatted with one draw of industry words
    and numbers; ``{days}`` and ``{city_short}`` stay as placeholders.

    :param archetype: one of ``vocabulary.ARCHETYPES``.
    :param industry: the industry code whose profile sets the wording.
    :returns: a dict of formatted fragments.
    """
    profile = industry_profile(industry)
    slots = _draw_slots(rng, profile)
    generic = industry == "C" or not archetype["industry_titles"]
    cores = archetype["titles"] if generic else archetype["industry_titles"] + archetype["titles"]
    hardware_items = [item.format_map(slots) for item in archetype["hardware"]]
    return {
        "label": profile["label"],
        "product": slots["product"],
        "generic": industry == "C",
        "cores": tuple(core.format_map(slots) for core in cores),
        "pains": tuple(pain.format_map(slots) for pain in archetype["pains"]),
        "functions": tuple(function.format_map(slots) for function in archetype["functions"]),
        "hardware": tuple(
            sentence.format(hardware=item) for item in hardware_items for sentence in vocab.HARDWARE_SENTENCES
        ),
        "deployment": tuple(note.format_map(slots) + "。" for note in archetype["deployment"]),
        "services": tuple(sentence.format_map(slots) for sentence in vocab.SERVICE_SENTENCES),
    }


def _sample(rand: Callable[[], float], items: Sequence, count: int) -> list:
    """Return ``count`` distinct items in random order."""
    pool = list(items)
    chosen = []
    for _ in range(count):
        chosen.append(pool.pop(int(rand() * len(pool))))
    return chosen


def _title(rand: Callable[[], float], archetype: dict, kit: dict, words: dict, pinyin: str) -> str:
    """Write a listing title: a core product name dressed as a vendor would."""
    core = words["core"]
    styles = TITLE_STYLES
    if not kit["generic"] and kit["label"] not in core and kit["product"] not in core:
        styles += (LABELLED_TITLE_STYLE,)
    if archetype["hardware"]:
        prefixes = vocab.MODEL_PREFIXES
        model = f"{pinyin[:2].upper()}-{prefixes[int(rand() * len(prefixes))]}{1 + int(rand() * 9)}00"
        styles += ("{core} " + model,)
    return styles[int(rand() * len(styles))].format_map(words)


def _claims(rand: Callable[[], float], archetype: dict) -> tuple[list[dict], list[str]]:
    """Draw outcome claims and the phrases that word them."""
    specs = archetype["claims"]
    count = min(len(specs), COUNTS[bisect_right(CLAIM_COUNT_CUM_WEIGHTS, rand() * 100)])
    claims, phrases = [], []
    for spec in _sample(rand, specs, count):
        value = format_number(spec[2] + (spec[3] - spec[2]) * rand(), spec[4])
        source = CLAIM_SOURCES[bisect_right(CLAIM_SOURCE_CUM_WEIGHTS, rand() * 100)]
        claims.append({"metric": spec[0], "value": value, "unit": spec[1], "source_type": source})
        phrases.append(CLAIM_TEMPLATES[spec].format(v=value))
    return claims, phrases


def _uplifts(rand: Callable[[], float], archetype: dict, scenarios: list[str]) -> list[dict]:
    """Draw the digital-level uplifts a listing claims, main scenario first."""
    count = min(len(scenarios), COUNTS[bisect_right(UPLIFT_COUNT_CUM_WEIGHTS, rand() * 100)])
    uplifts = []
    for index in range(count):
        options = archetype["uplift"] if index == 0 else SECONDARY_UPLIFTS
        from_level, to_level = options[int(rand() * len(options))]
        uplifts.append({"scenario": scenarios[index], "from_level": from_level, "to_level": to_level})
    return uplifts


def _results_sentence(rand: Callable[[], float], claims: list[dict], phrases: list[str], main: str) -> str:
    """Word the outcome claims, each group behind the lead-in of its source."""
    if not claims:
        return vocab.QUALITATIVE_RESULTS[main]
    groups: dict[str, list[str]] = {}
    for claim, phrase in zip(claims, phrases, strict=True):
        groups.setdefault(claim["source_type"], []).append(phrase)
    parts = []
    for source, items in groups.items():
        leads = vocab.CLAIM_LEADS[source]
        parts.append(leads[int(rand() * len(leads))] + "，".join(items))
    return "；".join(parts) + "。"


def _description(
    rand: Callable[[], float], kit: dict, words: dict, modes: Sequence[str], results: str
) -> str:
    """Assemble a 150–400 character description from varied sentence parts.

    ``modes[0]`` is the leading delivery mode. Parts come in one of a few
    orders; optional parts are dropped (or added) to fit the length range.
    """
    functions = _sample(rand, kit["functions"], 3)
    words["function"] = functions[0]
    words["function_short"] = functions[int(rand() * 3)].split("，")[0]
    extra = functions[2] + "。"
    hardware = kit["hardware"]
    if hardware and ("edge" in modes or "hardware_bundle" in modes or rand() < 0.3):
        hardware = hardware[int(rand() * len(hardware))]
    else:
        hardware = ""
    openers, deployment, services = vocab.SOLUTION_OPENERS, kit["deployment"], kit["services"]
    mode_sentences = vocab.MODE_SENTENCES[modes[0]]
    city = words["city_short"]
    parts = {
        "opener": openers[int(rand() * len(openers))].format_map(words),
        "function": functions[1] + "。",
        "extra": extra if rand() < 0.5 else "",
        "hardware": hardware,
        "deployment": deployment[int(rand() * len(deployment))].replace("{days}", str(words["days"])),
        "mode": mode_sentences[int(rand() * len(mode_sentences))],
        "results": results,
        "service": services[int(rand() * len(services))].replace("{city_short}", city)
        if rand() < 0.5
        else "",
    }
    low, high = DESCRIPTION_RANGE
    length = sum(map(len, parts.values()))
    for droppable in DROP_ORDER:
        if length <= high:
            break
        length -= len(parts[droppable])
        parts[droppable] = ""
    if length < low and not parts["extra"]:
        parts["extra"] = extra
    order = DESCRIPTION_ORDERS[int(rand() * len(DESCRIPTION_ORDERS))]
    text = "".join([parts[name] for name in order])
    for filler in services:
        if len(text) >= low:
            break
        text += filler.replace("{city_short}", city)
    return text


def _summary(rand: Callable[[], float], words: dict, mode: str, phrases: list[str]) -> str:
    """Write a one-sentence summary of at most 120 characters."""
    mode_phrases, patterns = vocab.MODE_SHORT[mode], vocab.SOLUTION_SUMMARIES
    words["pain_short"] = words["pain"].split("，")[0]
    words["claim_short"] = phrases[0] if phrases else "部署快、见效快"
    words["mode_short"] = mode_phrases[int(rand() * len(mode_phrases))]
    for pattern in (patterns[int(rand() * len(patterns))], *SUMMARIES_BY_LENGTH):
        text = pattern.format_map(words)
        if len(text) <= SUMMARY_LIMIT:
            return text
    return text[: SUMMARY_LIMIT - 1] + "。"


def compose_solution(
    rng: random.Random,
    *,
    key: str,
    provider_key: str,
    brand: tuple[str, str],
    archetype: dict,
    industries: list[str],
    status: str = "published",
    city_short: str = "",
    kit: dict | None = None,
) -> dict:
    """Write one solution listing in the ``solutions.json`` record shape.

    Draws are written out as ``items[int(rand() * len(items))]`` rather than
    calls to ``random.choice``: a listing takes about forty draws, and a
    Python call per draw would double the time of bulk generation.

    :param rng: the random source; the caller owns seeding.
    :param brand: the provider's brand word and its pinyin.
    :param archetype: one of ``vocabulary.ARCHETYPES``.
    :param industries: target codes; the first one sets the wording.
    :param city_short: the provider's home city, used in service sentences.
    :param kit: a ``build_kit`` result for this archetype and the first
        industry; a fresh one is built when omitted.
    :returns: a dict with the keys of a solution record, in order.
    """
    rand = rng.random
    if kit is None:
        kit = build_kit(rng, archetype, industries[0])
    main = archetype["scenarios"][0]
    cores, series, pains = kit["cores"], vocab.SERIES_NAMES[main], kit["pains"]
    low_days, high_days = archetype["deploy"]
    words = {
        "label": kit["label"],
        "core": cores[int(rand() * len(cores))],
        "brand": brand[0],
        "series": series[int(rand() * len(series))],
        "scenario_name": vocab.SCENARIOS[main]["name"],
        "pain": pains[int(rand() * len(pains))],
        "city_short": city_short or vocab.CITIES[int(rand() * len(vocab.CITIES))]["short"],
        "days": low_days + int(rand() * (high_days - low_days + 1)),
    }
    title = _title(rand, archetype, kit, words, brand[1])
    scenarios = list(archetype["scenarios"])
    for scenario in archetype["optional_scenarios"]:
        if rand() < 0.25:
            scenarios.append(scenario)
    mode_choices = MODE_CHOICES[archetype["code"]]
    lead_mode, modes = mode_choices[int(rand() * len(mode_choices))]
    low, high = archetype["price"]
    if modes == ("saas",):
        band_low, band_high = vocab.SAAS_ANNUAL_PRICE_BAND
        low, high = max(low, band_low), min(high, band_high)
    price_min = round_price(low + (high - low) * 0.55 * rand())
    price_max = max(price_min, round_price(min(high, price_min * (1.2 + 1.8 * rand()))))
    claims, phrases = _claims(rand, archetype)
    extra_tags = archetype["extra_tags"]
    tags = list(archetype["tags"][: 2 + int(rand() * 2)])
    tags += _sample(rand, extra_tags, 1 + int(rand() * min(3, len(extra_tags))))
    if not kit["generic"] and rand() < 0.3:
        tags.append(kit["label"])
    results = _results_sentence(rand, claims, phrases, main)
    description = _description(rand, kit, words, (lead_mode, *modes), results)
    return {
        "key": key,
        "provider_key": provider_key,
        "title": title,
        "summary": _summary(rand, words, lead_mode, phrases),
        "description": description,
        "industries": industries,
        "scenarios": scenarios,
        "tags": list(dict.fromkeys(tags)),
        "price_min_cny": price_min,
        "price_max_cny": price_max,
        "deploy_days": words["days"],
        "delivery_modes": list(modes),
        "level_uplifts": _uplifts(rand, archetype, scenarios),
        "outcome_claims": claims,
        "status": status,
        "demo": True,
    }


def iter_synthetic_solutions(n: int, provider_keys: list[str], seed: int = 7) -> Iterator[dict]:
    """Yield ``n`` plausible solution records keyed ``syn-000001`` onwards.

    Each (archetype, industry) pair is worded in up to ``KIT_VARIANTS`` ways;
    listings mix those wordings with per-listing titles, sentence choices,
    prices and claims. The same arguments always yield the same records.

    :param n: how many records to yield.
    :param provider_keys: provider keys to attribute the listings to.
    :param seed: seed of the private random source.
    :returns: an iterator of dicts in the ``solutions.json`` record shape.
    :raises ValueError: if ``n`` is negative or ``provider_keys`` is empty.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    if not provider_keys:
        raise ValueError("provider_keys must not be empty")
    rng = random.Random(seed)
    rand = rng.random
    brands = vocab.PROVIDER_BRANDS
    brand_of = {key: brands[index % len(brands)] for index, key in enumerate(provider_keys)}
    archetypes, total_weight = vocab.ARCHETYPES, ARCHETYPE_CUM_WEIGHTS[-1]
    kits: dict[tuple[str, str, int], dict] = {}
    for number in range(1, n + 1):
        archetype = archetypes[bisect_right(ARCHETYPE_CUM_WEIGHTS, rand() * total_weight)]
        industries = choose_industries(rng, archetype)
        kit_key = (archetype["code"], industries[0], int(rand() * KIT_VARIANTS))
        kit = kits.get(kit_key)
        if kit is None:
            kit = kits[kit_key] = build_kit(rng, archetype, industries[0])
        provider_key = provider_keys[int(rand() * len(provider_keys))]
        yield compose_solution(
            rng,
            key=f"syn-{number:06d}",
            provider_key=provider_key,
            brand=brand_of[provider_key],
            archetype=archetype,
            industries=industries,
            status=STATUSES[bisect_right(STATUS_CUM_WEIGHTS, rand() * 100)],
            kit=kit,
        )
