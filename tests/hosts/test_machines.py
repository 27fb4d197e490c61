"""A machine per instance: boot, user data, IMDSv2, SSM, images, volumes, security groups."""

from __future__ import annotations

import pytest

from argos_cloud.aws.session import Clients
from argos_cloud.provision.userdata import scrub_check_command, scrub_commands, scrub_leftovers
from tests.hosts.conftest import address, launch, shell, state, wait

pytestmark = pytest.mark.hosts

USER_DATA = """#!/bin/bash
echo "user data ran as $(id -un)" > /root/user-data.txt
TOKEN=$(curl -sS -X PUT http://169.254.169.254/latest/api/token \
  -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
curl -sS -H "X-aws-ec2-metadata-token: $TOKEN" \
  http://169.254.169.254/latest/meta-data/instance-id > /root/imds-v2.txt
curl -s -o /dev/null -w '%{http_code}' \
  http://169.254.169.254/latest/meta-data/instance-id > /root/imds-v1.txt
"""


def test_a_machine_boots_runs_its_user_data_and_answers_imdsv2_only(clients: Clients) -> None:
    instance_id = launch(clients, user_data=USER_DATA)
    done = shell(clients, instance_id, "cloud-init status --wait >/dev/null",
                 "cat /root/user-data.txt /root/imds-v2.txt; echo; cat /root/imds-v1.txt",
                 "echo; hostname -I")
    assert done["Status"] == "Success", done["StandardErrorContent"]
    lines = done["StandardOutputContent"].split()
    assert lines[:4] == ["user", "data", "ran", "as"] and lines[4] == "root"
    assert lines[5] == instance_id  # the token-backed GET answered
    assert lines[6] == "401"  # a GET without a token is refused
    assert lines[7] == address(clients, instance_id)  # exactly moto's PrivateIpAddress


def test_ssm_reports_the_real_exit_code_output_and_timeout(clients: Clients) -> None:
    instance_id = launch(clients)
    failed = shell(clients, instance_id, "echo out; echo err >&2; exit 3")
    assert (failed["Status"], failed["ResponseCode"]) == ("Failed", 3)
    assert (failed["StandardOutputContent"], failed["StandardErrorContent"]) == ("out\n", "err\n")
    late = shell(clients, instance_id, "sleep 30", timeout=2)
    assert late["Status"] == "TimedOut"
    listed = clients.ssm.list_command_invocations(CommandId=failed["CommandId"], Details=True)
    assert [i["Status"] for i in listed["CommandInvocations"]] == ["Failed"]


def test_security_groups_decide_who_reaches_whom(clients: Clients) -> None:
    ec2 = clients.ec2
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    made = {name: ec2.create_security_group(GroupName=f"hosts-{name}", Description=name,
                                            VpcId=vpc["VpcId"])["GroupId"]
            for name in ("db", "app", "other")}
    ec2.authorize_security_group_ingress(GroupId=made["db"], IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
        "UserIdGroupPairs": [{"GroupId": made["app"]}]}])
    db = launch(clients, group_ids=[made["db"]])
    app = launch(clients, group_ids=[made["app"]])
    other = launch(clients, group_ids=[made["other"]])
    served = shell(clients, db, "nohup python3 -m http.server 5432 >/dev/null 2>&1 &",
                   "sleep 1; echo started")
    assert served["Status"] == "Success"
    target = address(clients, db)
    probe = f"curl -s -m 3 -o /dev/null -w '%{{http_code}}' http://{target}:5432/ || true"
    assert shell(clients, app, probe)["StandardOutputContent"] == "200"
    assert shell(clients, other, probe)["StandardOutputContent"] == "000"  # dropped
    outside = shell(clients, app, "curl -s -m 3 -o /dev/null -w '%{http_code}' "
                                  "http://10.255.255.1/ || true")
    assert outside["StandardOutputContent"] == "000"  # nothing beyond the machines


def test_an_image_made_from_a_machine_boots_with_its_files(clients: Clients) -> None:
    source = launch(clients)
    assert shell(clients, source, "echo baked > /etc/argos-marker")["Status"] == "Success"
    image_id = clients.ec2.create_image(InstanceId=source, Name="hosts-test-image")["ImageId"]
    states = []

    def available() -> bool:
        found = clients.ec2.describe_images(ImageIds=[image_id])["Images"][0]["State"]
        states.append(found)
        return bool(found == "available")

    wait("the image", available)
    copy = launch(clients, image_id=image_id)
    assert shell(clients, copy, "cat /etc/argos-marker")["StandardOutputContent"] == "baked\n"
    clients.ec2.terminate_instances(InstanceIds=[source, copy])
    wait("termination", lambda: state(clients, copy) == "terminated")


@pytest.mark.parametrize(("instance_type", "device"), [("t3.micro", "/dev/nvme1n1"),
                                                       ("t2.micro", "/dev/xvdf")])
def test_an_attached_volume_is_a_block_device_under_ec2s_name(
        clients: Clients, instance_type: str, device: str) -> None:
    instance_id = launch(clients, instance_type=instance_type)
    zone = clients.ec2.describe_instances(InstanceIds=[instance_id])[
        "Reservations"][0]["Instances"][0]["Placement"]["AvailabilityZone"]
    volume = clients.ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    clients.ec2.attach_volume(VolumeId=volume, InstanceId=instance_id, Device="/dev/sdf")
    made = shell(clients, instance_id, f"mkfs.ext4 -q -L data {device}",
                 f"mkdir -p /data && mount {device} /data && echo kept > /data/file",
                 "umount /data && blkid -o value -s LABEL " + device)
    assert made["Status"] == "Success", made["StandardErrorContent"]
    assert made["StandardOutputContent"] == "data\n"
    snapshot = clients.ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    restored = clients.ec2.create_volume(AvailabilityZone=zone, SnapshotId=snapshot, Size=1)
    clients.ec2.attach_volume(VolumeId=restored["VolumeId"], InstanceId=instance_id,
                              Device="/dev/sdg")
    second = "/dev/nvme2n1" if device.startswith("/dev/nvme") else "/dev/xvdg"
    read = shell(clients, instance_id,
                 f"mount {second} /data && cat /data/file")  # the snapshot's copy
    assert read["StandardOutputContent"] == "kept\n", read["StandardErrorContent"]


def test_the_scrub_check_passes_on_a_clean_machine_and_names_a_planted_leftover(
        clients: Clients) -> None:
    instance_id = launch(clients)
    clean = shell(clients, instance_id, "#!/bin/bash", "cloud-init status --wait >/dev/null",
                  *scrub_commands(), scrub_check_command())
    assert scrub_leftovers(clean["StandardOutputContent"]) == []
    planted = shell(clients, instance_id, "mkdir -p /srv/pillar && echo s > /srv/pillar/x",
                    scrub_check_command())
    assert scrub_leftovers(planted["StandardOutputContent"]) == ["/srv/pillar"]
