"""EnvironmentSpec + Facts → every desired resource of DESIGN §2, with its dependencies.

Pure: no AWS call. Each resource's `spec` is plain data the kind's diff and
create read; references to other resources are their addresses. One small
function per tier (image, shared, network, master, data, broker, bundle, app,
workers) returns that tier's resources; `desired_resources` chains them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from argos_cloud.config import EnvironmentSpec
from argos_cloud.config.schema import GroupRole
from argos_cloud.model.facts import Facts
from argos_cloud.model.names import IMAGE_ROLE, Scope
from argos_cloud.plan.types import Resource

SSM_CORE_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
BROKER_PORTS = {"redis": 6379, "rabbitmq": 5672}  # the engines' defaults; the pillar says so
DATABASE_PORT = 5432
SALT_PORTS = (4505, 4506)
HTTP_PORT = 80
# The name the data volume is attached under; the host may show it as xvdf or an
# NVMe disk, which the database state resolves (salt/states/database).
DATA_DEVICE = "/dev/sdf"
# Secrets generated once at commission (never regenerated on a re-run).
GENERATED_SECRETS = ("database-password", "secret-key", "broker-password")
INSTANCE_ROLES = ("master", "database", "broker")
GROUP_ROLES = ("app", "worker")
SG_ROLES = ("lb", "master", "database", "broker", "app", "worker")
# Every host reads its instance profile and the generated secrets at boot.
COMMON_NEEDS = ("instance_profile.shared", "parameter.shared.database-password",
                "parameter.shared.secret-key", "parameter.shared.broker-password")


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


@dataclass(frozen=True)
class Inputs:
    """What every tier reads: the config, the account's facts and the rendered scripts.

    `user_data` maps role (master, database, broker, app, worker) to its
    rendered cloud-init script; it holds no secret (instances read SSM).
    `bundle_digest` is the Salt bundle's hash, or kinds.bundle.UNKNOWN while
    the addresses its pillar needs do not exist yet. `restore_snapshot` makes
    the data volume from that snapshot (commission --restore-snapshot).
    """

    spec: EnvironmentSpec
    facts: Facts
    user_data: Mapping[str, str]
    bundle_digest: str
    restore_snapshot: str | None = None

    @property
    def scope(self) -> Scope:
        return Scope(self.spec.project, self.spec.name)

    @property
    def bucket(self) -> str:
        return bucket_name(self.spec.project, self.spec.name, self.facts.account_id)

    @property
    def key_pair(self) -> str | None:
        return self.scope.name("ssh") if self.spec.ssh_enabled else None

    def host_needs(self, role: str, *extra: str) -> tuple[str, ...]:
        """What a host (instance or launch template) of `role` waits for before it starts."""
        needs = (f"security_group.{role}", *COMMON_NEEDS, *extra)
        return (*needs, "key_pair.shared") if self.key_pair else needs


def image_tier(given: Inputs) -> list[Resource]:
    """The project's baked image, shared by every environment of the project."""
    spec, facts = given.spec, given.facts
    return [Resource("image", IMAGE_ROLE, image_name(spec.project, facts.image_digest), {
        "base_ami": facts.base_ami_id, "digest": facts.image_digest,
        "instance_type": "t3.small", "volume_size": spec.image.root_volume_size,
        "subnet": facts.first_subnet, "vpc_id": facts.vpc_id,
        "salt_version": spec.salt.version, "project_scope": spec.project,
    }, needs=("instance_profile.shared",))]


def shared_tier(given: Inputs) -> list[Resource]:
    """The bucket, the instances' role and profile, the secrets and the SSH key."""
    spec, scope = given.spec, given.scope
    path = f"/argos-cloud/{spec.project}/{spec.name}/"
    out = [
        Resource("bucket", "shared", given.bucket, {"versioning": True}),
        Resource("iam_role", "shared", scope.name("instances"), {
            "path": path, "managed_policies": [SSM_CORE_POLICY],
            "parameter_path": scope.parameter_path, "bucket": given.bucket}),
        Resource("instance_profile", "shared", instance_profile_name(scope), {
            "path": path, "role": "iam_role.shared"}, needs=("iam_role.shared",)),
    ]
    out += [Resource("parameter", "shared", scope.parameter(leaf),
                     {"secure": True, "generate": True}, key=leaf) for leaf in GENERATED_SECRETS]
    if spec.source.deploy_key is not None:
        key_text = spec.source.deploy_key.read_bytes()
        out.append(Resource("parameter", "shared", scope.parameter("deploy-key"), {
            "secure": True, "generate": False, "from_file": str(spec.source.deploy_key),
            "digest": hashlib.sha256(key_text).hexdigest()[:16]}, key="deploy-key"))
    if given.key_pair is not None and spec.ssh.public_key is not None:
        material = spec.ssh.public_key.read_text().strip()
        out.append(Resource("key_pair", "shared", given.key_pair, {
            "public_key": material, "digest": digest(material)}))
    return out


def network_tier(given: Inputs) -> list[Resource]:
    """One security group per role; a group waits for the groups its rules name."""
    rules = security_group_rules(given.spec)
    out = []
    for role in SG_ROLES:
        sources = sorted({str(r["source"])[3:] for r in rules[role]
                          if str(r["source"]).startswith("sg:")})
        out.append(Resource("security_group", role, given.scope.name(role), {
            "vpc_id": given.facts.vpc_id, "description": f"argos-cloud {given.scope.name(role)}",
            "ingress": rules[role]}, needs=tuple(f"security_group.{s}" for s in sources)))
    return out


def _instance(given: Inputs, role: str, extra: Mapping[str, object],
              needs: tuple[str, ...] = ()) -> Resource:
    """A single instance of `role` on the base image, its user data known by digest."""
    r, script = given.spec.role(role), given.user_data[role]
    return Resource("instance", role, given.scope.name(role), {
        "instance_type": r.instance_type, "image_id": given.facts.base_ami_id,
        "volume_size": r.volume_size, "security_group": f"security_group.{role}",
        "instance_profile": "instance_profile.shared", "subnet": given.facts.first_subnet,
        "user_data": script, "user_data_digest": digest(script),
        "key_name": given.key_pair, **extra,
    }, needs=given.host_needs(role, *needs))


def master_tier(given: Inputs) -> list[Resource]:
    """The Salt master; it fetches the bundle from the bucket."""
    return [_instance(given, "master", {"bucket": given.bucket}, ("bucket.shared",))]


def data_tier(given: Inputs) -> list[Resource]:
    """The database and its data volume, which outlives the instance."""
    volume: dict[str, object] = {"size": given.spec.database.data_volume_size,
                                 "zone": given.facts.first_zone, "type": "gp3"}
    if given.restore_snapshot:
        volume["snapshot_id"] = given.restore_snapshot
    return [
        Resource("volume", "database", given.scope.name("database-data"), volume, key="data"),
        _instance(given, "database", {"data_volume": "volume.database.data",
                                      "device": DATA_DEVICE}, ("volume.database.data",)),
    ]


def broker_tier(given: Inputs) -> list[Resource]:
    """The message broker (Redis or RabbitMQ) on its own instance."""
    return [_instance(given, "broker", {})]


def bundle_tier(given: Inputs) -> list[Resource]:
    """The Salt bundle; its pillar names the master, database and broker."""
    return [Resource("bundle", "shared", "salt-bundle", {
        "digest": given.bundle_digest, "bucket": "bucket.shared"},
        needs=("bucket.shared", "instance.master", "instance.database", "instance.broker"))]


def _group(given: Inputs, role: str, g: GroupRole, *,
           target_group: str | None) -> list[Resource]:
    """A launch template, its Auto Scaling group and the group's CPU policy."""
    scope, script = given.scope, given.user_data[role]
    template = Resource("launch_template", role, scope.name(role), {
        "image": "image.image", "instance_type": g.instance_type,
        "volume_size": g.volume_size, "security_group": f"security_group.{role}",
        "instance_profile": "instance_profile.shared", "user_data": script,
        "user_data_digest": digest(script), "key_name": given.key_pair,
    }, needs=("image.image", *given.host_needs(role)))
    needs: tuple[str, ...] = (f"launch_template.{role}", "instance.master", "bundle.shared")
    if target_group is not None:
        needs = (*needs, target_group, "listener.app")
    group = Resource("auto_scaling_group", role, scope.name(role), {
        "launch_template": f"launch_template.{role}", "min_size": g.min_size,
        "max_size": g.max_size, "desired": g.desired, "subnets": list(given.facts.subnet_ids),
        "target_group": target_group,
        "health_check_type": "EC2" if target_group is None else "ELB",
    }, needs=needs)
    policy = Resource("scaling_policy", role, scope.name(f"{role}-cpu"), {
        "auto_scaling_group": f"auto_scaling_group.{role}", "cpu_target": g.cpu_target},
        needs=(f"auto_scaling_group.{role}",))
    return [template, group, policy]


def app_tier(given: Inputs) -> list[Resource]:
    """The load balancer, its target group and listener, and the app's group behind them."""
    scope, facts = given.scope, given.facts
    return [
        Resource("target_group", "app", scope.name("app")[:32], {
            "port": HTTP_PORT, "protocol": "HTTP", "vpc_id": facts.vpc_id,
            "health_path": given.spec.source.health_path}),
        Resource("load_balancer", "app", scope.name("app")[:32], {
            "security_group": "security_group.lb", "subnets": list(facts.subnet_ids),
            "scheme": "internet-facing"}, needs=("security_group.lb",)),
        Resource("listener", "app", scope.name("app-http"), {
            "load_balancer": "load_balancer.app", "target_group": "target_group.app",
            "port": HTTP_PORT, "protocol": "HTTP"},
            needs=("load_balancer.app", "target_group.app")),
        *_group(given, "app", given.spec.app, target_group="target_group.app"),
    ]


def worker_tier(given: Inputs) -> list[Resource]:
    """The Celery workers' group: no load balancer, EC2 health checks."""
    return _group(given, "worker", given.spec.worker, target_group=None)


# In the order `desired_resources` lists them; each tier's addresses are its own.
TIERS: tuple[Callable[[Inputs], list[Resource]], ...] = (
    image_tier, shared_tier, network_tier, master_tier, data_tier, broker_tier, bundle_tier,
    app_tier, worker_tier)


def desired_resources(spec: EnvironmentSpec, facts: Facts, user_data: Mapping[str, str],
                      bundle_digest: str, *,
                      restore_snapshot: str | None = None) -> tuple[Resource, ...]:
    """Every resource `commission` makes, in a stable order: the tiers' lists in turn.

    The arguments are those of `Inputs`.
    """
    given = Inputs(spec, facts, user_data, bundle_digest, restore_snapshot)
    return tuple(resource for tier in TIERS for resource in tier(given))
