"""Digital-level assessments (数字化水平评测) of enterprises."""
