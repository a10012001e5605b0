"""Packaging and layout rules: what each install pulls in, who imports whom, the README commands."""

import ast
import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "tagtrail_protocol": ROOT / "protocol",
    "tagtrail_hardware": ROOT / "hardware",
    "tagtrail_edge": ROOT / "edge",
    "tagtrail_collector": ROOT / "collector",
}
SERVER_ONLY = {"fastapi", "uvicorn", "starlette", "httpx", "sqlalchemy", "influxdb-client"}
GATEWAY_ONLY = {"pyserial", "sqlite-utils", "epcpy"}


def extra_requirements(requirement: Requirement) -> list[NormalizedName]:
    """What the extras named in ``requirement`` (``tagtrail-protocol[link]``) pull in."""
    found = []
    for spec in metadata.requires(requirement.name) or []:
        inner = Requirement(spec)
        if inner.marker is not None and any(
            inner.marker.evaluate({"extra": extra}) for extra in requirement.extras
        ):
            found.append(canonicalize_name(inner.name))
    return found


def closure(distribution: str) -> set[str]:
    """Every distribution an install of ``distribution`` pulls in (base requirements only)."""
    seen: set[str] = set()
    todo: list[NormalizedName] = [canonicalize_name(distribution)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for spec in metadata.requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
                todo.extend(extra_requirements(requirement))
    return seen


def test_a_gateway_install_pulls_no_server_code() -> None:
    pulled = closure("tagtrail-edge")
    assert {"tagtrail-protocol", "tagtrail-hardware", "paho-mqtt", "pyserial"} <= pulled
    assert pulled & SERVER_ONLY == set()
    assert "tagtrail-collector" not in pulled


def test_a_server_install_pulls_no_serial_or_gateway_code() -> None:
    pulled = closure("tagtrail-collector")
    assert {"tagtrail-protocol", "fastapi", "httpx", "sqlalchemy"} <= pulled
    assert pulled & GATEWAY_ONLY == set()
    assert {"tagtrail-edge", "tagtrail-hardware"} & pulled == set()


def test_the_protocol_pulls_only_pydantic() -> None:
    assert closure("tagtrail-protocol") - {"tagtrail-protocol"} <= {
        "pydantic",
        "pydantic-core",
        "annotated-types",
        "typing-extensions",
        "typing-inspection",
    }


def imported_modules_of(source: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def imported_modules(package_dir: Path) -> set[str]:
    return {name for source in package_dir.rglob("*.py") for name in imported_modules_of(source)}


ALLOWED_IMPORTS = {
    "tagtrail_protocol": {"tagtrail_protocol"},
    "tagtrail_hardware": {"tagtrail_hardware"},
    "tagtrail_edge": {"tagtrail_edge", "tagtrail_protocol", "tagtrail_hardware"},
    "tagtrail_collector": {"tagtrail_collector", "tagtrail_protocol"},
}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_packages_import_only_what_their_layer_allows(package: str) -> None:
    source = PACKAGES[package] / package
    ours = {name for name in imported_modules(source) if name.startswith("tagtrail")}
    assert ours <= ALLOWED_IMPORTS[package]


def test_the_protocol_does_no_io_outside_its_link() -> None:
    io_modules = {"socket", "sqlite3", "serial", "paho", "httpx", "subprocess", "asyncio", "ssl"}
    protocol = PACKAGES["tagtrail_protocol"] / "tagtrail_protocol"
    for source in protocol.glob("*.py"):
        used = imported_modules_of(source) & io_modules
        assert used == set() or source.name == "link.py", f"{source.name} imports {used}"


def test_the_link_extra_is_what_both_programs_use() -> None:
    assert "paho-mqtt" not in closure("tagtrail-protocol")
    for program in ("tagtrail-edge", "tagtrail-collector"):
        assert "paho-mqtt" in closure(program)


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_package_is_typed_and_installed_from_this_tree(package: str) -> None:
    assert (PACKAGES[package] / package / "py.typed").is_file()
    module = __import__(package)
    assert Path(module.__file__ or "").resolve().is_relative_to(PACKAGES[package])


def readme_commands() -> list[str]:
    """The shell commands in README.md's fenced ``sh`` blocks."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)
    lines = [line for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_readme_shows_exactly_two_setup_commands() -> None:
    assert readme_commands() == ["./deploy/quickstart.sh", "./deploy/test.sh"]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "exec ./deploy/test.sh" in ci
    assert [line for line in ci if line.startswith(("exec", "./", "bash", "python"))] == [
        "exec ./deploy/test.sh"
    ]


def module_imports(source: Path) -> set[str]:
    """The dotted modules ``source`` imports (``from a.b import c`` counts as ``a.b.c`` and
    ``a.b``), at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


EDGE = PACKAGES["tagtrail_edge"] / "tagtrail_edge"
STAGES = ("read", "smooth", "enrich", "commit", "outbox", "publish")
SHARED_BY_STAGES = {"values", "outbox_schema"}


@pytest.mark.parametrize("stage", STAGES)
def test_no_stage_imports_another(stage: str) -> None:
    imported = module_imports(EDGE / "pipeline" / f"{stage}.py")
    others = {f"tagtrail_edge.pipeline.{s}" for s in STAGES if s != stage}
    assert imported & others == set()
    assert "tagtrail_edge.agent" not in imported


def test_only_the_agent_wires_the_stages() -> None:
    # The CLI may build devices (read), look at the outbox, decode an EPC or smooth for show;
    # it never runs the committing pipeline (commit, publish).
    allowed = {"read", "outbox", "enrich", "smooth", "values"}
    for source in EDGE.rglob("*.py"):
        if source.parent.name == "pipeline" or source.name == "agent.py":
            continue
        used = {
            m.split(".")[2]
            for m in module_imports(source)
            if m.startswith("tagtrail_edge.pipeline.")
        }
        assert used <= allowed, source


def test_the_cli_never_imports_the_agents_wiring() -> None:
    for source in (EDGE / "cli").rglob("*.py"):
        assert not {m for m in module_imports(source) if m.startswith("tagtrail_edge.agent")}, (
            source
        )


def test_the_api_never_imports_ingest() -> None:
    api = PACKAGES["tagtrail_collector"] / "tagtrail_collector" / "api"
    for source in api.rglob("*.py"):
        ingest = {m for m in module_imports(source) if m.startswith("tagtrail_collector.ingest")}
        assert ingest == set(), source


def test_drivers_import_no_program() -> None:
    hardware = PACKAGES["tagtrail_hardware"] / "tagtrail_hardware"
    for source in hardware.rglob("*.py"):
        programs = {
            m
            for m in module_imports(source)
            if m.startswith(("tagtrail_edge", "tagtrail_collector"))
        }
        assert programs == set(), source


def test_stores_and_projections_import_no_ingest_or_api() -> None:
    collector = PACKAGES["tagtrail_collector"] / "tagtrail_collector"
    for folder, banned in (
        ("store", ("tagtrail_collector.ingest", "tagtrail_collector.api")),
        ("projections", ("tagtrail_collector.ingest", "tagtrail_collector.api")),
    ):
        for source in (collector / folder).rglob("*.py"):
            assert {m for m in module_imports(source) if m.startswith(banned)} == set(), source


def test_ingest_builds_no_line_protocol() -> None:
    ingest = PACKAGES["tagtrail_collector"] / "tagtrail_collector" / "ingest"
    for source in ingest.rglob("*.py"):
        used = {
            m
            for m in module_imports(source)
            if "lineproto" in m or m.endswith(".points.batch_lines")
        }
        assert used == set(), source
