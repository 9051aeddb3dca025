"""Static checks of the production docker-compose.yml and Dockerfile (no Docker needed), and
Docker Compose's own validation of the file where the Compose plugin is installed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from worker.settings import env_var_names
from workflows.search import SEARCH_ATTRIBUTE_NAMES

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
EXAMPLE_CONFIG = REPO / "tocsin.example.yaml"

LOOPBACK = "127.0.0.1"
DEFAULT_FRONTEND_PORT = 7233  # the server's FRONTEND_GRPC_PORT default
MIN_UI_VERSION = (2, 54)

VERSION_RE = re.compile(r"\d+\.\d+")
SECRET_KEY_RE = re.compile(r"PASSWORD|PASSWD|PWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY")
# A whole value that is one `${NAME}`, `${NAME:?message}` or `${NAME:-default}` reference.
ENV_REF_RE = re.compile(
    r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}$"
)
SA_CREATE_RE = re.compile(r"search-attribute\s+create\b[^\n]*")
NAME_FLAG_RE = re.compile(r"--name[= ]+[\"']?([A-Za-z0-9_]+)")
TYPE_FLAG_RE = re.compile(r"--type[= ]+[\"']?([A-Za-z]+)")
FROM_RE = re.compile(r"^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", re.M | re.I)
NAMESPACE_CREATE_RE = re.compile(
    r"namespace\s+create\b[^\n]*?(?:--namespace|-n)[= ]+[\"']?([A-Za-z0-9_.-]+)"
)


Service = dict[str, Any]


@pytest.fixture(scope="module")
def services() -> dict[str, Service]:
    """The `services` mapping of docker-compose.yml, YAML anchors and merge keys resolved."""
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict), "docker-compose.yml is not a mapping"
    found = document.get("services")
    assert isinstance(found, dict), "docker-compose.yml has no services"
    return found


@pytest.fixture(scope="module")
def dockerfile() -> str:
    """The text of the repository's Dockerfile."""
    assert DOCKERFILE.is_file(), f"{DOCKERFILE} is missing"
    return DOCKERFILE.read_text(encoding="utf-8")


def environment(service: Service) -> dict[str, str | None]:
    """A service's environment as a mapping, whichever of the two compose syntaxes it uses."""
    raw = service.get("environment") or {}
    if isinstance(raw, dict):
        return {str(k): None if v is None else str(v) for k, v in raw.items()}
    result: dict[str, str | None] = {}
    for item in raw:
        key, sep, value = str(item).partition("=")
        result[key] = value if sep else None
    return result


def script_text(service: Service) -> str:
    """Entrypoint and command of a service as one text, line continuations joined."""
    parts: list[str] = []
    for field in ("entrypoint", "command"):
        value = service.get(field)
        if isinstance(value, list):
            parts.extend(str(v) for v in value)
        elif value is not None:
            parts.append(str(value))
    return "\n".join(parts).replace("\\\n", " ")


def image_tag(image: str) -> str | None:
    """The tag of an image reference (`repo:tag`, `host:5000/repo:tag`), or None without one."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def is_pinned(image: str) -> bool:
    """Whether an image reference names a fixed version (or a digest), never `latest`."""
    if "@sha256:" in image:
        return True
    tag = image_tag(image)
    return (
        tag is not None
        and "$" not in tag
        and tag.lower() != "latest"
        and VERSION_RE.search(tag) is not None
    )


def version_tuple(tag: str) -> tuple[int, ...]:
    """The leading numeric version of a tag, e.g. `2.54.1` -> (2, 54, 1)."""
    match = re.match(r"v?(\d+(?:\.\d+)*)", tag)
    assert match is not None, f"tag {tag!r} has no version"
    return tuple(int(part) for part in match.group(1).split("."))


def published_ports(service: Service) -> list[tuple[str | None, str | None, str]]:
    """(host ip, host port, container port) of each published port, short or long syntax."""
    result: list[tuple[str | None, str | None, str]] = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            published = entry.get("published")
            result.append(
                (
                    entry.get("host_ip"),
                    None if published is None else str(published),
                    str(entry["target"]),
                )
            )
            continue
        spec = str(entry).split("/", 1)[0]
        fields = spec.rsplit(":", 2)
        if len(fields) == 3:
            result.append((fields[0].strip("[]"), fields[1], fields[2]))
        elif len(fields) == 2:
            result.append((None, fields[0], fields[1]))
        else:
            result.append((None, None, fields[0]))
    return result


def services_with_image(services: dict[str, Service], repository: str) -> list[str]:
    """Names of the services whose image is from the given repository (any tag)."""
    return [
        name
        for name, service in services.items()
        if str(service.get("image", "")).split("@", 1)[0].rsplit(":", 1)[0] == repository
    ]


def tocsin_services(services: dict[str, Service]) -> dict[str, Service]:
    """The services built from the repository's Dockerfile."""
    return {name: service for name, service in services.items() if "build" in service}


def the_one(names: list[str], what: str) -> str:
    """The single element of `names`, failing the test when there is not exactly one."""
    assert len(names) == 1, f"expected exactly one {what} service, found {names}"
    return names[0]


def temporal_server(services: dict[str, Service]) -> str:
    """Name of the Temporal server service."""
    return the_one(services_with_image(services, "temporalio/server"), "temporalio/server")


def namespace_step(services: dict[str, Service]) -> str:
    """Name of the one-shot service that registers the search attributes."""
    names = [n for n, s in services.items() if SA_CREATE_RE.search(script_text(s))]
    return the_one(names, "search-attribute create")


def frontend_port(server: Service) -> int:
    """The gRPC frontend port the Temporal server listens on."""
    return int(environment(server).get("FRONTEND_GRPC_PORT") or DEFAULT_FRONTEND_PORT)


def api_service(services: dict[str, Service]) -> str:
    """Name of the Tocsin service that runs `tocsin api`."""
    names = [
        n for n, s in tocsin_services(services).items() if script_text(s).split()[-1:] == ["api"]
    ]
    return the_one(names, "tocsin api")


def worker_service(services: dict[str, Service]) -> str:
    """Name of the Tocsin service that runs `tocsin worker`."""
    names = [
        n for n, s in tocsin_services(services).items() if script_text(s).split()[-1:] == ["worker"]
    ]
    return the_one(names, "tocsin worker")


@cache
def compose_unavailable() -> str | None:
    """Why `docker compose` cannot run here, or None when it can."""
    docker = shutil.which("docker")
    if docker is None:
        return "the docker CLI is not installed"
    try:
        result = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`docker compose version` did not run: {exc}"
    if result.returncode != 0:
        reason = (result.stderr or result.stdout).strip().splitlines()[:1]
        return f"the Docker Compose plugin is not installed ({' '.join(reason)})"
    return None


def compose_config(directory: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`docker compose config --quiet` in `directory` with these variables set (and
    nothing else of the calling environment that compose would interpolate)."""
    docker = shutil.which("docker")
    assert docker is not None
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "DOCKER_CONFIG")}
    return subprocess.run(
        [docker, "compose", "config", "--quiet"],
        cwd=directory,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def build_dockerfile(service: Service) -> str:
    """The Dockerfile a service with a `build` section is built from."""
    build = service["build"]
    return str(build.get("dockerfile", "Dockerfile")) if isinstance(build, dict) else "Dockerfile"


def mounts_of(service: Service) -> list[tuple[str, bool]]:
    """(container path, read-only) of each volume of a service, short or long syntax."""
    result: list[tuple[str, bool]] = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            result.append((str(volume.get("target")), volume.get("read_only") is True))
            continue
        fields = str(volume).split(":")
        target = fields[1] if len(fields) > 1 else fields[0]
        result.append((target, len(fields) > 2 and "ro" in fields[2].split(",")))
    return result


def depends_on(service: Service) -> dict[str, str]:
    """A service's dependencies mapped to their condition (`service_started` by default)."""
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return {str(name): "service_started" for name in raw}
    return {
        str(name): str((spec or {}).get("condition", "service_started"))
        for name, spec in raw.items()
    }


class TestImages:
    def test_every_image_is_pinned_or_built(self, services: dict[str, Service]) -> None:
        """Every service runs a version-pinned image or is built from the repo's Dockerfile."""
        problems = []
        for name, service in services.items():
            if "build" in service:
                if build_dockerfile(service) != "Dockerfile":
                    problems.append(f"{name}: built from {build_dockerfile(service)}")
                continue
            image = str(service.get("image", ""))
            if not is_pinned(image):
                problems.append(f"{name}: image {image!r} is not pinned to a version")
        assert problems == []

    def test_tocsin_services_are_the_worker_and_the_api(self, services: dict[str, Service]) -> None:
        """The Dockerfile-built services run exactly `tocsin worker` and `tocsin api`."""
        commands = sorted(script_text(s).split() for s in tocsin_services(services).values())
        assert commands == [["tocsin", "api"], ["tocsin", "worker"]]

    def test_ui_is_at_least_2_54(self, services: dict[str, Service]) -> None:
        """The Temporal UI image is version 2.54 or newer."""
        ui = the_one(services_with_image(services, "temporalio/ui"), "temporalio/ui")
        tag = image_tag(str(services[ui]["image"]))
        assert tag is not None
        assert version_tuple(tag) >= MIN_UI_VERSION

    def test_admin_tools_match_the_server(self, services: dict[str, Service]) -> None:
        """Schema setup and namespace steps use admin-tools of the server's exact version."""
        server_tag = image_tag(str(services[temporal_server(services)]["image"]))
        tools = services_with_image(services, "temporalio/admin-tools")
        assert len(tools) >= 2, "expected admin-tools for schema setup and namespace creation"
        assert {image_tag(str(services[name]["image"])) for name in tools} == {server_tag}


class TestTocsinEnvironment:
    def test_only_known_tocsin_variables(self, services: dict[str, Service]) -> None:
        """Every TOCSIN_* variable given to a Tocsin service is one worker.settings reads."""
        known = set(env_var_names())
        unknown = {
            f"{name}: {key}"
            for name, service in tocsin_services(services).items()
            for key in environment(service)
            if key.startswith("TOCSIN_") and key not in known
        }
        assert unknown == set()

    def test_temporal_address_points_at_the_server(self, services: dict[str, Service]) -> None:
        """Tocsin services reach Temporal by the server's service name and frontend port."""
        server = temporal_server(services)
        expected = f"{server}:{frontend_port(services[server])}"
        addresses = {
            name: environment(service).get("TOCSIN_TEMPORAL_ADDRESS")
            for name, service in tocsin_services(services).items()
        }
        assert addresses
        assert set(addresses.values()) == {expected}, addresses

    def test_temporal_clients_agree_on_the_address(self, services: dict[str, Service]) -> None:
        """The UI and the namespace step dial the same server address as Tocsin."""
        server = temporal_server(services)
        expected = f"{server}:{frontend_port(services[server])}"
        ui = the_one(services_with_image(services, "temporalio/ui"), "temporalio/ui")
        for name in (ui, namespace_step(services)):
            assert environment(services[name]).get("TEMPORAL_ADDRESS") == expected, name

    def test_api_port_matches_its_container_port(self, services: dict[str, Service]) -> None:
        """The API's published container port is the TOCSIN_API_PORT it listens on."""
        env = environment(services[api_service(services)])
        assert env.get("TOCSIN_API_HOST") == "0.0.0.0"  # noqa: S104 - inside the container only
        targets = [target for _, _, target in published_ports(services[api_service(services)])]
        assert targets == [env.get("TOCSIN_API_PORT")]

    def test_worker_metrics_port_matches_its_container_port(
        self, services: dict[str, Service]
    ) -> None:
        """The worker serves /metrics on all its container's interfaces, on the one port it
        publishes (the host sees it on loopback: TestPorts)."""
        env = environment(services[worker_service(services)])
        assert env.get("TOCSIN_WORKER_METRICS_HOST") == "0.0.0.0"  # noqa: S104 - in the container
        targets = [target for _, _, target in published_ports(services[worker_service(services)])]
        assert targets == [env.get("TOCSIN_WORKER_METRICS_PORT")]

    def test_metrics_token_reaches_the_worker_and_the_api(
        self, services: dict[str, Service]
    ) -> None:
        """Both Tocsin services take TOCSIN_METRICS_TOKEN from the host, the one Prometheus has."""
        tokens = {
            name: environment(service).get("TOCSIN_METRICS_TOKEN")
            for name, service in tocsin_services(services).items()
        }
        assert set(tokens) == {worker_service(services), api_service(services)}
        assert set(tokens.values()) == {"${TOCSIN_METRICS_TOKEN:-}"}

    def test_config_file_is_mounted_read_only(self, services: dict[str, Service]) -> None:
        """Each Tocsin service mounts its TOCSIN_CONFIG file read-only."""
        for name, service in tocsin_services(services).items():
            config = environment(service).get("TOCSIN_CONFIG")
            mounts = [m for m in mounts_of(service) if m[0] == config]
            assert mounts == [(config, True)], f"{name}: {config} is not mounted read-only"


class TestPorts:
    def test_published_ports_bind_loopback(self, services: dict[str, Service]) -> None:
        """Every port published to the host is bound to 127.0.0.1 only."""
        exposed = [
            f"{name}: {port}"
            for name, service in services.items()
            for port in published_ports(service)
            if port[0] != LOOPBACK
        ]
        assert exposed == []


class TestSearchAttributes:
    def test_namespace_step_registers_exactly_the_code_list(
        self, services: dict[str, Service]
    ) -> None:
        """The namespace step creates exactly SEARCH_ATTRIBUTE_NAMES, each once and as Keyword."""
        text = script_text(services[namespace_step(services)])
        created: list[tuple[str, str]] = []
        for line in SA_CREATE_RE.findall(text):
            names = NAME_FLAG_RE.findall(line)
            types = TYPE_FLAG_RE.findall(line)
            assert len(names) == len(types), f"unpaired --name/--type in {line!r}"
            created.extend(zip(names, types, strict=True))
        assert sorted(name for name, _ in created) == sorted(SEARCH_ATTRIBUTE_NAMES)
        assert {kind for _, kind in created} == {"Keyword"}

    def test_namespace_step_creates_tocsins_namespace(self, services: dict[str, Service]) -> None:
        """The namespace step creates the namespace the Tocsin services are configured for."""
        created = set(NAMESPACE_CREATE_RE.findall(script_text(services[namespace_step(services)])))
        configured = {
            environment(service).get("TOCSIN_TEMPORAL_NAMESPACE") or "default"
            for service in tocsin_services(services).values()
        }
        assert configured == {"default"}
        assert configured <= created


class TestStartOrder:
    def test_dependency_chain(self, services: dict[str, Service]) -> None:
        """postgres, schema setup, server, namespace step, then the UI and Tocsin start in order."""
        server = temporal_server(services)
        postgres = the_one(services_with_image(services, "postgres"), "postgres")
        step = namespace_step(services)
        tools = services_with_image(services, "temporalio/admin-tools")
        schema = the_one([n for n in depends_on(services[server]) if n in tools], "schema setup")
        assert depends_on(services[schema]) == {postgres: "service_healthy"}
        assert depends_on(services[server]) == {schema: "service_completed_successfully"}
        assert depends_on(services[step]) == {server: "service_healthy"}
        ui = the_one(services_with_image(services, "temporalio/ui"), "temporalio/ui")
        for name in [ui, *tocsin_services(services)]:
            assert depends_on(services[name]) == {step: "service_completed_successfully"}, name

    def test_healthy_conditions_have_healthchecks(self, services: dict[str, Service]) -> None:
        """Every service waited on with service_healthy defines a healthcheck."""
        for name, service in services.items():
            for dependency, condition in depends_on(service).items():
                if condition == "service_healthy":
                    assert "healthcheck" in services[dependency], f"{name} -> {dependency}"


class TestSecrets:
    def test_no_literal_secrets(self, services: dict[str, Service]) -> None:
        """Secret-looking variables are host-environment references, never literal values."""
        problems = []
        for name, service in services.items():
            for key, value in environment(service).items():
                if not SECRET_KEY_RE.search(key) or value is None:
                    continue  # not a secret, or passed through from the host as is
                ref = ENV_REF_RE.match(value)
                if ref is None:
                    problems.append(f"{name}: {key} has a literal value")
                elif ref["op"] in (":-", "-") and ref["arg"] and ref["name"] != "POSTGRES_PASSWORD":
                    problems.append(f"{name}: {key} has a literal default")
        assert problems == []

    def test_api_token_is_required_from_the_host(self, services: dict[str, Service]) -> None:
        """TOCSIN_API_TOKEN comes from the host env, and compose refuses to start without it."""
        tokens = {
            name: environment(service).get("TOCSIN_API_TOKEN")
            for name, service in tocsin_services(services).items()
            if "TOCSIN_API_TOKEN" in environment(service)
        }
        assert tokens, "no Tocsin service gets TOCSIN_API_TOKEN"
        for name, value in tokens.items():
            assert value is not None
            assert value.startswith("${TOCSIN_API_TOKEN:?"), name


class TestDockerfile:
    def test_base_images_are_pinned(self, dockerfile: str) -> None:
        """Every FROM uses a version-pinned python:3.11 slim image (or an earlier build stage)."""
        stages: set[str] = set()
        bases: list[str] = []
        for match in FROM_RE.finditer(dockerfile):
            image, alias = match.group(1), match.group(2)
            if image not in stages:
                bases.append(image)
            if alias:
                stages.add(alias)
        assert bases, "the Dockerfile has no FROM"
        for image in bases:
            assert is_pinned(image), image
            assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]+)?", image), image

    def test_runs_as_non_root(self, dockerfile: str) -> None:
        """The image's final USER is not root."""
        users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M | re.I)
        assert users, "the Dockerfile has no USER line"
        assert users[-1].split(":")[0] not in ("root", "0")

    def test_installs_the_project_and_runs_the_worker(self, dockerfile: str) -> None:
        """The image installs the project with pip and runs `tocsin worker` by default."""
        assert re.search(r"pip install\s+(?:\S+\s+)*\.(\s|$)", dockerfile)
        cmds = re.findall(r"^CMD\s+(.+)$", dockerfile, re.M)
        assert cmds, "the Dockerfile has no CMD"
        assert cmds[-1].strip() in ('["tocsin", "worker"]', "tocsin worker")

    def test_bakes_in_no_secrets(self, dockerfile: str) -> None:
        """No ENV or ARG in the Dockerfile sets a secret-looking variable."""
        for match in re.finditer(r"^(?:ENV|ARG)\s+(.+(?:\\\n.+)*)", dockerfile, re.M):
            for key in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", match.group(1)):
                assert not SECRET_KEY_RE.search(key.upper()), key


class TestComposeConfig:
    """Docker Compose itself accepts the file, and refuses it without the API token."""

    @pytest.fixture
    def project(self, tmp_path: Path) -> Path:
        """A copy of the compose project with the tocsin.yaml it bind-mounts (the bind has
        create_host_path false, so compose needs the file to exist)."""
        reason = compose_unavailable()
        if reason is not None:
            pytest.skip(reason)
        for source in (COMPOSE_FILE, DOCKERFILE):
            shutil.copy(source, tmp_path / source.name)
        shutil.copy(EXAMPLE_CONFIG, tmp_path / "tocsin.yaml")
        return tmp_path

    def test_config_is_valid(self, project: Path) -> None:
        result = compose_config(
            project, TOCSIN_API_TOKEN="test-api-token", POSTGRES_PASSWORD="test-db-password"
        )
        assert result.returncode == 0, result.stderr

    def test_api_token_is_required(self, project: Path) -> None:
        result = compose_config(project, POSTGRES_PASSWORD="test-db-password")
        assert result.returncode != 0
        assert "TOCSIN_API_TOKEN" in result.stderr
