"""EnvironmentSpec + Facts → every desired resource of DESIGN §2, with its dependencies.

Pure: no AWS call. Each resource's `spec` is plain data the kind's diff and
create read; references to other resources are their addresses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from argos_cloud.config import EnvironmentSpec
from argos_cloud.model.facts import Facts
from argos_cloud.model.names import IMAGE_ROLE, Scope
from argos_cloud.plan.types import Resource

SSM_CORE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
BROKER_PORTS = {"redis": 6379, "rabbitmq": 5672}
DATABASE_PORT = 5432
SALT_PORTS = (4505, 4506)
HTTP_PORT = 80
DATA_DEVICE = "/dev/sdf"
# Secrets generated once at commission (never regenerated on a re-run).
GENERATED_SECRETS = ("database-password", "secret-key", "broker-password")
INSTANCE_ROLES = ("master", "database", "broker")
GROUP_ROLES = ("app", "worker")
SG_ROLES = ("lb", "master", "database", "broker", "app", "worker")


def image_name(project: str, digest: str) -> str:
    return f"{project}-image-{digest[:16]}"


def bucket_name(project: str, environment: str, account_id: str) -> str:
    """Globally unique by account; at most 63 characters (project ≤ 20, env ≤ 16)."""
    return f"argos-cloud-{project}-{environment}-{account_id}"[:63]


def instance_profile_name(scope: Scope) -> str:
    return scope.name("instances")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _rule(port_from: int, port_to: int, source: str) -> dict[str, object]:
    return {"protocol": "tcp", "from": port_from, "to": port_to, "source": source}


def security_group_rules(spec: EnvironmentSpec) -> dict[str, list[dict[str, object]]]:
    """Least privilege (DESIGN §2): only the load balancer is open to the world."""
    broker_port = BROKER_PORTS[spec.broker.engine]
    minions = ("app", "worker", "database", "broker")
    rules: dict[str, list[dict[str, object]]] = {
        "lb": [_rule(80, 80, "cidr:0.0.0.0/0"), _rule(443, 443, "cidr:0.0.0.0/0"),
               _rule(80, 80, "cidr6:::/0"), _rule(443, 443, "cidr6:::/0")],
        "master": [_rule(SALT_PORTS[0], SALT_PORTS[1], f"sg:{m}") for m in minions],
        "database": [_rule(DATABASE_PORT, DATABASE_PORT, f"sg:{r}") for r in GROUP_ROLES],
        "broker": [_rule(broker_port, broker_port, f"sg:{r}") for r in GROUP_ROLES],
        "app": [_rule(HTTP_PORT, HTTP_PORT, "sg:lb")],
        "worker": [],
    }
    for role in ("master", "database", "broker", "app", "worker"):
        rules[role] += [_rule(22, 22, f"cidr:{cidr}") for cidr in spec.ssh.cidrs]
    return {role: sorted(r, key=lambda x: (str(x["source"]), int(str(x["from"]))))
            for role, r in rules.items()}


def desired_resources(spec: EnvironmentSpec, facts: Facts, user_data: Mapping[str, str],
                      bundle_digest: str, *,
                      restore_snapshot: str | None = None) -> tuple[Resource, ...]:
    """Every resource `commission` makes, in a stable order.

    `user_data` maps role (master, database, broker, app, worker) to its
    rendered cloud-init script; it holds no secret (instances read SSM).
    `bundle_digest` is the Salt bundle's hash, or kinds.bundle.UNKNOWN while
    the addresses its pillar needs do not exist yet. `restore_snapshot` makes
    the data volume from that snapshot (commission --restore-snapshot).
    """
    scope = Scope(spec.project, spec.name)
    shared = Scope(spec.project, None)
    out: list[Resource] = []

    out.append(Resource("image", IMAGE_ROLE, image_name(spec.project, facts.image_digest), {
        "base_ami": facts.base_ami_id, "digest": facts.image_digest,
        "instance_type": "t3.small", "volume_size": spec.image.root_volume_size,
        "subnet": facts.first_subnet, "vpc_id": facts.vpc_id,
        "salt_version": spec.salt.version, "project_scope": shared.project,
    }, needs=("instance_profile.shared",)))

    bucket = bucket_name(spec.project, spec.name, facts.account_id)
    out.append(Resource("bucket", "shared", bucket, {"versioning": True}))
    out.append(Resource("iam_role", "shared", scope.name("instances"), {
        "path": f"/argos-cloud/{spec.project}/{spec.name}/",
        "managed_policies": [SSM_CORE_POLICY],
        "parameter_path": scope.parameter_path,
        "bucket": bucket,
    }))
    out.append(Resource("instance_profile", "shared", instance_profile_name(scope), {
        "path": f"/argos-cloud/{spec.project}/{spec.name}/", "role": "iam_role.shared",
    }, needs=("iam_role.shared",)))
    for leaf in GENERATED_SECRETS:
        out.append(Resource("parameter", "shared", scope.parameter(leaf),
                            {"secure": True, "generate": True}, key=leaf))
    if spec.source.deploy_key is not None:
        key_text = spec.source.deploy_key.read_bytes()
        out.append(Resource("parameter", "shared", scope.parameter("deploy-key"), {
            "secure": True, "generate": False, "from_file": str(spec.source.deploy_key),
            "digest": hashlib.sha256(key_text).hexdigest()[:16]}, key="deploy-key"))
    if spec.ssh_enabled and spec.ssh.public_key is not None:
        material = spec.ssh.public_key.read_text().strip()
        out.append(Resource("key_pair", "shared", scope.name("ssh"), {
            "public_key": material, "digest": digest(material)}))

    rules = security_group_rules(spec)
    for role in SG_ROLES:
        sources = sorted({str(r["source"])[3:] for r in rules[role]
                          if str(r["source"]).startswith("sg:")})
        out.append(Resource("security_group", role, scope.name(role), {
            "vpc_id": facts.vpc_id, "description": f"argos-cloud {scope.name(role)}",
            "ingress": rules[role]}, needs=tuple(f"security_group.{s}" for s in sources)))

    key_pair = scope.name("ssh") if spec.ssh_enabled else None
    common_needs = ("instance_profile.shared", "parameter.shared.database-password",
                    "parameter.shared.secret-key", "parameter.shared.broker-password")
    for role in INSTANCE_ROLES:
        r = spec.role(role)
        needs: tuple[str, ...] = (f"security_group.{role}", *common_needs)
        body: dict[str, object] = {
            "instance_type": r.instance_type, "image_id": facts.base_ami_id,
            "volume_size": r.volume_size, "security_group": f"security_group.{role}",
            "instance_profile": "instance_profile.shared", "subnet": facts.first_subnet,
            "user_data": user_data[role], "user_data_digest": digest(user_data[role]),
            "key_name": key_pair,
        }
        if role == "master":
            body["bucket"] = bucket
            needs = (*needs, "bucket.shared")
        if role == "database":
            body["data_volume"] = "volume.database.data"
            body["device"] = DATA_DEVICE
            volume: dict[str, object] = {"size": spec.database.data_volume_size,
                                         "zone": facts.first_zone, "type": "gp3"}
            if restore_snapshot:
                volume["snapshot_id"] = restore_snapshot
            out.append(Resource("volume", "database", scope.name("database-data"), volume,
                                key="data"))
            needs = (*needs, "volume.database.data")
        if key_pair:
            needs = (*needs, "key_pair.shared")
        out.append(Resource("instance", role, scope.name(role), body, needs=needs))

    out.append(Resource("bundle", "shared", "salt-bundle", {
        "digest": bundle_digest, "bucket": "bucket.shared"},
        needs=("bucket.shared", "instance.master", "instance.database", "instance.broker")))

    out.append(Resource("target_group", "app", scope.name("app")[:32], {
        "port": HTTP_PORT, "protocol": "HTTP", "vpc_id": facts.vpc_id,
        "health_path": spec.source.health_path}))
    out.append(Resource("load_balancer", "app", scope.name("app")[:32], {
        "security_group": "security_group.lb", "subnets": list(facts.subnet_ids),
        "scheme": "internet-facing"}, needs=("security_group.lb",)))
    out.append(Resource("listener", "app", scope.name("app-http"), {
        "load_balancer": "load_balancer.app", "target_group": "target_group.app",
        "port": HTTP_PORT, "protocol": "HTTP"},
        needs=("load_balancer.app", "target_group.app")))

    for role in GROUP_ROLES:
        g = spec.app if role == "app" else spec.worker
        lt_needs: tuple[str, ...] = ("image.image", f"security_group.{role}", *common_needs)
        if key_pair:
            lt_needs = (*lt_needs, "key_pair.shared")
        out.append(Resource("launch_template", role, scope.name(role), {
            "image": "image.image", "instance_type": g.instance_type,
            "volume_size": g.volume_size, "security_group": f"security_group.{role}",
            "instance_profile": "instance_profile.shared", "user_data": user_data[role],
            "user_data_digest": digest(user_data[role]), "key_name": key_pair,
        }, needs=lt_needs))
        asg_needs: tuple[str, ...] = (f"launch_template.{role}", "instance.master",
                                      "bundle.shared")
        body = {"launch_template": f"launch_template.{role}", "min_size": g.min_size,
                "max_size": g.max_size, "desired": g.desired,
                "subnets": list(facts.subnet_ids), "target_group": None,
                "health_check_type": "EC2"}
        if role == "app":
            body.update(target_group="target_group.app", health_check_type="ELB")
            asg_needs = (*asg_needs, "target_group.app", "listener.app")
        out.append(Resource("auto_scaling_group", role, scope.name(role), body,
                            needs=asg_needs))
        out.append(Resource("scaling_policy", role, scope.name(f"{role}-cpu"), {
            "auto_scaling_group": f"auto_scaling_group.{role}",
            "cpu_target": g.cpu_target}, needs=(f"auto_scaling_group.{role}",)))
    return tuple(out)
