"""The hosts sandbox's pure parts: firewall rules from security groups, target health by
thresholds, ELB matchers, EC2 device names, IMDS answers, SSM replies (no root needed)."""

from __future__ import annotations

import json

from argos_cloud.sandbox.hosts.balancer import GroupView, Health, judge, matches
from argos_cloud.sandbox.hosts.imds import Identity, metadata
from argos_cloud.sandbox.hosts.network import (
    FWD_CHAIN,
    Endpoint,
    Rule,
    security_group_lines,
    veth_name,
)
from argos_cloud.sandbox.hosts.ssm import OUTPUT_LIMIT, Invocation
from argos_cloud.sandbox.hosts.volumes import by_id_link, guest_device, is_nitro


def test_security_groups_become_accepts_per_source_then_a_drop() -> None:
    db = Endpoint("ahv0000000001", "172.31.0.5", (
        Rule("tcp", 5432, 5432, ("172.31.0.8/32", "172.31.0.9/32")),
        Rule("udp", 1, 2, ()),  # no source: nothing opens
        Rule("-1", None, None, ("10.0.0.0/8",))))
    lines = security_group_lines([db])
    assert lines[0] == f":{FWD_CHAIN} - [0:0]"
    assert "ESTABLISHED,RELATED -j ACCEPT" in lines[1]
    assert lines[2] == f"-A {FWD_CHAIN} ! -o ahv+ -j DROP"  # nowhere but machines
    assert lines[3:] == [
        f"-A {FWD_CHAIN} -o ahv0000000001 -d 172.31.0.5/32 -s 172.31.0.8/32 -p tcp "
        "--dport 5432 -j ACCEPT",
        f"-A {FWD_CHAIN} -o ahv0000000001 -d 172.31.0.5/32 -s 172.31.0.9/32 -p tcp "
        "--dport 5432 -j ACCEPT",
        f"-A {FWD_CHAIN} -o ahv0000000001 -d 172.31.0.5/32 -s 10.0.0.0/8 -j ACCEPT",
        f"-A {FWD_CHAIN} -j DROP"]
    assert len(veth_name("i-0123456789abcdef0")) <= 15


def group(healthy: int = 2, unhealthy: int = 2, matcher: str = "200-399") -> GroupView:
    return GroupView("arn:tg", 80, "/health", "traffic-port", 10, 5, healthy, unhealthy,
                     matcher, (("i-1", 80),))


def test_target_health_follows_the_groups_thresholds() -> None:
    health, tg = Health(), group(healthy=2, unhealthy=2)
    judge(health, True, tg)
    assert health.state == "initial"
    judge(health, True, tg)
    assert (health.state, health.reason) == ("healthy", None)
    judge(health, False, tg)
    assert health.state == "healthy"  # one failure is not yet two
    judge(health, False, tg)
    assert (health.state, health.reason) == ("unhealthy", "Target.FailedHealthChecks")
    judge(health, True, tg)
    judge(health, True, tg)
    assert health.state == "healthy"


def test_elb_matchers_take_codes_and_ranges() -> None:
    assert matches("200", 200) and not matches("200", 204)
    assert matches("200-399", 302) and not matches("200-399", 404)
    assert matches("200,302", 302) and not matches("200,302", 301)


def test_volumes_show_under_the_names_ec2_gives_them() -> None:
    assert is_nitro("t3.small") and is_nitro("m6i.large") and not is_nitro("t2.micro")
    assert guest_device("t3.small", "/dev/sdf", 1) == "/dev/nvme1n1"
    assert guest_device("t2.micro", "/dev/sdf", 1) == "/dev/xvdf"
    assert by_id_link("vol-0abc") == "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0abc"


def test_imds_answers_about_the_asking_instance_and_its_role_only() -> None:
    me = Identity("i-1", "172.31.0.8", "ip-172-31-0-8", "us-east-1", "us-east-1a",
                  "ami-1", "t3.small", "argos-qa-instances", b"")
    assert metadata(me, "instance-id") == "i-1"
    assert metadata(me, "local-ipv4") == "172.31.0.8"
    assert metadata(me, "placement/region") == "us-east-1"
    assert metadata(me, "iam/security-credentials/") == "argos-qa-instances"
    creds = json.loads(metadata(me, "iam/security-credentials/argos-qa-instances") or "{}")
    assert creds["Code"] == "Success" and creds["AccessKeyId"].startswith("ASIA")
    assert metadata(me, "iam/security-credentials/someone-else") is None
    bare = Identity("i-2", "172.31.0.9", "h", "us-east-1", "us-east-1a", "ami-1", "t3.small",
                    None, b"")
    assert metadata(bare, "iam/security-credentials/") is None


def test_ssm_replies_cut_output_as_aws_does() -> None:
    done = Invocation("c-1", "i-1", "x", "AWS-RunShellScript", status="Failed", code=3,
                      stdout="o" * (OUTPUT_LIMIT + 10), stderr="e")
    answer = done.answer()
    assert (answer["Status"], answer["ResponseCode"]) == ("Failed", 3)
    assert len(answer["StandardOutputContent"]) == OUTPUT_LIMIT
    timed = Invocation("c-2", "i-1", "", "AWS-RunShellScript", status="TimedOut")
    assert timed.answer()["StatusDetails"] == "ExecutionTimedOut"
