"""User data and bake commands, rendered as text by pure functions.

No secret ever appears here: hosts read the master's address and the bundle's
name from SSM with their instance role, and the master reads secrets itself.
Salt is installed with pip into /opt/salt, pinned to the environment's
version, so master, minions and the image run exactly the same Salt.
"""

from __future__ import annotations

import json
import shlex

from argos_cloud.model.names import Scope

SCRUB_OK = "ARGOS-SCRUB-OK"
SCRUB_LEFT = "ARGOS-SCRUB-LEFT:"
SALT_VENV = "/opt/salt"

# What the image must not keep: Salt's tree, keys and logs, shell history,
# cloud-init's record of the bake instance, its login keys, and temp files.
SCRUB_PATHS: tuple[str, ...] = (
    "/srv/salt", "/srv/pillar", "/etc/salt/pki", "/etc/salt/minion_id",
    "/etc/salt/minion.d/argos-bake.conf", "/var/cache/salt", "/var/log/salt",
    "/root/.bash_history", "/home/*/.bash_history", "/var/lib/cloud/instances",
    "/var/lib/cloud/instance", "/root/.ssh/authorized_keys", "/home/*/.ssh/authorized_keys",
)
# Temp entries systemd recreates for running services; everything else goes.
_TMP_LEFTOVERS = ("find /tmp /var/tmp -mindepth 1 -maxdepth 1 ! -name 'systemd-private-*' "
                  "! -name 'snap-private-tmp'")

_HEADER = """#!/bin/bash
# argos-cloud user data for {name}. Holds no secret: values come from SSM.
set -euo pipefail
exec >>/var/log/argos-user-data.log 2>&1
REGION={region}
SALT_VERSION={version}
"""

_INSTALL_SALT = f"""install_salt() {{
  local have
  have=$({SALT_VENV}/bin/python -c 'import salt.version; print(salt.version.__version__)' \\
    2>/dev/null || true)
  if [ "$have" = "$SALT_VERSION" ]; then
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q python3-venv python3-dev build-essential curl
  python3 -m venv {SALT_VENV}
  {SALT_VENV}/bin/pip install --quiet "salt==$SALT_VERSION" boto3
}}
install_salt
for tool in salt salt-call salt-minion salt-master salt-key salt-run; do
  ln -sf {SALT_VENV}/bin/$tool /usr/local/bin/$tool
done
"""

# read_parameter NAME: prints the value, retrying while it does not exist yet.
_READ_PARAMETER = """read_parameter() {
  for attempt in $(seq 1 60); do
    if value=$(/opt/salt/bin/python - "$1" "$REGION" <<'PY'
import sys
import boto3
ssm = boto3.client("ssm", region_name=sys.argv[2])
print(ssm.get_parameter(Name=sys.argv[1])["Parameter"]["Value"])
PY
    ) && [ -n "$value" ]; then
      printf '%s' "$value"
      return 0
    fi
    sleep 10
  done
  echo "argos-cloud: SSM parameter $1 never appeared" >&2
  return 1
}
"""

_SERVICE = """cat > /etc/systemd/system/{unit}.service <<'UNIT'
[Unit]
Description={unit} (argos-cloud, Salt from {venv})
After=network-online.target
Wants=network-online.target

[Service]
ExecStart={venv}/bin/{unit}
KillMode=process
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
"""


def _header(name: str, salt_version: str, region: str) -> str:
    return _HEADER.format(name=name, region=shlex.quote(region),
                          version=shlex.quote(salt_version))


def minion_user_data(scope: Scope, role: str, salt_version: str, region: str, *,
                     beat: bool = False) -> str:
    """Install the pinned minion, point it at the master named in SSM, run highstate at start.

    The key is accepted by the master's grains autosign: the minion sends its
    `environment` grain, which the master lists as allowed.
    """
    grains = {"roles": [role], "environment": scope.environment or "",
              "project": scope.project, "argos_beat": beat}
    return (_header(scope.name(role), salt_version, region) + _INSTALL_SALT + _READ_PARAMETER
            + f"MASTER=$(read_parameter {shlex.quote(scope.parameter('master-address'))})\n"
            + "TOKEN=$(curl -sS -X PUT http://169.254.169.254/latest/api/token "
              "-H 'X-aws-ec2-metadata-token-ttl-seconds: 300')\n"
            + "INSTANCE_ID=$(curl -sS -H \"X-aws-ec2-metadata-token: $TOKEN\" "
              "http://169.254.169.254/latest/meta-data/instance-id)\n"
            + "mkdir -p /etc/salt/minion.d\n"
            + "cat > /etc/salt/minion.d/argos.conf <<CONF\n"
            + "master: ${MASTER}\n"
            + f"id: {scope.name(role)}-${{INSTANCE_ID}}\n"
            + "autosign_grains:\n  - environment\n"
            + "startup_states: highstate\n"
            + f"grains: {json.dumps(grains, sort_keys=True)}\n"
            + "CONF\n"
            + _SERVICE.format(unit="salt-minion", venv=SALT_VENV)
            + "systemctl enable --now salt-minion\n")


def master_user_data(scope: Scope, salt_version: str, region: str, bucket: str) -> str:
    """Install the pinned master, fetch the bundle named in SSM, apply the master state.

    The master state (run masterless here) writes the master config, the
    autosign list, the secrets ext_pillar and the firewall, and starts salt-master.
    """
    # The `bundle` parameter is a JSON record ({"bucket", "key", "digest", …}), not a key.
    fetch = f"""RECORD=$(read_parameter {shlex.quote(scope.parameter('bundle'))})
/opt/salt/bin/python - "$RECORD" "$REGION" {shlex.quote(bucket)} <<'PY'
import json
import sys
import boto3
record = json.loads(sys.argv[1])
s3 = boto3.client("s3", region_name=sys.argv[2])
s3.download_file(record.get("bucket") or sys.argv[3], record["key"],
                 "/root/argos-bundle.tar.gz")
PY
rm -rf /srv/salt /srv/pillar
mkdir -p /srv
tar -xzf /root/argos-bundle.tar.gz -C /srv --no-same-owner
chmod -R go-rwx /srv/pillar
"""
    return (_header(scope.name("master"), salt_version, region) + _INSTALL_SALT
            + _READ_PARAMETER + fetch + _SERVICE.format(unit="salt-master", venv=SALT_VENV)
            + "salt-call --local --file-root=/srv/salt --pillar-root=/srv/pillar "
              "--retcode-passthrough state.apply master\n")


def image_bake_commands(salt_version: str) -> list[str]:
    """SSM Run Command lines for the bake instance: apply the image states, then scrub.

    The tree and pillar must already be in /srv/salt and /srv/pillar. This is a
    real apply, on the throwaway bake instance only.
    """
    conf = json.dumps({"file_client": "local", "file_roots": {"base": ["/srv/salt"]},
                       "pillar_roots": {"base": ["/srv/pillar"]},
                       "grains": {"roles": ["image"]}}, sort_keys=True)
    return [
        "set -euo pipefail",
        # The SSM agent answers before cloud-init ends; cloud-init would write its
        # records (and root's authorized_keys) again after the scrub.
        "cloud-init status --wait >/dev/null 2>&1 || true",
        f"SALT_VERSION={shlex.quote(salt_version)}",
        _INSTALL_SALT.rstrip("\n"),
        "mkdir -p /etc/salt/minion.d",
        f"echo {shlex.quote(conf)} > /etc/salt/minion.d/argos-bake.conf",
        f"{SALT_VENV}/bin/salt-call --local --retcode-passthrough state.apply",
        *scrub_commands(),
    ]


def scrub_commands() -> list[str]:
    """Remove what the image must not keep (SCRUB_PATHS and temp files)."""
    return [
        "shopt -s nullglob dotglob",
        "rm -rf -- " + " ".join(SCRUB_PATHS),
        f"{_TMP_LEFTOVERS} -exec rm -rf -- {{}} +",
        "history -c || true",
    ]


def scrub_check_command() -> str:
    """Prints exactly SCRUB_OK when the scrub left nothing, else SCRUB_LEFT and what remains."""
    return ("shopt -s nullglob dotglob; left=''; "
            f"for p in {' '.join(SCRUB_PATHS)}; do "
            "if [ -e \"$p\" ]; then left=\"$left $p\"; fi; done; "
            f"for p in $({_TMP_LEFTOVERS}); do left=\"$left $p\"; done; "
            f"if [ -z \"$left\" ]; then echo {SCRUB_OK}; else echo \"{SCRUB_LEFT}$left\"; fi")


def scrub_leftovers(output: str) -> list[str] | None:
    """What the check found left ([] when clean), or None when its output is not a verdict."""
    lines = output.strip().splitlines()
    if lines == [SCRUB_OK]:
        return []
    if len(lines) == 1 and lines[0].startswith(SCRUB_LEFT):
        return lines[0][len(SCRUB_LEFT):].split()
    return None
