"""What framework detection found: one web application and how it is served."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class App:
    """A web application found in the repository.

    `entrypoint` is in gunicorn's `module:attribute` form (a factory as
    `module:create_app()`); `interface` is "wsgi" or "asgi".
    """

    framework: str
    interface: str
    entrypoint: str
    file: str | None = None
    line: int | None = None
    release_command: str | None = None
    static_command: str | None = None
    urlconf: str | None = None  # Django: the root URLconf's file
    env: dict[str, str] = field(default_factory=dict)
