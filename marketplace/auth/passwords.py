"""The password rules: long enough, not blank, not common, not the account's e-mail or name."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import current_app

MIN_LENGTH = 10
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path("passwords") / "common.txt"


@lru_cache(maxsize=4)
def common_passwords(seed_dir: str) -> frozenset[str]:
    """The bundled list of common passwords (``seed_data/passwords/common.txt``), lower-cased."""
    lines = (Path(seed_dir) / COMMON_PASSWORDS_FILE).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problems(password: str, email: str | None = None, name: str | None = None) -> list[str]:
    """Say in Chinese what is wrong with ``password`` for the account of ``email`` and ``name``.

    :returns: the problems, empty if the password may be used.
    """
    if not password.strip():
        return ["密码不能全为空白字符"]
    if len(password) < MIN_LENGTH or len(password) > MAX_LENGTH:
        return [f"密码长度应在 {MIN_LENGTH} 到 {MAX_LENGTH} 个字符之间"]
    folded = password.strip().lower()
    if folded in common_passwords(current_app.config["SEED_DATA_DIR"]):
        return ["该密码过于常见，容易被猜中，请换一个"]
    email = (email or "").strip().lower()
    local_part = email.partition("@")[0]
    if email and (folded == email or (len(local_part) >= 3 and local_part in folded)):
        return ["密码不能是或包含邮箱地址"]
    if name and name.strip() and name.strip().lower() in folded:
        return ["密码不能包含账号名称"]
    return []
