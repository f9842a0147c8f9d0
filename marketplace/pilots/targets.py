"""The pilot-target arithmetic: the 90% and 100% rules per 细分行业, in exact fractions; no Flask.

The targets themselves (the level and the shares) come from the indicator
(:class:`~marketplace.assessments.indicator.PilotTargets`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from marketplace.assessments.indicator import PilotTargets

MAIN_GROUP_TIERS = frozenset({"specialized", "little_giant"})
LITTLE_GIANT_TIER = "little_giant"
MET, NOT_MET, NOT_APPLICABLE = "met", "not_met", "not_applicable"


def in_main_group(above_scale: bool, tier: str) -> bool:
    """Whether an enterprise counts in the 90% group: 规上, or 专精特新 (provincial or national).

    Reading of 财办建〔2024〕23号: the group is the union of 规上工业中小企业 and 省级专精特新
    中小企业, each enterprise counted once. A national 专精特新“小巨人” has first been recognised
    as a provincial 专精特新 enterprise, so it counts here too, and also in the 100% group
    (:func:`in_little_giant_group`).
    """
    return above_scale or tier in MAIN_GROUP_TIERS


def in_little_giant_group(tier: str) -> bool:
    """Whether an enterprise counts in the 100% group: national 专精特新“小巨人”."""
    return tier == LITTLE_GIANT_TIER


def required_count(members: int, share: Fraction) -> int:
    """How many of ``members`` must reach the target: ⌈share·members⌉ in exact integers."""
    return -(-share.numerator * members // share.denominator)


@dataclass(frozen=True)
class RuleProgress:
    """Where one group stands against its share target.

    Enterprises with no assessment count as below the target level (``unassessed`` says how
    many). ``needed`` is how many more must reach the target, never negative.
    """

    members: int
    achieved: int
    unassessed: int
    required: int
    needed: int
    target_share: Fraction

    @property
    def share(self) -> Fraction | None:
        """The share at the target level; None for an empty group."""
        return Fraction(self.achieved, self.members) if self.members else None

    @property
    def status(self) -> str:
        """``met``, ``not_met``, or ``not_applicable`` for an empty group."""
        if not self.members:
            return NOT_APPLICABLE
        return NOT_MET if self.needed else MET


def rule_progress(levels: Iterable[int | None], share: Fraction, target_level: int) -> RuleProgress:
    """Progress of one group, given each member's latest level (None = not assessed)."""
    levels = list(levels)
    achieved = sum(1 for level in levels if level is not None and level >= target_level)
    required = required_count(len(levels), share)
    return RuleProgress(
        members=len(levels),
        achieved=achieved,
        unassessed=sum(1 for level in levels if level is None),
        required=required,
        needed=max(0, required - achieved),
        target_share=share,
    )


def combine_rules(parts: Iterable[RuleProgress], share: Fraction) -> RuleProgress:
    """Totals over several 细分行业: counts add up, and so does ``needed``.

    The target holds per 细分行业, so the total need is the sum of each one's need, not the need
    of the pooled enterprises; the total is met only when every 细分行业 with members is.
    """
    parts = list(parts)
    return RuleProgress(
        members=sum(p.members for p in parts),
        achieved=sum(p.achieved for p in parts),
        unassessed=sum(p.unassessed for p in parts),
        required=sum(p.required for p in parts),
        needed=sum(p.needed for p in parts),
        target_share=share,
    )


@dataclass(frozen=True)
class Member:
    """An enrolled enterprise as the targets see it."""

    above_scale: bool
    tier: str
    level: int | None


@dataclass(frozen=True)
class PilotProgress:
    """One 细分行业 (or the total) against both targets, with 规下 enterprises for reference."""

    main: RuleProgress
    little_giant: RuleProgress
    below_scale: RuleProgress

    @property
    def status(self) -> str:
        """``not_met`` if either target is missed, ``met`` if any applies and all hold."""
        statuses = {self.main.status, self.little_giant.status}
        if NOT_MET in statuses:
            return NOT_MET
        return MET if MET in statuses else NOT_APPLICABLE


def pilot_progress(members: Iterable[Member], targets: PilotTargets) -> PilotProgress:
    """Both targets for one 细分行业; 规下 enterprises are tallied without a share target."""
    members = list(members)
    level = targets.target_level
    return PilotProgress(
        main=rule_progress(
            (m.level for m in members if in_main_group(m.above_scale, m.tier)),
            targets.main_group_share,
            level,
        ),
        little_giant=rule_progress(
            (m.level for m in members if in_little_giant_group(m.tier)), targets.little_giant_share, level
        ),
        below_scale=rule_progress((m.level for m in members if not m.above_scale), Fraction(0), level),
    )


def combine_progress(parts: Iterable[PilotProgress], targets: PilotTargets) -> PilotProgress:
    """The total over several 细分行业 (see :func:`combine_rules`)."""
    parts = list(parts)
    return PilotProgress(
        main=combine_rules((p.main for p in parts), targets.main_group_share),
        little_giant=combine_rules((p.little_giant for p in parts), targets.little_giant_share),
        below_scale=combine_rules((p.below_scale for p in parts), Fraction(0)),
    )
