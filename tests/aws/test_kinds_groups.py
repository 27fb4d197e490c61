"""The group and load-balancer kinds on moto in-process: a small environment, built and torn down.

Security groups, the instance profile and the image come from boto3 directly; everything
else goes through the kinds' own apply, in dependency order, with specs from the model.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.clock import FakeClock
from argos_cloud.config.schema import EnvironmentSpec, ImageConfig, SourceConfig
from argos_cloud.errors import OperationFailed, Refused
from argos_cloud.kinds import (
    auto_scaling_group,
    launch_template,
    listener,
    load_balancer,
    scaling_policy,
    target_group,
)
from argos_cloud.kinds.base import Context, Outputs
from argos_cloud.model.desired import desired_resources, digest
from argos_cloud.model.facts import Facts
from argos_cloud.model.names import TAG_ROLE, TAG_USER_DATA, Scope, tag_dict
from argos_cloud.plan.types import Action, Actual, Change, Resource

pytestmark = pytest.mark.aws

KINDS = (target_group, load_balancer, listener, launch_template, auto_scaling_group,
         scaling_policy)
USER_DATA = {r: f"#!/bin/sh\necho {r}\n" for r in ("master", "database", "broker", "app",
                                                  "worker")}


def environment_spec() -> EnvironmentSpec:
    return EnvironmentSpec(
        name="qa", project="argos", image=ImageConfig(base_ami_id="ami-12345678"),
        source=SourceConfig(repository="https://example.invalid/argos.git",
                            config_template=Path("config.tmpl"),
                            celery_config_template=Path("celery.tmpl")))


def default_vpc_facts(clients: Clients, image_id: str) -> Facts:
    ec2 = clients.ec2
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
    subnets = sorted(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
                     ["Subnets"], key=lambda s: s["AvailabilityZone"])[:2]
    return Facts(account_id="123456789012", region="us-east-1", vpc_id=vpc["VpcId"],
                 vpc_cidr=vpc["CidrBlock"], subnet_ids=tuple(s["SubnetId"] for s in subnets),
                 availability_zones=tuple(s["AvailabilityZone"] for s in subnets),
                 base_ami_id=image_id, image_digest="0" * 64, emulated=True)


@dataclasses.dataclass
class Env:
    ctx: Context
    want: dict[str, Resource]
    calls: collections.Counter[str]

    def apply(self, address: str, change: Change | None = None) -> str:
        kind = _module(address)
        ident: str = kind.apply(self.ctx, change or Change.create(self.want[address]))
        self.ctx.outputs.set(address, ident)
        return ident

    def found(self, address: str) -> Actual:
        kind = _module(address)
        matches = [a for a in kind.read(self.ctx.clients, self.ctx.scope)
                   if a.address == address]
        assert len(matches) == 1, matches
        found: Actual = matches[0]
        return found

    def changed(self, address: str, **spec: Any) -> Resource:
        res = self.want[address]
        return dataclasses.replace(res, spec={**res.spec, **spec})


def _module(address: str) -> Any:
    return {m.KIND: m for m in KINDS}[address.split(".")[0]]


BUILD_ORDER = ("target_group.app", "load_balancer.app", "listener.app", "launch_template.app",
               "launch_template.worker", "auto_scaling_group.app", "auto_scaling_group.worker",
               "scaling_policy.app", "scaling_policy.worker")


@pytest.fixture
def env(aws: Clients, scope: Scope) -> Env:
    calls: collections.Counter[str] = collections.Counter()  # hooks before any client
    aws.on("before-call", lambda event_name, **_: calls.update([event_name[12:]]))
    ec2 = aws.ec2
    image_id = ec2.register_image(
        Name="argos-image-test", RootDeviceName="/dev/xvda",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}])["ImageId"]
    facts = default_vpc_facts(aws, image_id)
    outputs = Outputs({"image.image": image_id})
    for role in ("lb", "app", "worker"):
        outputs.set(f"security_group.{role}", ec2.create_security_group(
            GroupName=scope.name(role), Description=role, VpcId=facts.vpc_id)["GroupId"])
    aws.iam.create_instance_profile(InstanceProfileName=scope.name("instances"))
    outputs.set("instance_profile.shared", scope.name("instances"))
    spec = environment_spec()
    want = {r.address: r for r in desired_resources(spec, facts, USER_DATA, "0" * 16)
            if r.kind in {m.KIND for m in KINDS}}
    ctx = Context(clients=aws, scope=scope, spec=spec, facts=facts, outputs=outputs,
                  clock=FakeClock())
    return Env(ctx, want, calls)


@pytest.fixture
def built(env: Env) -> Env:
    for address in BUILD_ORDER:
        env.apply(address)
    return env


def _instances(clients: Clients, ids: list[str]) -> list[dict[str, Any]]:
    pages = clients.ec2.describe_instances(InstanceIds=ids)["Reservations"]
    return [i for r in pages for i in r["Instances"]]


def _running(clients: Clients) -> int:
    reply = clients.ec2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])
    return sum(len(r["Instances"]) for r in reply["Reservations"])


# --- the environment, built --------------------------------------------------------------

def test_every_resource_is_found_by_read_and_diffs_as_noop(built: Env) -> None:
    for address in BUILD_ORDER:
        have = built.found(address)
        change = _module(address).diff(built.want[address], have)
        assert change.action is Action.NOOP, (address, change.reason)
        assert have.id == built.ctx.outputs.id(address)


def test_launch_template_requires_imdsv2_and_carries_base64_user_data_and_tags(
        built: Env) -> None:
    lt_id = built.ctx.outputs.id("launch_template.app")
    version = built.ctx.clients.ec2.describe_launch_template_versions(
        LaunchTemplateId=lt_id, Versions=["$Default"])["LaunchTemplateVersions"][0]
    data = version["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert base64.b64decode(data["UserData"]).decode() == USER_DATA["app"]
    assert data["IamInstanceProfile"] == {"Name": "argos-qa-instances"}
    image = built.ctx.clients.ec2.describe_images(
        ImageIds=[built.ctx.outputs.id("image.image")])["Images"][0]
    root = data["BlockDeviceMappings"][0]
    assert (root["DeviceName"], root["Ebs"]["Encrypted"], root["Ebs"]["VolumeType"]) == (
        image["RootDeviceName"], True, "gp3")  # the image's own root device
    have = built.found("launch_template.app")
    assert have.tags[TAG_ROLE] == "app" and have.tags["Name"] == "argos-qa-app"
    assert have.attrs["user_data_digest"] == digest(USER_DATA["app"])
    assert have.attrs["security_groups"] == [built.ctx.outputs.id("security_group.app")]


def test_group_launches_desired_instances_tagged_and_attached_to_the_target_group(
        built: Env) -> None:
    have = built.found("auto_scaling_group.app")
    tg_arn = built.ctx.outputs.id("target_group.app")
    assert have.attrs["in_service"] == built.want["auto_scaling_group.app"].spec["desired"]
    assert have.attrs["target_group_arns"] == [tg_arn]
    assert have.attrs["target_groups"] == ["target_group.app"]
    assert have.attrs["launch_template"] == "launch_template.app"
    ids = [i["id"] for i in have.attrs["instances"]]
    for instance in _instances(built.ctx.clients, ids):
        tags = tag_dict(instance["Tags"])
        assert (tags[TAG_ROLE], tags["argos-cloud:environment"]) == ("app", "qa")
    assert set(target_group.target_health(built.ctx.clients, tg_arn)) == set(ids)
    listed = auto_scaling_group.in_service_instances(
        built.ctx.clients, built.ctx.scope, "app")
    assert [i["id"] for i in listed] == sorted(ids)
    assert all(i["private_ip"] and i["health"] == "Healthy" for i in listed)


def test_load_balancer_is_active_and_its_listener_forwards_to_the_target_group(
        built: Env) -> None:
    lb = built.found("load_balancer.app")
    assert lb.attrs["state"] == "active" and lb.attrs["scheme"] == "internet-facing"
    assert built.ctx.outputs.attr("load_balancer.app", "dns_name") == lb.attrs["dns_name"]
    assert lb.attrs["security_groups"] == [built.ctx.outputs.id("security_group.lb")]
    http = built.found("listener.app")
    assert (http.attrs["port"], http.attrs["protocol"]) == (80, "HTTP")
    assert http.attrs["target_group_arn"] == built.ctx.outputs.id("target_group.app")
    assert http.attrs["target_group"] == "target_group.app"


def test_scaling_policy_tracks_the_configured_cpu_target(built: Env) -> None:
    have = built.found("scaling_policy.worker")
    assert (have.attrs["policy_type"], have.attrs["metric"]) == (
        "TargetTrackingScaling", "ASGAverageCPUUtilization")
    assert have.attrs["cpu_target"] == built.want["scaling_policy.worker"].spec["cpu_target"]
    assert have.attrs["group_name"] == "argos-qa-worker"


# --- re-runs adopt instead of duplicating -------------------------------------------------

def test_creating_an_existing_group_again_adopts_it_without_orphaning_instances(
        built: Env) -> None:
    before = [i["id"] for i in built.found("auto_scaling_group.app").attrs["instances"]]
    running = _running(built.ctx.clients)
    built.apply("auto_scaling_group.app")  # "answer lost": the engine thought it missing
    after = [i["id"] for i in built.found("auto_scaling_group.app").attrs["instances"]]
    assert after == before and _running(built.ctx.clients) == running


def test_creating_elb_resources_and_templates_again_adopts_them(built: Env) -> None:
    for address in ("target_group.app", "load_balancer.app", "listener.app",
                    "launch_template.app"):
        assert built.apply(address) == built.found(address).id  # found() asserts one
    assert built.found("launch_template.app").attrs["latest_version"] == 1


def test_a_name_taken_by_another_environment_is_refused(built: Env, aws: Clients) -> None:
    other = dataclasses.replace(built.ctx, scope=Scope("argos", "qa2"))
    lb = built.want["load_balancer.app"]
    with pytest.raises(Refused):
        load_balancer.apply(other, Change.create(lb))
    with pytest.raises(Refused):
        target_group.apply(other, Change.create(built.want["target_group.app"]))


# --- changes -----------------------------------------------------------------------------

def test_a_size_change_is_an_update_that_reaches_the_new_desired_count(built: Env) -> None:
    want = built.changed("auto_scaling_group.app", desired=2, max_size=3)
    change = auto_scaling_group.diff(want, built.found("auto_scaling_group.app"))
    assert change.action is Action.UPDATE and change.fields == ("max_size", "desired")
    built.apply("auto_scaling_group.app", change)
    have = built.found("auto_scaling_group.app")
    assert (have.attrs["desired"], have.attrs["max_size"], have.attrs["in_service"]) == (2, 3, 2)
    assert auto_scaling_group.diff(want, have).action is Action.NOOP


def test_new_user_data_makes_a_new_default_version(built: Env) -> None:
    text = "#!/bin/sh\necho changed\n"
    want = built.changed("launch_template.app", user_data=text, user_data_digest=digest(text))
    change = launch_template.diff(want, built.found("launch_template.app"))
    assert change.action is Action.UPDATE and change.fields == ("user_data_digest",)
    built.apply("launch_template.app", change)
    have = built.found("launch_template.app")
    assert (have.attrs["default_version"], have.attrs["latest_version"]) == (2, 2)
    tags = built.ctx.clients.ec2.describe_tags(  # moto's template listing shows
        Filters=[{"Name": "resource-id", "Values": [have.id]}])["Tags"]  # creation tags only
    assert tag_dict(tags)[TAG_USER_DATA] == digest(text)
    assert launch_template.diff(want, have).action is Action.NOOP


def test_fields_elbv2_cannot_change_are_replacements(built: Env) -> None:
    tg = target_group.diff(built.changed("target_group.app", port=8080),
                           built.found("target_group.app"))
    lb = load_balancer.diff(built.changed("load_balancer.app", scheme="internal"),
                            built.found("load_balancer.app"))
    path = target_group.diff(built.changed("target_group.app", health_path="/up/"),
                             built.found("target_group.app"))
    assert (tg.action, tg.fields, lb.action) == (Action.REPLACE, ("port",), Action.REPLACE)
    assert path.action is Action.UPDATE


def test_a_new_cpu_target_is_an_update_by_the_same_upsert(built: Env) -> None:
    want = built.changed("scaling_policy.app", cpu_target=45.0)
    change = scaling_policy.diff(want, built.found("scaling_policy.app"))
    assert change.action is Action.UPDATE
    built.apply("scaling_policy.app", change)
    assert built.found("scaling_policy.app").attrs["cpu_target"] == 45.0


# --- teardown and call counts -------------------------------------------------------------

def test_deleting_in_reverse_order_leaves_nothing_and_terminates_instances(built: Env) -> None:
    clients, scope = built.ctx.clients, built.ctx.scope
    ids = [i["id"] for role in ("app", "worker")
           for i in built.found(f"auto_scaling_group.{role}").attrs["instances"]]
    for address in reversed(BUILD_ORDER):
        _module(address).delete(built.ctx, built.found(address))
    for kind in KINDS:
        assert kind.read(clients, scope) == [], kind.KIND
    assert {i["State"]["Name"] for i in _instances(clients, ids)} == {"terminated"}
    for address in reversed(BUILD_ORDER[:3]):  # gone counts as done
        _module(address).delete(built.ctx, Actual(address.split(".")[0], "app",
                                                  built.ctx.outputs.id(address), "x"))


def test_read_makes_a_fixed_number_of_describe_calls_per_kind(built: Env) -> None:
    expected = {
        # EC2 tag filter + every default version in one account-wide call.
        launch_template: {"ec2.DescribeLaunchTemplates": 1,
                          "ec2.DescribeLaunchTemplateVersions": 1},
        auto_scaling_group: {"auto-scaling.DescribeAutoScalingGroups": 1},
        target_group: {"elastic-load-balancing-v2.DescribeTargetGroups": 1,
                       "elastic-load-balancing-v2.DescribeTags": 1},
        load_balancer: {"elastic-load-balancing-v2.DescribeLoadBalancers": 1,
                        "elastic-load-balancing-v2.DescribeTags": 1},
        listener: {"elastic-load-balancing-v2.DescribeLoadBalancers": 1,
                   "elastic-load-balancing-v2.DescribeTags": 1,
                   "elastic-load-balancing-v2.DescribeListeners": 1},  # one LB per env
        scaling_policy: {"auto-scaling.DescribeAutoScalingGroups": 1,
                         "auto-scaling.DescribePolicies": 2},  # one per group (app, worker)
    }
    for kind, counts in expected.items():
        built.calls.clear()
        assert kind.read(built.ctx.clients, built.ctx.scope)
        assert dict(built.calls) == counts, kind.KIND


# --- pure request builders ----------------------------------------------------------------

def test_group_create_request_propagates_tags_and_launches_the_default_version(
        env: Env) -> None:
    want = env.want["auto_scaling_group.app"]
    request = auto_scaling_group.create_request(want, env.ctx.scope, "lt-1", ["arn:tg"])
    assert request["LaunchTemplate"] == {"LaunchTemplateId": "lt-1", "Version": "$Default"}
    assert request["VPCZoneIdentifier"] == ",".join(env.ctx.facts.subnet_ids)
    assert request["TargetGroupARNs"] == ["arn:tg"]
    assert {"ResourceId": "argos-qa-app", "ResourceType": "auto-scaling-group",
            "Key": TAG_ROLE, "Value": "app", "PropagateAtLaunch": True} in request["Tags"]
    assert (request["HealthCheckType"], request["HealthCheckGracePeriod"]) == ("ELB", 300)


def test_template_request_is_deterministic_and_tags_the_template(env: Env) -> None:
    want = env.want["launch_template.worker"]
    data = launch_template.template_data(want, env.ctx.scope, image_id="ami-1",
                                         security_group="sg-1", instance_profile="p",
                                         root_device="/dev/sda1")
    assert data["MetadataOptions"] == {"HttpTokens": "required", "HttpEndpoint": "enabled"}
    assert [t["ResourceType"] for t in data["TagSpecifications"]] == ["instance", "volume"]
    first = launch_template.create_request(want, env.ctx.scope, data)
    assert first == launch_template.create_request(want, env.ctx.scope, data)
    tags = tag_dict(first["TagSpecifications"][0]["Tags"])
    assert tags[TAG_USER_DATA] == digest(USER_DATA["worker"])
    assert "KeyName" not in data


def test_waiting_for_service_polls_on_the_clock_and_gives_up_at_the_timeout(built: Env) -> None:
    clients = built.ctx.clients
    for i in built.found("auto_scaling_group.worker").attrs["instances"]:
        clients.autoscaling.set_instance_health(InstanceId=i["id"], HealthStatus="Unhealthy")
    ctx = dataclasses.replace(built.ctx, clock=FakeClock(), timeout=120.0)
    with pytest.raises(OperationFailed, match="timed out"):
        auto_scaling_group.wait_in_service(ctx, "argos-qa-worker", 1)
    assert isinstance(ctx.clock, FakeClock) and sum(ctx.clock.slept) == 120.0


def test_a_listener_pointed_elsewhere_is_updated_back(built: Env) -> None:
    other = built.ctx.clients.elbv2.create_target_group(
        Name="elsewhere", Protocol="HTTP", Port=80, VpcId=built.ctx.facts.vpc_id,
        TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    have = built.found("listener.app")
    built.ctx.clients.elbv2.modify_listener(
        ListenerArn=have.id, DefaultActions=listener.default_actions(other))
    change = listener.diff(built.want["listener.app"], built.found("listener.app"))
    assert change.action is Action.UPDATE and change.fields == ("target_group",)
    assert built.apply("listener.app", change) == have.id
    assert built.found("listener.app").attrs["target_group"] == "target_group.app"
