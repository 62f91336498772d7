"""The checks a config value goes through, collecting every problem (with its key path) instead of raising."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from monitor.net.urls import is_http_url, redact_url

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def env_name_problem(value: str) -> str | None:
    """Why ``value`` cannot be the name of an environment variable, in words that never repeat it; None if it
    can. A URL or a secret where a name belongs is the usual mistake, and the value is then the secret."""
    if "://" in value or "/" in value or value.lower().startswith(("http:", "https:")):
        return "looks like a URL, not an environment variable name; set the variable to the URL and name it here"
    if value.startswith("whsec_") or _looks_like_token(value):
        return ("looks like a secret value, not an environment variable name; set the variable to the secret and "
                "name it here")
    if not _ENV_NAME.fullmatch(value):
        return "is not an environment variable name (letters, digits and _, not starting with a digit)"
    return None


def _looks_like_token(value: str) -> bool:
    # Names are words joined by "_" (SLACK_WEBHOOK_URL); a long run of letters and digits without one is a key.
    return len(value) >= 20 and "_" not in value and any(c.isdigit() for c in value) and any(
        c.isalpha() for c in value)


class Validator:
    """Collects problems instead of raising, so one run reports all of them."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{key}: {message}" if key else message)

    def keys(self, table: Mapping, where: str, allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                hint = f"; expected one of {', '.join(sorted(allowed))}"
                self.problem(f"{where}.{key}" if where else key, f"unknown key{hint}")

    def table(self, document: Mapping, key: str, *, where: str = "") -> Mapping:
        value = document.get(key, {})
        if not isinstance(value, Mapping):
            self.problem(f"{where}.{key}" if where else key, "must be a table")
            return {}
        return value

    def array_of_tables(self, document: Mapping, key: str) -> list[Mapping]:
        value = document.get(key, [])
        if not isinstance(value, list) or not all(isinstance(x, Mapping) for x in value):
            self.problem(key, f"must be an array of tables ([[{key}]])")
            return []
        return value

    def string(self, table: Mapping, where: str, key: str, *, required: bool = False, default: str = "") -> str:
        if key not in table:
            if required:
                self.problem(f"{where}.{key}", "is required")
            return default
        value = table[key]
        if not isinstance(value, str) or not value.strip():
            self.problem(f"{where}.{key}", "must be a non-empty string")
            return default
        return value.strip()

    def string_list(self, table: Mapping, where: str, key: str, *, default: list[str] | None) -> list[str] | None:
        if key not in table:
            return default
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
            self.problem(f"{where}.{key}", "must be a list of non-empty strings")
            return default
        return [x.strip() for x in value]

    def boolean(self, table: Mapping, where: str, key: str, *, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{where}.{key}", "must be true or false")
            return default
        return value

    def number(self, table: Mapping, where: str, key: str, *, default: float, minimum: float, maximum: float,
               integer: bool = False) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            self.problem(f"{where}.{key}", "must be a whole number" if integer else "must be a number")
            return default
        if not minimum <= value <= maximum:
            self.problem(f"{where}.{key}", f"must be between {minimum:g} and {maximum:g}, got {value:g}")
            return default
        return value

    def url(self, table: Mapping, where: str, key: str, *, required: bool,
            shown: Callable[[str], str | None] = redact_url) -> str:
        """An http(s) URL; a problem shows it through ``shown`` (redacted)."""
        value = self.string(table, where, key, required=required)
        return self.check_url(value, f"{where}.{key}", shown=shown(value)) if value else value

    def check_url(self, value: str, key: str, *, shown: str | None) -> str:
        if not is_http_url(value):
            got = f"got {shown!r}" if shown else "got a value not shown here (it may hold a secret)"
            self.problem(key, f"must be an http or https URL with a host, {got}")
        return value

    def env_name(self, table: Mapping, where: str, key: str, *, required: bool) -> str:
        """The name of an environment variable; "" (with a problem that does not repeat it) if it is not one."""
        value = self.string(table, where, key, required=required)
        problem = env_name_problem(value) if value else None
        if problem:
            self.problem(f"{where}.{key}", problem)
            return ""
        return value

    def unique(self, values: list[str], section: str, key: str) -> None:
        seen: dict[str, int] = {}
        for i, value in enumerate(values):
            if value and value in seen:
                self.problem(f"{section}[{i}].{key}", f"duplicate {key} {value!r} (also {section}[{seen[value]}])")
            seen.setdefault(value, i)
