"""Tier 1: the Kubernetes manifests (`kubernetes=true`), built with `kubectl kustomize`,
every object checked against the Kubernetes schemas (`kubernetes-validate --strict`) and
by checkov, which must report no failed check; a manifest broken on purpose shows that
both tools refuse what they should.

The tools run as `uv tool run --from NAME==VERSION`, pinned in extensions/context.py
beside the rendered CI's use of them: checkov's hundred packages stay out of the
template's lock. Each tool runs once over every build (checkov's start takes about
ten seconds, most of this module's cost).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from extensions.context import KUBERNETES_TOOLS, KUBERNETES_VERSION
from tests.support import DEEP_VARIANTS, LONG_NAMES, Variant, clean_env, run

pytestmark = pytest.mark.render

# What changes the manifests: Row-Level Security (the bootstrap step) and the names.
VARIANTS = [
    next(variant for variant in DEEP_VARIANTS if variant.answers.get("kubernetes")),
    Variant("k8s-plain-long-names", {"kubernetes": True, "rls": False, **LONG_NAMES}),
]
BROKEN = "broken-on-purpose"
# An unknown field (a typo), a privileged container, an image without a release.
BROKEN_MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replicaz: 2
  selector:
    matchLabels: {app: broken}
  template:
    metadata:
      labels: {app: broken}
    spec:
      containers:
        - name: api
          image: broken:latest
          securityContext:
            privileged: true
"""
EXPECTED_KINDS = {
    "ConfigMap",
    "Deployment",
    "HorizontalPodAutoscaler",
    "Job",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "Service",
}
# Each with its reason in the manifest's checkov.io/skip annotations.
SKIPPED_CHECKS = {"CKV_K8S_35", "CKV_K8S_43"}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
SECRET_NAMES = re.compile(r"PASSWORD|SECRET|DATABASE_URL")
VALIDATE_LINE = re.compile(r"^(INFO|WARNING|ERROR) (\S+) (.*)$")


def tool(name: str, *arguments: str) -> list[str]:
    return ["uv", "tool", "run", "--from", KUBERNETES_TOOLS[name], name, *arguments]


def ids(variant: Variant) -> str:
    return variant.name


@pytest.fixture(scope="module")
def projects(copie_session: Any) -> dict[str, Path]:
    """Each variant rendered once for the module."""
    renders = {}
    for variant in VARIANTS:
        result = copie_session.copy(extra_answers=variant.answers)
        assert result.exit_code == 0, repr(result.exception)
        renders[variant.name] = Path(result.project_dir)
    return renders


@pytest.fixture(scope="module")
def builds(projects: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each render's base built once (`kubectl kustomize`), and the broken file."""
    folder = tmp_path_factory.mktemp("manifests")
    built = {}
    for name, project in projects.items():
        output = folder / f"{name}.yaml"
        run(tool("kubectl", "kustomize", "deploy/kubernetes", "--output", str(output)), project)
        built[name] = output
        # Applied on its own, before the Secret: checked all the same.
        namespace = project / "deploy/kubernetes/namespace.yaml"
        built[f"{name}.namespace"] = folder / f"{name}.namespace.yaml"
        built[f"{name}.namespace"].write_text(namespace.read_text())
    (folder / f"{BROKEN}.yaml").write_text(BROKEN_MANIFEST)
    built[BROKEN] = folder / f"{BROKEN}.yaml"
    return built


@pytest.fixture(scope="module")
def checkov_started(builds: dict[str, Path]) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """checkov over every build, started before kubernetes-validate runs, so that the two
    overlap: checkov's start-up is most of this module's time."""
    files = sorted(builds.values())
    arguments = ["--skip-download", "--framework", "kubernetes", "--output", "json"]
    for path in files:
        arguments += ["--file", str(path)]
    output = files[0].parent / "checkov.json"
    with output.open("w") as stdout:
        process = subprocess.Popen(
            tool("checkov", *arguments),
            cwd=files[0].parent,
            env=clean_env(),
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
    yield process, output
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def schema_report(
    builds: dict[str, Path], checkov_started: tuple[subprocess.Popen[str], Path]
) -> dict[str, list[tuple[str, str]]]:
    """kubernetes-validate's verdicts per file: (level, message) for each object."""
    files = sorted(builds.values())
    command = tool("kubernetes-validate", "--strict", "--kubernetes-version", KUBERNETES_VERSION)
    result = subprocess.run(
        [*command, *map(str, files)],
        cwd=files[0].parent,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for line in (result.stdout + result.stderr).splitlines():
        match = VALIDATE_LINE.match(line)
        if match:
            report[Path(match[2]).stem].append((match[1], match[3]))
    # It exits 1 when any object fails: the broken file's.
    assert result.returncode == 1, result.stdout + result.stderr
    return report


@pytest.fixture(scope="module")
def checkov_report(
    schema_report: dict[str, list[tuple[str, str]]],
    checkov_started: tuple[subprocess.Popen[str], Path],
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """checkov's results per file: its passed, failed and skipped checks (asked for after
    `schema_report`, which runs meanwhile, in whichever order the tests come)."""
    process, output = checkov_started
    _, stderr = process.communicate(timeout=600)
    # It exits 1 when any check fails: the broken file's.
    assert process.returncode == 1, stderr[-4000:]
    results = json.loads(output.read_text())["results"]
    report: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for outcome in ("passed_checks", "failed_checks", "skipped_checks"):
        for check in results[outcome]:
            report[Path(check["file_path"]).stem][outcome].append(check)
    return report


def objects_of(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    assert len(found) == 1, (kind, name, [o["metadata"]["name"] for o in found])
    return found[0]


def slug_of(variant: Variant) -> str:
    return str(variant.answers.get("project_slug", "my-api"))


@pytest.mark.parametrize("variant", VARIANTS, ids=ids)
def test_every_object_matches_the_kubernetes_schemas(
    builds: dict[str, Path],
    schema_report: dict[str, list[tuple[str, str]]],
    variant: Variant,
) -> None:
    verdicts = schema_report[variant.name]
    assert [message for level, message in verdicts if level != "INFO"] == []
    assert len(verdicts) == len(objects_of(builds[variant.name]))
    assert {o["kind"] for o in objects_of(builds[variant.name])} == EXPECTED_KINDS
    namespace = schema_report[f"{variant.name}.namespace"]
    assert [level for level, _ in namespace] == ["INFO"]
    metadata = one(objects_of(builds[f"{variant.name}.namespace"]), "Namespace")["metadata"]
    assert metadata["name"] == slug_of(variant)
    assert metadata["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("variant", VARIANTS, ids=ids)
def test_checkov_reports_no_failed_check(
    checkov_report: dict[str, dict[str, list[dict[str, Any]]]], variant: Variant
) -> None:
    report = checkov_report[variant.name]
    failed = [(c["check_id"], c["resource"], c["check_name"]) for c in report["failed_checks"]]
    assert failed == []
    assert checkov_report[f"{variant.name}.namespace"]["failed_checks"] == []
    assert len(report["passed_checks"]) > 100
    skipped = report["skipped_checks"]
    assert {check["check_id"] for check in skipped} == SKIPPED_CHECKS
    for check in skipped:
        assert len(check["check_result"]["suppress_comment"]) > 30, check["check_id"]


def test_the_checks_refuse_a_broken_manifest(
    schema_report: dict[str, list[tuple[str, str]]],
    checkov_report: dict[str, dict[str, list[dict[str, Any]]]],
) -> None:
    errors = [message for level, message in schema_report[BROKEN] if level == "ERROR"]
    assert len(errors) == 1
    assert "'replicaz' was unexpected" in errors[0]
    failed = {check["check_id"] for check in checkov_report[BROKEN]["failed_checks"]}
    # Privileged container, image tag "latest", no probes, no limits, root allowed.
    assert {"CKV_K8S_16", "CKV_K8S_14", "CKV_K8S_8", "CKV_K8S_11", "CKV_K8S_23"} <= failed


@pytest.mark.parametrize("variant", VARIANTS, ids=ids)
def test_names_and_labels_follow_the_conventions(builds: dict[str, Path], variant: Variant) -> None:
    slug = slug_of(variant)
    for obj in objects_of(builds[variant.name]):
        metadata = obj["metadata"]
        assert DNS_LABEL.match(metadata["name"]), metadata["name"]
        assert metadata["name"].startswith(slug)
        assert metadata["namespace"] == slug
        labels = metadata["labels"]
        assert labels["app.kubernetes.io/name"] == slug
        assert labels["app.kubernetes.io/instance"] == slug
        assert labels["app.kubernetes.io/component"] in {"api", "config", "migration"}
        for container in pod_spec(obj).get("containers", []):
            assert DNS_LABEL.match(container["name"])


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = obj.get("spec", {}).get("template", {}).get("spec", {})
    return spec


def containers_of(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(obj)
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.mark.parametrize("variant", VARIANTS, ids=ids)
def test_the_pods_run_unprivileged_with_a_read_only_root(
    builds: dict[str, Path], projects: dict[str, Path], variant: Variant
) -> None:
    slug = slug_of(variant)
    objects = objects_of(builds[variant.name])
    dockerfile = (projects[variant.name] / "Dockerfile").read_text()
    assert "USER 10001:10001" in dockerfile
    for obj in (one(objects, "Deployment"), one(objects, "Job")):
        spec = pod_spec(obj)
        assert spec["automountServiceAccountToken"] is False
        assert spec["securityContext"]["runAsUser"] == 10001
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        for container in containers_of(obj):
            assert container["image"] == f"registry.example.com/{slug}:0.1.0"
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert set(container["resources"]["limits"]) == {"cpu", "memory"}
            assert set(container["resources"]["requests"]) == {"cpu", "memory"}
            for mount in container["volumeMounts"]:
                assert "emptyDir" in volumes[mount["name"]]
    api = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert {mount["mountPath"] for mount in api["volumeMounts"]} == {"/tmp", "/app/.data"}  # noqa: S108 (a path in the pod)
    assert "DATA_DIR=/app/.data" in dockerfile


@pytest.mark.parametrize("variant", VARIANTS, ids=ids)
def test_probes_and_graceful_shutdown_fit_the_service(
    builds: dict[str, Path], projects: dict[str, Path], variant: Variant
) -> None:
    objects = objects_of(builds[variant.name])
    deployment = one(objects, "Deployment")
    spec = pod_spec(deployment)
    api = spec["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert api["startupProbe"]["httpGet"]["path"] == "/health/live"
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    # The settings' default and the ConfigMap's value agree; the kubelet waits longer than
    # the preStop pause and uvicorn's graceful shutdown together.
    settings = next((projects[variant.name] / "src").glob("*/settings.py")).read_text()
    default = re.search(r"shutdown_timeout_seconds: int = Field\(\s*default=(\d+)", settings)
    assert default is not None
    config = one(objects, "ConfigMap")["data"]
    assert config["SHUTDOWN_TIMEOUT_SECONDS"] == default[1]
    assert config["ENVIRONMENT"] == "production"
    assert "FORWARDED_ALLOW_IPS" in config
    pause = api["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert spec["terminationGracePeriodSeconds"] > pause + int(default[1])
    service = one(objects, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    pdb = one(objects, "PodDisruptionBudget")
    assert pdb["spec"]["selector"] == deployment["spec"]["selector"]
    hpa = one(objects, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    policy = one(objects, "NetworkPolicy", deployment["metadata"]["name"])
    assert policy["spec"]["podSelector"] == deployment["spec"]["selector"]
    assert [rule["ports"] for rule in policy["spec"]["ingress"]] == [
        [{"protocol": "TCP", "port": 8000}]
    ]
    # FORWARDED_ALLOW_IPS trusts the pod network: only the ingress controller may connect.
    controller = {"kubernetes.io/metadata.name": "ingress-nginx"}
    [admitted] = policy["spec"]["ingress"]
    assert admitted["from"] == [{"namespaceSelector": {"matchLabels": controller}}]
    # The connection budget: every replica's pool, overflow and listener, at the most
    # replicas, under PostgreSQL's default max_connections (100, 3 for superusers).
    per_replica = int(config["DB_POOL_SIZE"]) + int(config["DB_MAX_OVERFLOW"]) + 1
    assert hpa["spec"]["maxReplicas"] * per_replica <= 100 - 3 - 10
    out = {port["port"] for rule in policy["spec"]["egress"] for port in rule["ports"]}
    assert out == {53, 5432, 6432, 587, 465}


@pytest.mark.parametrize("variant", VARIANTS, ids=ids)
def test_the_migration_job_runs_the_cli_as_the_owner(
    builds: dict[str, Path], projects: dict[str, Path], variant: Variant
) -> None:
    slug = slug_of(variant)
    rls = variant.answers.get("rls", True)
    job = one(objects_of(builds[variant.name]), "Job")
    commands = [container["command"] for container in containers_of(job)]
    upgrade = [slug, "db", "upgrade"]
    assert commands == ([[slug, "db", "bootstrap"], upgrade] if rls else [upgrade])
    cli = next((projects[variant.name] / "src").glob("*/cli.py")).read_text()
    assert ("def bootstrap(" in cli) == rls
    assert 'envvar="BOOTSTRAP_DATABASE_URL"' in cli or not rls
    for container in containers_of(job):
        env = {item["name"] for item in container["env"]}
        assert {"MIGRATION_DATABASE_URL", "DATABASE_URL", "SECRET_KEY"} <= env
    assert pod_spec(job)["restartPolicy"] == "Never"
    migration_policy = one(objects_of(builds[variant.name]), "NetworkPolicy", f"{slug}-migrate")
    assert "ingress" not in migration_policy["spec"]
    assert migration_policy["spec"]["policyTypes"] == ["Ingress", "Egress"]


@pytest.mark.parametrize("variant", VARIANTS, ids=ids)
def test_secrets_are_only_referenced_and_the_readme_creates_them(
    builds: dict[str, Path], projects: dict[str, Path], variant: Variant
) -> None:
    slug = slug_of(variant)
    objects = objects_of(builds[variant.name])
    assert all(o["kind"] != "Secret" for o in objects)
    assert not any(SECRET_NAMES.search(name) for name in one(objects, "ConfigMap")["data"])
    required = set()
    for obj in (one(objects, "Deployment"), one(objects, "Job")):
        for container in containers_of(obj):
            for item in container["env"]:
                reference = item["valueFrom"]["secretKeyRef"]
                assert reference["name"] == f"{slug}-secrets"
                assert reference["key"] == item["name"]
                if not reference.get("optional"):
                    required.add(item["name"])
    # The service's pods never hold the owner's or the superuser's credentials.
    api_env = {item["name"] for item in containers_of(one(objects, "Deployment"))[0]["env"]}
    assert not api_env & {"MIGRATION_DATABASE_URL", "BOOTSTRAP_DATABASE_URL"}
    readme = (projects[variant.name] / "README.md").read_text()
    section = readme.split("### Kubernetes\n", 1)[1].split("\n## ", 1)[0]
    assert f"create secret generic {slug}-secrets" in section
    for key in required:
        assert f"--from-literal={key}=" in section, key
    assert "kubectl apply -k deploy/kubernetes" in section


@pytest.mark.parametrize("variant", VARIANTS, ids=ids)
def test_the_rendered_ci_runs_the_same_checks(projects: dict[str, Path], variant: Variant) -> None:
    workflow = yaml.safe_load((projects[variant.name] / ".github/workflows/ci.yml").read_text())
    commands = [step.get("run", "") for step in workflow["jobs"]["kubernetes"]["steps"]]
    for name, requirement in KUBERNETES_TOOLS.items():
        assert any(command.startswith(f"uvx --from {requirement} {name} ") for command in commands)
    assert any(f"--strict --kubernetes-version {KUBERNETES_VERSION}" in c for c in commands)
