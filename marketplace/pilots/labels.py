"""Chinese names of the pilot's codes, as the API and the export show them."""

from __future__ import annotations

from marketplace.pilots.models import ProjectStatus

STATUS_NAMES = {
    ProjectStatus.DIAGNOSIS: "诊断评估",
    ProjectStatus.FILING: "备案审核",
    ProjectStatus.IMPLEMENTATION: "改造实施",
    ProjectStatus.ACCEPTED: "竣工验收",
}
SIZE_NAMES = {"micro": "微型", "small": "小型", "medium": "中型"}
TIER_NAMES = {
    "none": "无",
    "innovative": "创新型中小企业",
    "specialized": "专精特新中小企业",
    "little_giant": "专精特新“小巨人”",
}
KIND_NAMES = {"self": "自评", "onsite": "现场评定"}
TIER_STATUS_NAMES = {"verified": "已核实", "unverified": "待核实", "differs": "自报与核实不一致"}
UNVERIFIED = "unverified"
