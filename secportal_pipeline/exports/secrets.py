"""The classification key: from the environment or a file it names, never from the repo."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..config import ENV_HMAC_KEY, ENV_HMAC_KEY_FILE, ENV_HMAC_KEY_ID


class MissingKey(RuntimeError):
    pass


class KeyChanged(RuntimeError):
    """This run's key differs from the one the class's landed partitions were hashed with."""


ENV_ALLOW_KEY_CHANGE = "SECPORTAL_ALLOW_KEY_CHANGE"


def assert_same_key(landed_key_ids: dict[str, str], key: HmacKey, export_class: str,
                    env: dict[str, str] | None = None) -> None:
    """Refuse a key that would make hashed columns stop joining across partitions.

    ``landed_key_ids`` maps landed partitions to their manifests' key ids. A deliberate
    rotation sets SECPORTAL_ALLOW_KEY_CHANGE=1 and re-lands every partition.
    """
    env = os.environ if env is None else env
    others = {partition: key_id for partition, key_id in landed_key_ids.items() if key_id != key.key_id}
    if others and env.get(ENV_ALLOW_KEY_CHANGE) != "1":
        partition, key_id = max(others.items())
        raise KeyChanged(
            f"{export_class}: {len(others)} landed partition(s) (latest {partition}) were hashed with key "
            f"{key_id}, this run's key is {key.key_id}; hashed columns would no longer join across "
            f"partitions. Use the original key, or rotate on purpose: set {ENV_ALLOW_KEY_CHANGE}=1 and "
            "re-land every partition of the class"
        )


@dataclass(frozen=True)
class HmacKey:
    key: bytes
    key_id: str

    def __repr__(self) -> str:  # never print the key itself
        return f"HmacKey(key_id={self.key_id!r})"


def key_id_for(key: bytes) -> str:
    """A public name for the key: a digest of it, safe to write in a manifest."""
    return "hmac-sha256:" + hashlib.sha256(b"secportal key id\x00" + key).hexdigest()[:16]


def load_hmac_key(env: dict[str, str] | None = None) -> HmacKey:
    env = os.environ if env is None else env
    raw, source = env.get(ENV_HMAC_KEY), ENV_HMAC_KEY
    if not raw and env.get(ENV_HMAC_KEY_FILE):
        source = f"the key file {env[ENV_HMAC_KEY_FILE]} ({ENV_HMAC_KEY_FILE})"
        path = Path(env[ENV_HMAC_KEY_FILE])
        if not path.exists():
            raise MissingKey(f"{ENV_HMAC_KEY_FILE} points at {path}, which does not exist")
        raw = path.read_text(encoding="utf-8").strip()
    if not raw:
        raise MissingKey(
            f"no classification key: set {ENV_HMAC_KEY} (or {ENV_HMAC_KEY_FILE} to a file holding it); "
            "hashed columns cannot be exported without it"
        )
    if len(raw) < 32:
        raise MissingKey(f"{source} holds {len(raw)} characters; use at least 32 (e.g. 64 hex digits)")
    key = raw.encode("utf-8")
    return HmacKey(key, env.get(ENV_HMAC_KEY_ID) or key_id_for(key))


def generate_key_file(path: Path) -> Path:
    """Write a fresh random key readable by the owner only (used by the demo)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    return path
