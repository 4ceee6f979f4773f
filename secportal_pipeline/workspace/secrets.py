"""Secrets the workspace connection needs: from the environment or a file it names, never the repo."""

from __future__ import annotations

import os
from pathlib import Path

from ..config import ENV_WORKSPACE_PASSWORD, ENV_WORKSPACE_PASSWORD_FILE


class MissingSecret(RuntimeError):
    pass


def read_secret(value_env: str, file_env: str, env: dict[str, str] | None = None) -> str | None:
    """``$value_env``, else the stripped contents of the file ``$file_env`` names, else None."""
    env = os.environ if env is None else env
    if env.get(value_env):
        return env[value_env]
    if env.get(file_env):
        path = Path(env[file_env])
        if not path.is_file():
            raise MissingSecret(f"{file_env} points at {path}, which is not a readable file")
        return path.read_text(encoding="utf-8").strip() or None
    return None


def workspace_password(env: dict[str, str] | None = None) -> str | None:
    """The workspace database password, if the deployment gives one."""
    return read_secret(ENV_WORKSPACE_PASSWORD, ENV_WORKSPACE_PASSWORD_FILE, env)
