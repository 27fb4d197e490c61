"""The app and worker states, rendered by real Salt (never applied), serve the reference app.

Render calls only (`state.show_sls`, `slsutil.renderer`) through `salt-call --local`
with a private config dir: nothing touches this machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from argos_cloud.provision.pillar import sample_secrets
from argos_cloud.provision.validate import (
    _bundle_members,
    _default_templates,
    packaged_tree,
    sample_pillar,
)

pytestmark = pytest.mark.salt

SALT_CALL = str(Path(sys.executable).parent / "salt-call")
COMMIT = "0" * 40  # sample_pillar's commit


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("bundle")
    with packaged_tree() as tree, _default_templates() as starters:
        members = _bundle_members(tree, {**sample_pillar(), "secrets": sample_secrets()},
                                  dict(starters))
    for name, (data, _, _) in members.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(data)
    return work


def salt_call(bundle: Path, tmp: Path, role: str, grains: dict[str, Any],
              *args: str) -> Any:
    run, conf = tmp / "run", tmp / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "minion").write_text(json.dumps({
        "id": f"{role}-render", "file_client": "local", "root_dir": str(run),
        "cachedir": str(run / "cache"), "pki_dir": str(run / "pki"),
        "sock_dir": str(run / "sock"), "log_file": str(run / "minion.log"),
        "extension_modules": str(run / "extmods"),
        "file_roots": {"base": [str(bundle / "salt")]},
        "pillar_roots": {"base": [str(bundle / "pillar")]},
        "enable_fqdns_grains": False, "enable_gpu_grains": False, "grains_cache": False,
        "grains": {"roles": [role], "argos_beat": role == "worker", **grains}}))
    done = subprocess.run([SALT_CALL, "--local", f"--config-dir={conf}", *args,
                           "--out=json", "--retcode-passthrough"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)["local"]


def arguments(state: dict[str, Any], module: str) -> dict[str, Any]:
    return {k: v for item in state[module] if isinstance(item, dict) for k, v in item.items()}


def test_the_app_migrates_once_per_commit_then_serves_gunicorn_behind_nginx(
        bundle_dir: Path, tmp_path: Path) -> None:
    high = salt_call(bundle_dir, tmp_path, "app", {}, "state.show_sls", "app")
    migrate = arguments(high["argos-migrate"], "cmd")
    assert migrate["name"].startswith("python -m argos.migrate")
    assert migrate["unless"] == f"grep -qsx {COMMIT} /srv/argos/migrated-commit"
    requirements = arguments(high["argos-requirements"], "cmd")
    assert requirements["unless"].startswith("grep -qsx ")  # harmless under validation
    gunicorn = arguments(high["argos-gunicorn"], "service")
    assert {"cmd": "argos-migrate"} in gunicorn["require"]
    assert {"git": "argos-checkout"} in gunicorn["watch"]
    assert arguments(high["argos-checkout"], "git")["rev"] == COMMIT  # a string, not 0


def test_the_gunicorn_unit_and_nginx_site_agree_on_port_and_health_path(
        bundle_dir: Path, tmp_path: Path) -> None:
    unit = salt_call(bundle_dir, tmp_path, "app", {}, "slsutil.renderer",
                     "salt://app/files/argos-gunicorn.service", "default_renderer=jinja",
                     "workers=3")
    assert "--bind 127.0.0.1:8000 " in unit and "argos.wsgi:application" in unit
    assert "Type=notify" in unit and "--preload" in unit
    site = salt_call(bundle_dir, tmp_path, "app", {}, "slsutil.renderer",
                     "salt://app/files/nginx-argos.conf", "default_renderer=jinja")
    assert "server 127.0.0.1:8000;" in site and "location = /health {" in site
    assert "listen 80 default_server;" in site  # the target group's port (model HTTP_PORT)


@pytest.mark.parametrize(("grains", "packages", "site", "postgresql"), [
    ({"os_family": "Debian", "os": "Debian", "osmajorrelease": 12},
     "python3-venv", "/etc/nginx/sites-available/argos.conf", "15"),
    ({"os_family": "Debian", "os": "Ubuntu", "osmajorrelease": 22},
     "build-essential", "/etc/nginx/sites-available/argos.conf", "14"),
    ({"os_family": "RedHat", "os": "Amazon", "osmajorrelease": 2023},
     "python3-devel", "/etc/nginx/conf.d/argos.conf", None),
])
def test_packages_nginx_layout_and_postgresql_follow_the_grains(
        bundle_dir: Path, tmp_path: Path, grains: dict[str, Any], packages: str, site: str,
        postgresql: str | None) -> None:
    app = salt_call(bundle_dir, tmp_path / "app", "app", grains, "state.show_sls", "app")
    assert packages in arguments(app["image-packages"], "pkg")["pkgs"]
    assert arguments(app["nginx-site"], "file")["name"] == site
    assert ("nginx-site-enabled" in app) == (grains["os_family"] == "Debian")
    if postgresql is not None:
        db = salt_call(bundle_dir, tmp_path / "db", "database", grains,
                       "state.show_sls", "database")
        assert arguments(db["postgresql-hba"], "file")["name"] == (
            f"/etc/postgresql/{postgresql}/main/pg_hba.conf")
