"""The CLI's HTTP calls: token header, TLS switches, and axonserver-cli's error rule
(exit code = HTTP status mod 256, message on stderr)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class CommandFailed(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Server:
    url: str
    token: str | None
    insecure: bool

    def call(self, command: str, method: str, path: str, body: Any = None, accept: tuple[int, ...] = (200,)) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("AxonIQ-Access-Token", self.token)
        context = ssl._create_unverified_context() if self.insecure else None  # noqa: S323 - the -i flag
        try:
            with urllib.request.urlopen(request, timeout=30, context=context) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode(errors="replace")
        except urllib.error.URLError as exc:
            raise CommandFailed(f"Error processing command '{command}' on '{self.url}{path}': {exc.reason}", 1) from exc
        if status not in accept:
            first_line = text.splitlines()[0] if text else ""
            raise CommandFailed(
                f"Error processing command '{command}' on '{self.url}{path}': {status} - {first_line}", status % 256
            )
        try:
            return json.loads(text) if text else None
        except json.JSONDecodeError:
            return text


def resolve_token(flag: str | None) -> str | None:
    """`-t`, else the first line of ./security/.token (Axon's system token file)."""
    if flag:
        return flag
    path = Path("security/.token")
    if path.is_file():
        lines = path.read_text().splitlines()
        return lines[0].strip() if lines else None
    return None
