"""docker-compose.yml and the Dockerfile, read as Docker would (no Docker engine here): every
`storyline` command they run parses with the real CLI, every STORYLINE_* variable is a setting,
and the deployment has the services, health checks and restart policies it promises."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from dockerfile_parse import DockerfileParser

from storyline_entrypoints.cli import app
from storyline_service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
STORYLINE_IMAGE = "storyline:latest"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # resolves the anchors
    assert isinstance(loaded, dict)
    return loaded


def storyline_services(compose: dict[str, Any]) -> dict[str, Any]:
    return {name: s for name, s in compose["services"].items() if s.get("image") == STORYLINE_IMAGE}


def as_argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def parses(argv: list[str]) -> str:
    """The name of the CLI command ``argv`` runs, parsed with its options as the real CLI would; raises if it
    names no command or passes an option the command does not take."""
    assert argv[0] == "storyline", argv
    command: Any = typer.main.get_command(app)
    context, args, names = command.context_class(command, info_name="storyline"), argv[1:], []
    while hasattr(command, "commands"):  # a group
        name, *args = args
        found = command.get_command(context, name)
        assert found is not None, f"no command {name!r} in {argv}"
        command, context = found, found.context_class(found, info_name=name, parent=context)
        names.append(name)
    command.make_context(names[-1], args, parent=context.parent)  # raises on an unknown option
    return " ".join(names)


def test_every_command_run_exists_in_the_cli(compose: dict[str, Any]) -> None:
    instructions = DockerfileParser(str(ROOT / "Dockerfile")).structure
    cmd = [i["value"] for i in instructions if i["instruction"] == "CMD"][-1]
    commands = {"Dockerfile CMD": yaml.safe_load(cmd)}  # the exec form: a JSON array
    for name, service in storyline_services(compose).items():
        commands[name] = as_argv(service["command"])
    assert set(commands) == {"Dockerfile CMD", "init", "api", "projector"}
    ran = {where: parses(argv) for where, argv in commands.items()}
    assert ran == {"Dockerfile CMD": "serve", "init": "init", "api": "serve", "projector": "projector"}
    assert "--no-projector" in commands["api"]


def test_the_image_installs_at_build_time_only(compose: dict[str, Any]) -> None:
    instructions = DockerfileParser(str(ROOT / "Dockerfile")).structure
    runs = [i["value"] for i in instructions if i["instruction"] == "RUN"]
    assert any("pip install ." in run for run in runs)
    for service in compose["services"].values():
        assert "pip" not in " ".join(as_argv(service.get("command", []))), service
        assert not service.get("volumes") or service["image"] != STORYLINE_IMAGE  # no source mounted
    for service in storyline_services(compose).values():
        assert service["build"] == "."


def test_every_variable_set_is_a_setting(compose: dict[str, Any]) -> None:
    known = {f"STORYLINE_{name.upper()}" for name in Settings.model_fields}
    for name, service in storyline_services(compose).items():
        variables = set(service["environment"])
        assert variables, name
        assert variables <= known, f"{name}: unknown {variables - known}"
        # Each value is one the settings accept.
        values = {key[len("STORYLINE_") :].lower(): value for key, value in service["environment"].items()}
        values = {key: re.sub(r"\$\{(\w+):-([^}]*)\}", r"\2", str(v)) for key, v in values.items()}
        assert Settings(**values).is_postgres  # type: ignore[arg-type]


def test_the_deployment_has_its_services_health_checks_and_restart_policies(compose: dict[str, Any]) -> None:
    services = compose["services"]
    postgres, api, projector, init = (services[name] for name in ("postgres", "api", "projector", "init"))

    assert "pgdata:/var/lib/postgresql/data" in postgres["volumes"] and "pgdata" in compose["volumes"]
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert "ports" not in postgres  # reachable inside the compose network only

    assert api["deploy"]["replicas"] == 2
    assert "/readyz" in " ".join(api["healthcheck"]["test"])
    assert all(port.startswith("127.0.0.1:") for port in api["ports"])
    for service in (postgres, api, projector):
        assert service["restart"] == "unless-stopped"

    assert init["restart"] == "no"
    assert init["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for service in (api, projector):
        assert service["depends_on"] == {"init": {"condition": "service_completed_successfully"}}


def test_the_compose_file_says_how_to_get_the_admin_token() -> None:
    comments = "\n".join(
        line for line in (ROOT / "docker-compose.yml").read_text().splitlines() if line.startswith("#")
    )
    assert "docker compose logs init" in comments
    assert "storyline token create admin --admin" in comments
    assert "docker compose up" in (ROOT / "README.md").read_text()
