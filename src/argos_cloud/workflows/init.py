"""`init`: a starter config, seed-style deploy/ templates and the Salt tree; never overwrites."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

GITIGNORE_LINES = ("deploy/keys/", "cloud/keys/", ".argos-cloud/")


@dataclass
class InitResult:
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)


def _starter_config() -> str:
    text = (resources.files("argos_cloud.templates") / "argos-cloud.toml").read_text()
    return text.replace('# state_tree = "salt"', 'state_tree = "salt"')


def init(folder: Path) -> InitResult:
    """Write what is missing in `folder`; an existing file is kept as it is."""
    from argos_cloud.provision.validate import copy_default_tree

    result = InitResult()
    templates = resources.files("argos_cloud.templates")
    files = {
        folder / "argos-cloud.toml": _starter_config(),
        folder / "deploy" / "config.py": (templates / "deploy" / "config.py").read_text(),
        folder / "deploy" / "celery_config.py":
            (templates / "deploy" / "celery_config.py").read_text(),
    }
    for path, text in files.items():
        if path.exists():
            result.kept.append(path)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        result.created.append(path)
    for keys in (folder / "deploy" / "keys", folder / "cloud" / "keys"):
        if not keys.exists():
            keys.mkdir(parents=True)
            result.created.append(keys)
    reference = Path(__file__).resolve().parents[3] / "reference-app"  # a source checkout
    if reference.is_dir() and not (folder / "reference-app").exists():
        import shutil

        shutil.copytree(reference, folder / "reference-app",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        result.created.append(folder / "reference-app")
    tree = folder / "salt"
    existed = tree.exists()
    copied = copy_default_tree(tree)
    if copied and not existed:
        result.created.append(tree)
    elif existed:
        result.kept.append(tree)
    gitignore = folder / ".gitignore"
    current = gitignore.read_text().splitlines() if gitignore.exists() else []
    missing = [line for line in GITIGNORE_LINES if line not in current]
    if missing:
        with gitignore.open("a") as f:
            if current and current[-1].strip():
                f.write("\n")
            f.write("# argos-cloud: private keys and local state\n")
            f.write("\n".join(missing) + "\n")
        (result.created if not current else result.kept).append(gitignore)
    return result
