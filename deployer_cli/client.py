"""The API seen from the CLI: one requests session, JSON in and out, errors as ApiError."""

from __future__ import annotations

from collections.abc import Iterator

import requests

from deployer_cli.config import Config

TIMEOUT = 30


class ApiError(Exception):
    """The server said no (its error code and sentence) or could not be reached."""

    def __init__(self, message: str, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class Client:
    def __init__(self, config: Config, session: requests.Session | None = None) -> None:
        self.base = f"{config.url}/api/v1"
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {config.token}"
        self.session.headers["User-Agent"] = "deployer-cli"

    def request(self, method: str, path: str, body: dict | None = None, **params):
        try:
            response = self.session.request(
                method, f"{self.base}{path}", json=body, params=params or None, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            raise ApiError(f"Cannot reach {self.base}: {exc}") from None
        if response.status_code == 204:
            return None
        try:
            data = response.json()
        except ValueError:
            raise ApiError(
                f"{self.base}{path} answered {response.status_code} without JSON: is this a "
                "Deployer server?",
                status=response.status_code,
            ) from None
        if response.status_code >= 400:
            error = data.get("error", {}) if isinstance(data, dict) else {}
            raise ApiError(
                error.get("message") or f"HTTP {response.status_code}",
                error.get("code", ""),
                response.status_code,
            )
        return data

    def get(self, path: str, **params):
        return self.request("GET", path, **params)

    def post(self, path: str, body: dict | None = None):
        return self.request("POST", path, body)

    def put(self, path: str, body: dict):
        return self.request("PUT", path, body)

    def delete(self, path: str):
        return self.request("DELETE", path)

    def pages(self, path: str, **params) -> Iterator[dict]:
        """Every item of a paginated list."""
        page, seen = 1, 0
        while True:
            data = self.get(path, page=page, **params)
            yield from data["items"]
            seen += len(data["items"])
            if not data["items"] or seen >= data["count"]:
                return
            page += 1
