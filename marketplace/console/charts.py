"""Bars drawn on the server as SVG: a share against its target line, readable without script."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 320
BAR_HEIGHT = 22


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: the share reached (0–1, None if nobody counts) and the target share."""

    label: str
    share: float | None
    target: float
    members: int
    achieved: int
    needed: int

    @property
    def filled(self) -> float:
        """The bar's length in SVG units."""
        return round(WIDTH * min(max(self.share or 0.0, 0.0), 1.0), 1)

    @property
    def target_x(self) -> float:
        """Where the target line stands."""
        return round(WIDTH * min(self.target, 1.0), 1)

    @property
    def met(self) -> bool:
        """True once the share reaches the target."""
        return self.members > 0 and self.needed == 0

    @property
    def description(self) -> str:
        """What the bar shows, in words, for screen readers and as the figure's caption."""
        if self.members == 0:
            return f"{self.label}：暂无计入考核的企业（目标 {percent(self.target)}）"
        reached = f"{self.achieved}/{self.members} 家达到二级及以上（{percent(self.share)}）"
        reached += f"，目标 {percent(self.target)}"
        return f"{self.label}：{reached}，" + ("已达标" if self.met else f"还需 {self.needed} 家")


def percent(share: float | None) -> str:
    """0.875 → 87.5%; None → —."""
    if share is None:
        return "—"
    return f"{share * 100:.1f}".rstrip("0").rstrip(".") + "%"


def rule_bar(label: str, rule: dict) -> Bar:
    """A bar from the dashboard's rule block (``main_group`` or ``little_giant``)."""
    return Bar(
        label=label,
        share=rule.get("share"),
        target=rule["target_share"],
        members=rule["members"],
        achieved=rule["achieved"],
        needed=rule["needed"],
    )
