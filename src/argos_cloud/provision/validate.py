"""The state tree: copy it, bundle it, and validate it offline with real Salt.

Validation renders and checks each role's highstate in a child process
(`_salt_child`): importing Salt rewires logging, and a crash there must not
take the CLI with it. Nothing is applied; no state touches this host.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argos_cloud.errors import BadInput, OperationFailed

if TYPE_CHECKING:
    from argos_cloud.config import EnvironmentSpec

ROLES = ("image", "master", "app", "worker", "database", "broker")
TEMPLATE_NAMES = ("config.py", "celery_config.py")
_TEMPLATE_DIR = "salt/argos/files"
_FIXED_MTIME = 1_700_000_000  # bundles are byte-identical for identical inputs
_CHILD_TIMEOUT = 300


@dataclass(frozen=True)
class RoleResult:
    """One role's verdict; every error starts with the file it is about."""

    role: str
    ok: bool
    states: int
    errors: list[str] = field(default_factory=list)


@contextmanager
def packaged_tree() -> Iterator[Path]:
    """The default tree shipped inside argos_cloud (folders `states/` and `pillar/`)."""
    with resources.as_file(resources.files("argos_cloud.salt")) as path:
        yield Path(path)


def _tree_files(tree: Path) -> dict[str, Path]:
    """Bundle path (`salt/…`, `pillar/…`) → file in the tree, sorted, caches skipped."""
    found: dict[str, Path] = {}
    for folder, prefix in (("states", "salt"), ("pillar", "pillar")):
        root = tree / folder
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            rel = path.relative_to(root)
            if path.is_file() and "__pycache__" not in rel.parts:
                found[f"{prefix}/{rel.as_posix()}"] = path
    return found


def pillar_sls(pillar: Mapping[str, Any]) -> bytes:
    """The generated `pillar/argos.sls`: JSON, so no value is ever read as Jinja or YAML."""
    return ("#!json\n" + json.dumps(pillar, indent=2, sort_keys=True) + "\n").encode()


def _bundle_members(tree: Path, pillar: Mapping[str, Any],
                    templates: Mapping[str, Path]) -> dict[str, tuple[bytes, int, str]]:
    """Bundle path → (content, mode, what to call it in an error)."""
    members: dict[str, tuple[bytes, int, str]] = {}
    for name, path in _tree_files(tree).items():
        mode = 0o755 if os.access(path, os.X_OK) else 0o644
        members[name] = (path.read_bytes(), mode, str(path))
    members["pillar/argos.sls"] = (pillar_sls(pillar), 0o644, "pillar/argos.sls (generated)")
    for name, path in templates.items():
        members[f"{_TEMPLATE_DIR}/{name}"] = (Path(path).read_bytes(), 0o644, str(path))
    return dict(sorted(members.items()))


def bundle(tree: Path, pillar: Mapping[str, Any], templates: Mapping[str, Path]) -> bytes:
    """A deterministic tar.gz of `salt/…` and `pillar/…` for the master's /srv."""
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, (data, mode, _) in _bundle_members(tree, pillar, templates).items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, _FIXED_MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def bundle_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def image_states_digest(tree: Path, system_packages: Sequence[str] = ()) -> str:
    """Names the baked image: the image role's files, top.sls and the extra packages."""
    digest = hashlib.sha256()
    for name, path in _tree_files(tree).items():
        if name == "salt/top.sls" or name.startswith("salt/image/") or name == "salt/image.sls":
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update("\n".join(sorted(system_packages)).encode())
    return digest.hexdigest()


def copy_default_tree(dest: Path) -> list[Path]:
    """Copy the packaged tree into `dest`, keeping any file already there; the copies made."""
    copied = []
    with packaged_tree() as tree:
        for name, path in _tree_files(tree).items():
            prefix, rel = name.split("/", 1)
            target = dest / ("states" if prefix == "salt" else "pillar") / rel
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
            target.chmod(path.stat().st_mode & 0o777)
            copied.append(target)
    return copied


def sample_spec() -> EnvironmentSpec:
    """A made-up environment whose pillar exercises every branch a default tree has."""
    from argos_cloud.config.schema import EnvironmentSpec, ImageConfig, SourceConfig

    return EnvironmentSpec(
        name="sample", project="argos", image=ImageConfig(base_ami_id="ami-00000000"),
        source=SourceConfig(repository="https://git.example.invalid/argos.git",
                            config_template=Path("config.py"),
                            celery_config_template=Path("celery_config.py"),
                            deploy_key=Path("deploy_key")))


def sample_pillar() -> dict[str, Any]:
    from argos_cloud.provision.pillar import build_pillar

    return build_pillar(sample_spec(), commit="0" * 40, master_address="10.0.0.10",
                        database_host="10.0.0.20", broker_host="10.0.0.30")


@contextmanager
def _default_templates() -> Iterator[dict[str, Path]]:
    """The starter templates shipped with argos-cloud, standing in for the user's."""
    deploy = resources.files("argos_cloud.templates").joinpath("deploy")
    with resources.as_file(deploy) as path:
        yield {name: Path(path) / name for name in TEMPLATE_NAMES}


def validate_tree(tree: Path | None = None, *, pillar: Mapping[str, Any] | None = None,
                  roles: Sequence[str] = ROLES,
                  templates: Mapping[str, Path] | None = None) -> list[RoleResult]:
    """Render and check every role's highstate with real Salt, offline, in child processes.

    `tree=None` validates the packaged tree; `templates` default to the starter
    templates unless the tree already ships `states/argos/files/<name>`.
    """
    from argos_cloud.provision.pillar import sample_secrets

    with packaged_tree() as default, _default_templates() as starters, \
            tempfile.TemporaryDirectory(prefix="argos-validate-") as tmp:
        root = Path(tree) if tree is not None else default
        if not (root / "states" / "top.sls").is_file():
            raise BadInput(f"{root}: not a state tree (no states/top.sls); "
                           "'argos-cloud init' writes the default one")
        if templates is None:
            templates = {n: p for n, p in starters.items()
                         if not (root / "states/argos/files" / n).exists()}
        members = _bundle_members(root, pillar if pillar is not None else sample_pillar(),
                                  templates)
        work = Path(tmp)
        for name, (data, _, _) in members.items():
            (work / "bundle" / name).parent.mkdir(parents=True, exist_ok=True)
            (work / "bundle" / name).write_bytes(data)
        configs = {role: _write_minion_config(work, role) for role in roles}
        raw = _run_children(work, configs, sample_secrets())
        return [_result(item, members, work) for item in raw]


def _write_minion_config(work: Path, role: str) -> str:
    """A private config dir: every path under the role's own root_dir."""
    run = work / "run" / role
    conf = work / "conf" / role
    conf.mkdir(parents=True)
    minion = {
        "id": f"{role}-validate", "file_client": "local", "root_dir": str(run),
        "cachedir": str(run / "cache"), "pki_dir": str(run / "pki"),
        "sock_dir": str(run / "sock"), "log_file": str(run / "minion.log"),
        "log_level_logfile": "quiet", "extension_modules": str(run / "extmods"),
        "file_roots": {"base": [str(work / "bundle/salt")]},
        "pillar_roots": {"base": [str(work / "bundle/pillar")]},
        "enable_fqdns_grains": False, "enable_gpu_grains": False, "grains_cache": False,
        "grains": {"roles": [role], "environment": "sample", "project": "argos",
                   "argos_beat": role == "worker"},
    }
    (conf / "minion").write_text(json.dumps(minion, indent=1))
    return str(conf)


def _run_children(work: Path, configs: dict[str, str],
                  secrets: Mapping[str, str]) -> list[dict[str, Any]]:
    """Split the roles over at most one child per core; each child loops over its share."""
    count = max(1, min(len(configs), os.cpu_count() or 1))
    shares = [dict(list(configs.items())[i::count]) for i in range(count)]
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    env["PYTHONWARNINGS"] = "ignore"
    procs = []
    for i, share in enumerate(shares):
        job = work / f"job-{i}.json"
        job.write_text(json.dumps({"roles": share, "secrets": dict(secrets)}))
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "argos_cloud.provision._salt_child", str(job)],
            cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    results: list[dict[str, Any]] = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=_CHILD_TIMEOUT)
            if proc.returncode != 0 or not out.strip():
                raise OperationFailed("Salt validation could not run (is salt==3008.4 "
                                      "installed? pip install 'argos-cloud[salt]')",
                                      detail=err[-4000:])
            results += json.loads(out)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    order = list(configs)
    return sorted(results, key=lambda r: order.index(r["role"]))


_SLS_REF = re.compile(r"(?:SLS\s+'?|'|\b)(?:base|__env__):([A-Za-z0-9_.\-/]+)'?")
_SLS_BRACKET = re.compile(r"SLS \[([A-Za-z0-9_.\-/]+)\]")
_SALT_URL = re.compile(r"salt://([^\s'\"]+)")
_CACHED = re.compile(r"/files/base/([^\s'\"]+)")
_MISSING_SLS = re.compile(r"Specified SLS (\S+) in saltenv")


def _including(sls: str, members: Mapping[str, tuple[bytes, int, str]]) -> list[str]:
    """The SLS files that name `sls` in a list item: Salt's error names only the missing one."""
    item = re.compile(r"^\s*-\s*['\"]?" + re.escape(sls) + r"['\"]?\s*$", re.MULTILINE)
    return [shown for name, (data, _, shown) in members.items()
            if name.startswith("salt/") and name.endswith(".sls")
            and item.search(data.decode(errors="replace"))]


def _files_named(text: str, names: Mapping[str, str]) -> list[str]:
    """The files an error is about: template sources first, then SLS files."""
    found: list[str] = []
    for pattern in (_SALT_URL, _CACHED):
        for rel in pattern.findall(text):
            shown = names.get(f"salt/{rel.rstrip('.,:;)')}")
            if shown and shown not in found:
                found.append(shown)
    for sls in _SLS_REF.findall(text) + _SLS_BRACKET.findall(text):
        base = "salt/" + sls.rstrip(".").replace(".", "/")
        for candidate in (f"{base}.sls", f"{base}/init.sls"):
            if candidate in names and names[candidate] not in found:
                found.append(names[candidate])
    if text.startswith("pillar:") and not found:
        found.append(names.get("pillar/top.sls", "pillar/top.sls"))
    return found


def _result(item: Mapping[str, Any], members: Mapping[str, tuple[bytes, int, str]],
            work: Path) -> RoleResult:
    names = {name: shown for name, (_, _, shown) in members.items()}
    errors = []
    for text in item["errors"]:
        missing = _MISSING_SLS.search(text)
        files = _including(missing.group(1), members) if missing else []
        files += [f for f in _files_named(text, names) if f not in files]
        text = text.replace(str(work), "<validate>")
        errors.append(f"{', '.join(files)}: {text}" if files else text)
    return RoleResult(role=item["role"], ok=not errors, states=int(item["states"]),
                      errors=errors)
