"""The hosts sandbox's glue to moto: what moto records, the machines make real.

`Hosts.wsgi` wraps moto's app. SSM's SendCommand, GetCommandInvocation and
ListCommandInvocations are answered from real runs; every other request goes
to moto, and after each one `_sync` compares moto's records with what exists
here, under the same lock that serialises moto:

- an instance moto launched (alone or for an Auto Scaling group) is held
  `pending` until its machine has booted, then `running`; one terminated,
  stopped or scaled in is powered off and its files removed;
- an image made from a machine is `pending` until its root is copied, then
  `available`; a deregistered image's copy is freed;
- an attached volume is a loop device inside its machine; a snapshot copies it;
- the security groups are rewritten as the machines' firewall when they change.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from argos_cloud.sandbox.hosts import machine as machines
from argos_cloud.sandbox.hosts import motoview, network, proxy, sources, volumes
from argos_cloud.sandbox.hosts.balancer import Balancers, Health
from argos_cloud.sandbox.hosts.baseimage import (
    IMAGE_NAME,
    cache_root,
    ensure_base_image,
    ensure_wheelhouse,
)
from argos_cloud.sandbox.hosts.haproxy import Haproxy
from argos_cloud.sandbox.hosts.imds import Identity, Imds
from argos_cloud.sandbox.hosts.machine import Machine, Seed
from argos_cloud.sandbox.hosts.records import Records, teardown
from argos_cloud.sandbox.hosts.ssm import CommandRunner
from argos_cloud.sandbox.hosts.system import require, run

BASE_TAG = "argos-cloud:sandbox-base"
WHEELS = ["salt==3008.4", "boto3"]  # the config's default Salt; others come from PyPI
HOSTS_FILE = "hosts.json"
DRAIN_WAIT = 310.0  # the longest wait for a drain before a machine powers off anyway
Log = Callable[[str], None]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Hosts:
    """Every instance a machine; owned by the sandbox's server process."""

    def __init__(self, state_dir: Path, aws_port: int, regions: list[str], log: Log) -> None:
        self.root = state_dir / "hosts"
        self.records = Records(self.root)
        self.aws_port = aws_port
        self.regions = regions
        self.log = log
        self.machines: dict[str, Machine] = {}
        self.views: dict[str, motoview.InstanceView] = {}
        self.ready: set[str] = set()
        self.busy: set[str] = set()  # launching or stopping
        self.store: dict[str, Path] = {}  # image id -> its root filesystem
        self.copying: set[str] = set()
        self.attached: dict[str, tuple[str, str, str]] = {}  # volume -> (instance, loop, guest)
        self.snapshots: set[str] = set()
        self.base_images: dict[str, str] = {}
        self.firewall: list[str] = []
        self.pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="hosts")
        self.lock = threading.RLock()
        self.runner = CommandRunner(self._locate)
        self.base_root: Path | None = None
        self.wheels: Path | None = None
        self.imds: Imds | None = None
        self.leaving: set[str] = set()  # deregistered as on AWS: Standby, terminating
        self.balancers = Balancers(Haproxy(self.root / "run", self.records))

    # -- life ---------------------------------------------------------------------

    def start(self) -> None:
        """Check the computer, build or reuse the base image, open the network and IMDS."""
        require()
        claim_computer(self.root, write=False)
        teardown(self.records, self.log)  # what a killed sandbox left
        claim_computer(self.root)
        self.records.add("file", str(OWNER))
        self.root.mkdir(parents=True, exist_ok=True)
        self.records.add("dir", str(self.root / "run"))
        self.base_root = ensure_base_image(self.log)
        self.wheels = ensure_wheelhouse(self.log, WHEELS)
        network.ensure_anchor(self.records, [80, self.aws_port, proxy.PORT, sources.PORT])
        proxy.start(self.records, cache_root() / "apt-cacher-ng", self.root / "run")
        sources.start(self.records, self.root / "run")
        self.balancers.start()
        self.imds = Imds(self._identity)
        self.imds.serve()
        with self.lock:
            for region in self.regions:
                self._base_image(region)
        self._write_status()

    def stop(self) -> None:
        """Power every machine off, then undo everything recorded."""
        with self.lock:
            running = list(self.machines.values())
        list(self.pool.map(lambda m: machines.power_off(m, self.records), running))
        if self.imds is not None:
            self.imds.close()
        self.balancers.stop()
        teardown(self.records)

    # -- the request path -----------------------------------------------------------

    def wsgi(self, moto_app: WSGIApp) -> WSGIApp:
        def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
            if target in ("AmazonSSM.SendCommand", "AmazonSSM.GetCommandInvocation",
                          "AmazonSSM.ListCommandInvocations"):
                size = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(size) if size else b""
                environ["wsgi.input"] = io.BytesIO(body)
                request = json.loads(body or b"{}")
                answer = self._ssm(target.split(".", 1)[1], request, moto_app, environ)
                if answer is not None:
                    return _json(start_response, *answer)
            if environ.get("REQUEST_METHOD") == "POST" and "DescribeTargetHealth" in str(
                    environ.get("QUERY_STRING", "")) + self._peek_action(environ):
                return self._target_health(moto_app, environ, start_response)
            with self.lock:
                result = list(moto_app(environ, start_response))
                self._sync()
            return result
        return app

    @staticmethod
    def _peek_action(environ: dict[str, Any]) -> str:
        """The form body's Action of a query-protocol request (the body is put back)."""
        if "x-www-form-urlencoded" not in str(environ.get("CONTENT_TYPE", "")):
            return ""
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return "Action=DescribeTargetHealth" if b"Action=DescribeTargetHealth" in body else ""

    def _target_health(self, moto_app: WSGIApp, environ: dict[str, Any],
                       start_response: Callable[..., Any]) -> Iterable[bytes]:
        """moto's answer, with each target's state replaced by the real checks' verdict."""
        import urllib.parse
        import xml.etree.ElementTree as ET

        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        environ["wsgi.input"] = io.BytesIO(body)
        group_arn = urllib.parse.parse_qs(body.decode()).get("TargetGroupArn", [""])[0]
        status: list[Any] = []
        with self.lock:
            data = b"".join(moto_app(environ, lambda s, h, *_: status.append((s, h))))
        if not status or not str(status[0][0]).startswith("200"):
            start_response(*status[0]) if status else None
            return [data]
        namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
        ET.register_namespace("", namespace)
        root = ET.fromstring(data)
        ns = f"{{{namespace}}}"
        filtered = "Targets.member" in body.decode()
        with self.lock:
            leaving = set(self.leaving)
        listed = root.find(f".//{ns}TargetHealthDescriptions")
        seen = set()
        for member in list(listed if listed is not None else []):
            target_id = member.findtext(f"{ns}Target/{ns}Id") or ""
            seen.add(target_id)
            found = self.balancers.state_of(group_arn, target_id)
            if found is None and target_id in leaving:
                if not filtered and listed is not None:
                    listed.remove(member)  # deregistered, as AWS does for Standby
                    continue
                found = Health("unused", "Target.NotRegistered")
            if found is not None:
                _set_health(member, ns, found)
        if not filtered and listed is not None:
            for target_id, port in self.balancers.draining(group_arn):
                if target_id in seen:
                    continue
                member = ET.SubElement(listed, f"{ns}member")
                target = ET.SubElement(member, f"{ns}Target")
                ET.SubElement(target, f"{ns}Id").text = target_id
                ET.SubElement(target, f"{ns}Port").text = str(port)
                ET.SubElement(member, f"{ns}TargetHealth")
                _set_health(member, ns, Health("draining", "Target.DeregistrationInProgress"))
        out = ET.tostring(root, xml_declaration=False)
        headers = [(k, v) for k, v in status[0][1] if k.lower() != "content-length"]
        start_response(status[0][0], [*headers, ("Content-Length", str(len(out)))])
        return [out]

    def _ssm(self, operation: str, request: dict[str, Any], moto_app: WSGIApp,
             environ: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if operation == "SendCommand":
            ids = list(request.get("InstanceIds") or [])
            with self.lock:
                not_ready = [i for i in ids if i not in self.ready]
            if not ids or not_ready:
                return 400, {"__type": "InvalidInstanceId",
                             "message": f"Instances {not_ready or ids} not in a valid state "
                                        "for account 123456789012"}
            status: list[str] = []
            with self.lock:
                body = b"".join(moto_app(environ, lambda s, h, *_: status.append(s)))
            reply = json.loads(body or b"{}")
            command = reply.get("Command") or {}
            if not status or not status[0].startswith("200") or "CommandId" not in command:
                return int(status[0].split()[0]) if status else 500, reply
            params = request.get("Parameters") or {}
            timeout = float((params.get("executionTimeout") or ["3600"])[0])
            self.runner.start(command["CommandId"], ids, list(params.get("commands") or []),
                              timeout=timeout, comment=str(request.get("Comment", "")),
                              document=str(request.get("DocumentName", "")))
            command["InstanceIds"] = ids  # moto widens the targets; AWS does not
            command["Targets"] = []
            command["Status"] = "Pending"
            return 200, {"Command": command}
        if operation == "GetCommandInvocation":
            command_id = str(request.get("CommandId", ""))
            if not self.runner.knows(command_id):
                return None
            found = self.runner.get(command_id, str(request.get("InstanceId", "")))
            if found is None:
                return 400, {"__type": "InvocationDoesNotExist", "message": ""}
            return 200, found.answer()
        listed = self.runner.of(request.get("CommandId"), request.get("InstanceId"))
        return 200, {"CommandInvocations": [i.listed(bool(request.get("Details")))
                                            for i in listed]}

    # -- keeping moto and the machines in step (called under self.lock) ------------

    def _sync(self) -> None:
        views = motoview.instances()
        self.views = {v.instance_id: v for v in views}
        # The balancer first: an instance stopped below is draining before `_stop` waits.
        addresses = {iid: view.address for iid, view in self.views.items()
                     if iid in self.ready and iid in self.machines}
        self.leaving = motoview.leaving()
        motoview.set_dns_names(self.balancers.update(motoview.target_groups(),
                                                     motoview.listeners(), addresses,
                                                     self.leaving))
        images = motoview.images()
        for region, image_id in list(self.base_images.items()):
            if image_id not in images:  # `sandbox reset` emptied moto: register it again
                del self.base_images[region]
                self._base_image(region)
        for iid in [i for i in self.machines if i not in self.views and i not in self.busy]:
            self.busy.add(iid)  # moto forgot it (`sandbox reset`): its machine ends too
            self.pool.submit(self._stop, iid)
        for view in views:
            self._base_image(view.region)
            known = view.instance_id in self.machines or view.instance_id in self.busy
            if view.state in ("pending", "running") and not known:
                motoview.set_instance_state(view.instance_id, "pending")
                self.busy.add(view.instance_id)
                self.pool.submit(self._launch, view)
            elif view.state in motoview.GONE and view.instance_id in self.machines \
                    and view.instance_id not in self.busy:
                self.busy.add(view.instance_id)
                self.pool.submit(self._stop, view.instance_id)
        self._sync_images()
        self._sync_volumes()
        self._sync_firewall()
        self._write_status()

    def _base_image(self, region: str) -> None:
        if region in self.base_images or self.base_root is None:
            return
        image_id = motoview.register_image(
            region, IMAGE_NAME, "Debian 12 (bookworm) built by debootstrap: the hosts "
            "sandbox's machines boot from it", {BASE_TAG: "debian-12", "Name": IMAGE_NAME})
        self.base_images[region] = image_id
        self.store[image_id] = self.base_root

    def _launch(self, view: motoview.InstanceView) -> None:
        iid = view.instance_id
        try:
            source = self.store.get(view.image_id) or self.base_root
            assert source is not None
            box = Machine(iid, view.address, self.root / "run" / "machines" / iid,
                          network.netns_name(iid))
            box.record(self.records)
            machines.overlay_root(source, box)
            machines.write_seed(box.rootfs, Seed(
                iid, "ip-" + view.address.replace(".", "-"), view.address, view.region,
                view.user_data, self.aws_port, proxy.PORT))
            network.add_link(self.records, iid, view.address)
            machines.boot(box, self.records, wheelhouse=self.wheels)
            with self.lock:
                self.machines[iid] = box
                motoview.set_instance_state(iid, "running")
                self._sync_firewall()
                self._write_status()
        except Exception as e:  # the instance stays pending; the log says why
            self.log(f"{iid}: machine failed: {e} {getattr(e, 'detail', '') or ''}")
            with self.lock:
                self.busy.discard(iid)
            return
        threading.Thread(target=self._await_agent, args=(box, view), daemon=True,
                         name=f"boot-{iid}").start()

    def _await_agent(self, box: Machine, view: motoview.InstanceView) -> None:
        """SSM answers for a machine once it reached multi-user.target, as the agent would."""
        iid = box.instance_id
        try:
            state = machines.wait_ready(box)
            if state == "active":
                with self.lock:
                    self.ready.add(iid)
            self.log(f"{iid} ({view.role_tag or 'no role'}) at {view.address}: "
                     f"multi-user.target {state}")
        finally:
            with self.lock:
                self.busy.discard(iid)
                self._sync()  # it may have been terminated meanwhile; attach its volumes

    def _stop(self, instance_id: str) -> None:
        try:
            # As an Auto Scaling group does before terminating: the balancer drains the
            # instance (its in-flight requests finish) before the machine goes away.
            self.balancers.wait_drained(instance_id, DRAIN_WAIT)
            with self.lock:
                box = self.machines.get(instance_id)
                self.ready.discard(instance_id)
            if box is not None:
                for volume, (owner, loop, _guest) in list(self.attached.items()):
                    if owner == instance_id:
                        volumes.detach_loop(self.records, volume, loop)
                        with self.lock:
                            self.attached.pop(volume, None)
                machines.power_off(box, self.records)
                network.remove_link(self.records, instance_id)
            self.log(f"{instance_id}: powered off and removed")
        finally:
            with self.lock:
                self.machines.pop(instance_id, None)
                self.busy.discard(instance_id)
                self._sync_firewall()
                self._write_status()

    def _sync_images(self) -> None:
        images = motoview.images()
        for image_id, (state, source) in images.items():
            if image_id in self.store or image_id in self.copying or source is None:
                continue
            box = self.machines.get(source)
            if box is None or state != "available":
                continue
            motoview.set_image_state(image_id, "pending")
            self.copying.add(image_id)
            self.pool.submit(self._copy_image, image_id, box)
        for image_id in [i for i in self.store if i not in images]:
            path = self.store.pop(image_id)
            if path != self.base_root:
                volumes.free_tree(path.parent)

    def _copy_image(self, image_id: str, box: Machine) -> None:
        target = self.root / "run" / "images" / image_id
        try:
            run(machines.enter(box, ["sync"]), check=False)
            machines.copy_root(box.rootfs, target / "rootfs")
            with self.lock:
                self.store[image_id] = target / "rootfs"
                motoview.set_image_state(image_id, "available")
        except Exception as e:
            self.log(f"image {image_id}: copy failed: {e}")
            with self.lock:
                motoview.set_image_state(image_id, "failed")
        finally:
            with self.lock:
                self.copying.discard(image_id)

    def _sync_volumes(self) -> None:
        store = self.root / "run" / "volumes"
        wanted = {a.volume_id: a for a in motoview.attachments()}
        for volume_id, (owner, loop, guest) in list(self.attached.items()):
            if volume_id not in wanted or wanted[volume_id].instance_id != owner:
                box = self.machines.get(owner)
                if box is not None:
                    volumes.hide(machines.enter(box, []), guest, volume_id)
                volumes.detach_loop(self.records, volume_id, loop)
                del self.attached[volume_id]
        for volume_id, made_from in motoview.volumes().items():
            snap = store / f"{made_from}.img" if made_from else None
            attachment = wanted.get(volume_id)
            size = attachment.size if attachment else 1
            if attachment is not None or (snap is not None and snap.exists()):
                volumes.ensure_file(store, volume_id, size, snap)
        for attachment in sorted(wanted.values(), key=lambda a: a.device):
            box = self.machines.get(attachment.instance_id)
            if attachment.volume_id in self.attached or box is None \
                    or attachment.instance_id not in self.ready:
                continue
            view = self.views.get(attachment.instance_id)
            itype = view.instance_type if view else "t3.micro"
            index = 1 + sum(1 for o, _, _ in self.attached.values()
                            if o == attachment.instance_id)
            guest = volumes.guest_device(itype, attachment.device, index)
            backing = volumes.ensure_file(store, attachment.volume_id, attachment.size, None)
            loop, major, minor = volumes.attach_loop(self.records, backing,
                                                     attachment.volume_id)
            volumes.expose(machines.enter(box, []), guest, major, minor, attachment.volume_id,
                           volumes.is_nitro(itype))
            self.attached[attachment.volume_id] = (attachment.instance_id, loop, guest)
        for snapshot_id, (of_volume, _status) in motoview.snapshots().items():
            source = store / f"{of_volume}.img" if of_volume else None
            if snapshot_id in self.snapshots or source is None or not source.exists():
                continue
            volumes.snapshot(store, source, snapshot_id)
            self.snapshots.add(snapshot_id)
        existing = set(motoview.volumes()) | set(motoview.snapshots())
        for path in store.glob("*.img") if store.is_dir() else []:
            if path.stem not in existing and path.stem not in self.attached:
                path.unlink(missing_ok=True)

    def _sync_firewall(self) -> None:
        groups = motoview.security_groups()
        members: dict[str, list[str]] = {}
        for iid in self.machines:
            view = self.views.get(iid)
            for gid in view.group_ids if view else ():
                members.setdefault(gid, []).append(view.address if view else "")
        endpoints = []
        for iid in self.machines:
            view = self.views.get(iid)
            if view is None:
                continue
            rules = []
            for gid in view.group_ids:
                for p in groups.get(gid, ()):
                    sources = [c for c in p.cidrs if network.valid_cidr(c)]
                    sources += [f"{a}/32" for g in p.source_groups for a in members.get(g, [])]
                    if sources:
                        rules.append(network.Rule(p.protocol, p.from_port, p.to_port,
                                                  tuple(sorted(set(sources)))))
            endpoints.append(network.Endpoint(network.veth_name(iid), view.address,
                                              tuple(rules)))
        lines = network.security_group_lines(endpoints)
        if lines != self.firewall:
            network.restore(lines)
            self.firewall = lines

    # -- what the other parts ask -----------------------------------------------------

    def _identity(self, address: str) -> Identity | None:
        with self.lock:
            view = next((v for v in self.views.values()
                         if v.address == address and v.instance_id in self.machines), None)
        if view is None:
            return None
        return Identity(view.instance_id, view.address, "ip-" + view.address.replace(".", "-"),
                        view.region, view.zone, view.image_id, view.instance_type, view.role,
                        view.user_data)

    def _locate(self, instance_id: str) -> tuple[Path, list[str]] | None:
        with self.lock:
            box = self.machines.get(instance_id)
        return (box.rootfs, machines.enter(box, [])) if box is not None else None

    def _write_status(self) -> None:
        rows = []
        for iid, view in sorted(self.views.items()):
            if iid in self.machines:
                state = "running" if iid in self.ready else "booting"
            elif iid in self.busy:
                state = "launching"
            else:
                continue
            rows.append({"instance_id": iid, "role": view.role_tag, "address": view.address,
                         "state": state})
        path = self.root / HOSTS_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(rows, indent=2))
        tmp.replace(path)


OWNER = Path("/run/argos-cloud-hosts-sandbox")


def claim_computer(root: Path, *, write: bool = True) -> None:
    """One hosts sandbox per computer: its bridge, address and firewall chains are global."""
    import os

    from argos_cloud.errors import Refused
    from argos_cloud.processes import process_alive

    try:
        holder = json.loads(OWNER.read_text())
        if holder["root"] != str(root) and process_alive(int(holder["pid"])):
            raise Refused(f"another hosts sandbox runs on this computer ({holder['root']}, "
                          f"pid {holder['pid']}): stop it first (`argos-cloud sandbox stop` "
                          "in its folder)")
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if write:
        OWNER.write_text(json.dumps({"root": str(root), "pid": os.getpid()}))


DESCRIPTIONS = {
    "Elb.InitialHealthChecking": "Initial health checks in progress",
    "Target.FailedHealthChecks": "Health checks failed",
    "Target.DeregistrationInProgress": "Target deregistration is in progress",
    "Target.NotRegistered": "Target is not registered to the target group",
}


def _set_health(member: Any, ns: str, health: Health) -> None:
    """One TargetHealthDescription's TargetHealth, as the sandbox's checks have it."""
    import xml.etree.ElementTree as ET

    element = member.find(f"{ns}TargetHealth")
    if element is None:
        return
    for child in list(element):
        element.remove(child)
    ET.SubElement(element, f"{ns}State").text = health.state
    if health.reason:
        ET.SubElement(element, f"{ns}Reason").text = health.reason
        ET.SubElement(element, f"{ns}Description").text = DESCRIPTIONS.get(health.reason, "")


def _json(start_response: Callable[..., Any], status: int,
          payload: dict[str, Any]) -> list[bytes]:
    data = json.dumps(payload, default=str).encode()
    reason = "OK" if status == 200 else "Bad Request"
    start_response(f"{status} {reason}", [("Content-Type", "application/x-amz-json-1.1"),
                                           ("Content-Length", str(len(data)))])
    return [data]
