"""The state tree validates with real Salt, and each kind of defect is refused by file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from argos_cloud.errors import BadInput
from argos_cloud.provision.validate import ROLES, RoleResult, copy_default_tree, validate_tree

pytestmark = pytest.mark.salt

BROKEN = {  # case: (file under the tree, old text, new text)
    "bad yaml": ("states/app/init.sls", "nginx-site:\n", "nginx-site: [unclosed\n"),
    "bad jinja": ("states/worker/init.sls", "include:", "{% if %}\ninclude:"),
    "missing include": ("states/app/init.sls", "  - argos\n", "  - argos.nowhere\n"),
    "missing requisite": ("states/app/init.sls", "cmd: argos-requirements",
                          "cmd: argos-requirementz"),
    "unknown state function": ("states/database/init.sls", "mount.mounted:",
                               "mount.mountedd:"),
    "unknown argument": ("states/argos/init.sls", "force_reset: True",
                         "force_resett: True"),
    "broken template": ("states/app/files/nginx-argos.conf", "listen 80",
                        "listen {{ pillar['argos']['app']['no_such_key'] }}"),
    "bad jinja in template": ("states/database/files/pg_hba.conf", "# TYPE",
                              "{% for %}"),
    "undefined pillar key": ("states/broker/init.sls", "pillar['argos']['broker']",
                             "pillar['argos']['brokers']"),
    "duplicate id across files": ("states/worker/init.sls", "celery-unit:",
                                  "argos-user:\n  user.present: []\n\ncelery-unit:"),
    "duplicate id in a file": ("states/master/init.sls", "salt-master:\n",
                               "salt-master-config:\n  file.absent: []\n\nsalt-master:\n"),
    "unknown function of an unavailable module": (
        "states/database/init.sls", "postgres_database.present:", "postgres_database.presnt:"),
    "missing source file": ("states/app/init.sls", "salt://app/files/nginx-argos.conf",
                            "salt://app/files/nginx-argo.conf"),
}
ROLE_OF = {"app": "app", "worker": "worker", "argos": "app", "database": "database",
           "broker": "broker", "master": "master"}


@pytest.fixture(scope="module")
def good() -> dict[str, RoleResult]:
    """One validation of the packaged tree, shared by the tests that read it."""
    return {r.role: r for r in validate_tree(None)}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_of_the_default_tree_validates(good: dict[str, RoleResult],
                                                  role: str) -> None:
    result = good[role]
    assert result.errors == []
    assert result.ok and result.states > 0


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, RoleResult]]:
    """Every broken tree validated once, a few at a time (each validation is a child)."""

    def one(case: str) -> tuple[Path, RoleResult]:
        rel, old, new = BROKEN[case]
        tree = tmp_path_factory.mktemp("broken")
        copy_default_tree(tree)
        path = tree / rel
        text = path.read_text()
        assert old in text, f"case {case!r} no longer matches the tree"
        path.write_text(text.replace(old, new, 1))
        [result] = validate_tree(tree, roles=(ROLE_OF[rel.split("/")[1]],))
        return path, result

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(zip(sorted(BROKEN), pool.map(one, sorted(BROKEN)), strict=True))


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_tree_is_refused_naming_the_file(
        broken: dict[str, tuple[Path, RoleResult]], case: str) -> None:
    path, result = broken[case]
    assert not result.ok, f"{case} passed validation"
    assert any(str(path) in error for error in result.errors), result.errors


def test_a_broken_user_template_is_refused_naming_it(tmp_path: Path) -> None:
    template = tmp_path / "config.py"
    template.write_text("SECRET_KEY = '{{ secrets.no_such_secret }}'\n")
    celery = tmp_path / "celery_config.py"
    celery.write_text("broker_url = '{{ pillar.argos.broker.url_scheme }}'\n")
    [result] = validate_tree(None, roles=("worker",),
                             templates={"config.py": template, "celery_config.py": celery})
    assert not result.ok
    assert all(str(template) in error for error in result.errors), result.errors


def test_copy_default_tree_keeps_existing_files(tmp_path: Path) -> None:
    mine = tmp_path / "states/app/init.sls"
    mine.parent.mkdir(parents=True)
    mine.write_text("# mine\n")
    copied = copy_default_tree(tmp_path)
    assert mine.read_text() == "# mine\n" and mine not in copied
    assert tmp_path / "states/top.sls" in copied
    assert copy_default_tree(tmp_path) == []


def test_salt_lint_is_clean_on_every_sls(tmp_path: Path) -> None:
    copy_default_tree(tmp_path)
    files = sorted(str(p) for p in tmp_path.rglob("*.sls"))
    assert len(files) >= 8
    lint = shutil.which("salt-lint", path=str(Path(sys.executable).parent))
    assert lint is not None
    done = subprocess.run([lint, *files], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_rabbitmq_broker_validates_too() -> None:
    from argos_cloud.provision.pillar import build_pillar
    from argos_cloud.provision.validate import sample_spec

    spec = sample_spec()
    spec = spec.model_copy(update={"broker": spec.broker.model_copy(
        update={"engine": "rabbitmq"})})
    [result] = validate_tree(None, pillar=build_pillar(spec, commit="0" * 40),
                             roles=("broker",))
    assert result.errors == []
    assert result.ok and result.states >= 3


def test_a_folder_without_a_top_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"no states/top\.sls"):
        validate_tree(tmp_path)
