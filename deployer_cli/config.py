"""Where the CLI finds its server and token: DEPLOYER_URL / DEPLOYER_TOKEN (for CI), else the
file `deployer login` wrote (~/.config/deployer/config.json, only readable by its owner)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Config:
    url: str
    token: str


def path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "deployer" / "config.json"


def load() -> Config | None:
    url, token = os.environ.get("DEPLOYER_URL", ""), os.environ.get("DEPLOYER_TOKEN", "")
    if not (url and token):
        try:
            saved = json.loads(path().read_text())
        except (OSError, ValueError):
            saved = {}
        url, token = url or saved.get("url", ""), token or saved.get("token", "")
    return Config(url.rstrip("/"), token) if url and token else None


def save(config: Config) -> Path:
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.touch(mode=0o600, exist_ok=True)
    target.chmod(0o600)
    target.write_text(json.dumps({"url": config.url, "token": config.token}, indent=2) + "\n")
    return target
