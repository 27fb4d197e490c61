"""Run in a child process: render and check each role's highstate with real Salt.

Usage: python -m argos_cloud.provision._salt_child JOB.json. Prints one JSON
list of {"role", "states", "errors"} on stdout. Imports Salt (which replaces
the process's logging setup) so the parent never has to. Nothing here applies
a state: it renders, compiles, orders and inspects, and renders templates.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import os
import re
import sys
from typing import Any

# State modules whose __virtual__ needs a binary this host may lack (psql,
# rabbitmqctl, …): their functions are checked from the module source instead.
_SOURCE_CHECKED = {"postgres_user", "postgres_database", "postgres_group",
                   "postgres_schema", "postgres_extension", "postgres_privileges",
                   "rabbitmq_user", "rabbitmq_vhost", "rabbitmq_plugin",
                   "rabbitmq_policy", "rabbitmq_cluster", "virtualenv", "pip"}
_NOT_ARGUMENTS = {"name", "names", "__env__", "__sls__", "__id__", "state", "fun",
                  "__sls_included_from__", "order", "__umask__"}


def _sls(chunk: dict[str, Any]) -> str:
    return f"SLS '{chunk.get('__env__', 'base')}:{chunk.get('__sls__', '?')}'"


def _function(states: Any, state: str, fun: str) -> tuple[Any, str | None]:
    """The state function, or None with why; unavailable-here modules come from source."""
    full = f"{state}.{fun}"
    if full in states:
        return states[full], None
    if state in _SOURCE_CHECKED:
        try:
            module = importlib.import_module(f"salt.states.{state}")
        except ImportError:
            return None, f"state module '{state}' does not exist"
        func = getattr(module, fun, None)
        if callable(func) and not fun.startswith("_"):
            return func, None
        return None, f"state function '{full}' does not exist"
    reason = states.missing_fun_string(full) or "not available"
    return None, f"state function '{full}' does not exist ({reason})"


def _closed_kwargs(func: Any) -> bool:
    """True when a function takes **kwargs only to refuse unknown ones (e.g. git.latest)."""
    try:
        return "invalid_kwargs(" in inspect.getsource(func)
    except (OSError, TypeError):
        return False


def _check_arguments(chunk: dict[str, Any], func: Any) -> list[str]:
    import salt.state
    import salt.utils.args

    full = f"{chunk['state']}.{chunk['fun']}"
    spec = salt.utils.args.get_function_argspec(func)
    errors = []
    required = spec.args[: len(spec.args) - len(spec.defaults or ())]
    errors += [f"{_sls(chunk)}: ID '{chunk['__id__']}': {full} misses argument '{arg}'"
               for arg in required if arg not in chunk]
    if spec.keywords is None or _closed_kwargs(func):
        known = set(spec.args)
        for key in chunk:
            if (key not in known and key not in _NOT_ARGUMENTS
                    and key not in salt.state.STATE_INTERNAL_KEYWORDS
                    and not key.startswith("__")):
                errors.append(f"{_sls(chunk)}: ID '{chunk['__id__']}': {full} has no "
                              f"argument '{key}'")
    return errors


def _check_file(hs: Any, chunk: dict[str, Any]) -> list[str]:
    """Fetch each file.managed source and render it as file.managed would."""
    import salt.utils.templates

    state = hs.state
    pillar = state.opts["pillar"]
    where = f"{_sls(chunk)}: ID '{chunk['__id__']}'"
    errors = []
    if chunk.get("contents_pillar"):
        missing = object()
        if state.functions["pillar.get"](chunk["contents_pillar"], missing) is missing:
            errors.append(f"{where}: pillar key '{chunk['contents_pillar']}' is not defined")
    sources = chunk.get("source")
    if not sources:
        return errors
    source = sources[0] if isinstance(sources, list) else sources
    if not isinstance(source, str) or not source.startswith("salt://"):
        return errors
    saltenv = chunk.get("__env__", "base")
    cached = state.functions["cp.cache_file"](source, saltenv)
    if not cached:
        return [*errors, f"{where}: source {source} not found"]
    template = chunk.get("template")
    if not template:
        return errors
    if template not in salt.utils.templates.TEMPLATE_REGISTRY:
        return [*errors, f"{where}: template engine '{template}' is unknown"]
    context = dict(chunk.get("defaults") or {})
    context.update(chunk.get("context") or {})
    try:
        data = salt.utils.templates.TEMPLATE_REGISTRY[template](
            cached, name=chunk["name"], source=source, saltenv=saltenv, context=context,
            salt=state.functions, pillar=pillar, grains=state.opts["grains"],
            opts=state.opts, to_str=True)
    except Exception as e:  # a renderer raising is a verdict, not a crash
        return [*errors, f"{where}: template {source} failed: {e}"]
    if not data.get("result"):
        return [*errors, f"{where}: template {source} failed: {data.get('data')}"]
    if isinstance(data.get("data"), str) and os.path.isfile(data["data"]):
        os.unlink(data["data"])
    return errors


def validate_role(config_dir: str, secrets: dict[str, Any]) -> tuple[int, list[str]]:
    """(number of states, errors) for the highstate the config dir's grains select."""
    import salt.config
    import salt.loader
    import salt.state

    opts = salt.config.minion_config(os.path.join(config_dir, "minion"))
    opts["file_client"] = "local"
    opts["grains"] = salt.loader.grains(opts)
    with salt.state.HighState(opts, pillar_override={"secrets": secrets}) as hs:
        pillar_errors = hs.state.opts["pillar"].get("_errors")
        if pillar_errors:
            return 0, [f"pillar: {e}" for e in pillar_errors]
        top = hs.get_top()
        errors = list(hs.verify_tops(top))
        matches = hs.top_matches(top)
        if not errors and not any(matches.values()):
            errors.append("SLS 'base:top': top.sls selects no states for this role")
        high, render_errors = hs.render_highstate(matches)
        errors += render_errors
        if errors:
            return 0, errors
        high, ext_errors = hs.state.reconcile_extend(high)
        errors += ext_errors + hs.state.verify_high(high)
        high, req_errors = hs.state.requisite_in(high)
        errors += req_errors
        if errors:
            return 0, errors
        high = hs.state.apply_exclude(high)
        chunks, errors = hs.state.compile_high_data(high)
        if errors:
            return 0, errors
        _, order_errors = hs.state.order_chunks(chunks)
        errors += order_errors
        for chunk in chunks:
            func, why = _function(hs.state.states, chunk["state"], chunk["fun"])
            if func is None:
                errors.append(f"{_sls(chunk)}: ID '{chunk['__id__']}': {why}")
                continue
            errors += _check_arguments(chunk, func)
            if chunk["state"] == "file" and chunk["fun"] == "managed":
                errors += _check_file(hs, chunk)
        return len(chunks), errors


def main(argv: list[str]) -> int:
    logging.getLogger().addHandler(logging.NullHandler())  # Salt adds no stderr handler
    with open(argv[1], encoding="utf-8") as f:
        job = json.load(f)
    results = []
    for role, config_dir in job["roles"].items():
        try:
            count, errors = validate_role(config_dir, job["secrets"])
        except Exception as e:  # one role's crash must not hide the others' verdicts
            count, errors = 0, [f"{type(e).__name__}: {e}"]
        results.append({"role": role, "states": count,
                        "errors": [re.sub(r"\s+\n", "\n", str(e)).strip() for e in errors]})
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
