"""The machines' network: a namespace and a routed veth each, nothing reachable but each other.

Each machine's only route is its veth to this computer, whose end answers at
169.254.169.254 (EC2's link-local address: IMDS, the sandbox's AWS endpoint
and the package proxy all listen there, on the `ANCHOR` bridge). Between
machines every packet is routed, not bridged, so it crosses this computer's
FORWARD chain, where iptables applies the security groups moto holds. Nothing
is forwarded anywhere else and there is no NAT: the registries are reached
only through the proxy, which resolves and connects for them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from argos_cloud.sandbox.hosts.records import Records
from argos_cloud.sandbox.hosts.system import run

ANCHOR = "argos-hosts0"
ANCHOR_IP = "169.254.169.254"
VETH_PREFIX = "ahv"
IN_CHAIN, FWD_CHAIN = "ARGOS-HOSTS-IN", "ARGOS-HOSTS-FWD"
FORWARD_SYSCTL = Path("/proc/sys/net/ipv4/ip_forward")


@dataclass(frozen=True)
class Rule:
    """One ingress permission of a security group, its sources already resolved to CIDRs."""

    protocol: str  # tcp, udp, icmp, or -1 for all
    from_port: int | None
    to_port: int | None
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Endpoint:
    """A machine as the firewall sees it: its veth, its address and what may reach it."""

    veth: str
    address: str
    ingress: tuple[Rule, ...]


def veth_name(instance_id: str) -> str:
    return f"{VETH_PREFIX}{instance_id[-10:]}"  # interface names stop at 15 characters


def netns_name(instance_id: str) -> str:
    return f"argos-{instance_id}"


def ensure_anchor(records: Records, listen_ports: Iterable[int]) -> None:
    """The bridge holding 169.254.169.254, forwarding on, and the base firewall."""
    if run(["ip", "link", "show", ANCHOR], check=False).returncode != 0:
        records.add("anchor", ANCHOR)
        run(["ip", "link", "add", ANCHOR, "type", "bridge"])
        run(["ip", "addr", "add", f"{ANCHOR_IP}/32", "dev", ANCHOR])
        run(["ip", "link", "set", ANCHOR, "up"])
    old = FORWARD_SYSCTL.read_text().strip()
    if old != "1":
        records.add("sysctl", "ip_forward", path=str(FORWARD_SYSCTL), old=old)
        FORWARD_SYSCTL.write_text("1")
    jumps = [("filter", "INPUT", ["-i", f"{VETH_PREFIX}+", "-j", IN_CHAIN]),
             ("filter", "FORWARD", ["-i", f"{VETH_PREFIX}+", "-j", FWD_CHAIN]),
             ("filter", "FORWARD", ["-o", f"{VETH_PREFIX}+", "-j", FWD_CHAIN])]
    records.add("firewall", "base", chains=[("filter", IN_CHAIN), ("filter", FWD_CHAIN)],
                jumps=jumps)
    ports = ",".join(str(p) for p in sorted(set(listen_ports)))
    restore([f":{IN_CHAIN} - [0:0]",
             f"-A {IN_CHAIN} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
             f"-A {IN_CHAIN} -d {ANCHOR_IP}/32 -p tcp -m multiport --dports {ports} -j ACCEPT",
             f"-A {IN_CHAIN} -j DROP"])
    apply_security_groups([])
    for table, chain, rule in jumps:
        if run(["iptables", "-t", table, "-C", chain, *rule], check=False).returncode != 0:
            run(["iptables", "-t", table, "-I", chain, "1", *rule])


def restore(lines: list[str]) -> None:
    """Replace our chains atomically; other chains are left as they are (--noflush)."""
    run(["iptables-restore", "--noflush"], input_text="*filter\n" + "\n".join(lines)
        + "\nCOMMIT\n")


def security_group_lines(endpoints: Iterable[Endpoint]) -> list[str]:
    """The forward chain: replies, then each machine's ingress rules, then drop.

    Pure, so the translation of moto's rules is tested without root.
    """
    lines = [f":{FWD_CHAIN} - [0:0]",
             f"-A {FWD_CHAIN} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
             f"-A {FWD_CHAIN} ! -o {VETH_PREFIX}+ -j DROP"]  # machines reach no one else
    for end in sorted(endpoints, key=lambda e: e.veth):
        for rule in end.ingress:
            match = _match(rule)
            if match is None:
                continue
            for source in rule.sources:
                lines.append(f"-A {FWD_CHAIN} -o {end.veth} -d {end.address}/32 -s {source}"
                             f"{match} -j ACCEPT")
    lines.append(f"-A {FWD_CHAIN} -j DROP")
    return lines


def _match(rule: Rule) -> str | None:
    if rule.protocol in ("-1", "all"):
        return ""
    if rule.protocol not in ("tcp", "udp", "icmp"):
        return None
    if rule.protocol == "icmp" or rule.from_port is None:
        return f" -p {rule.protocol}"
    low, high = rule.from_port, rule.to_port if rule.to_port is not None else rule.from_port
    return f" -p {rule.protocol} --dport {low}:{high}" if low != high else \
        f" -p {rule.protocol} --dport {low}"


def apply_security_groups(endpoints: Iterable[Endpoint]) -> None:
    restore(security_group_lines(endpoints))


def valid_cidr(text: str) -> bool:
    try:
        return ipaddress.ip_network(text, strict=False).version == 4
    except ValueError:
        return False


def add_link(records: Records, instance_id: str, address: str) -> tuple[str, str]:
    """A namespace whose eth0 has `address`/32 and a default route to this computer."""
    ns, veth = netns_name(instance_id), veth_name(instance_id)
    peer = f"ahp{instance_id[-10:]}"
    records.add("netns", ns)
    records.add("link", veth)
    run(["ip", "netns", "add", ns])
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", peer])
    run(["ip", "link", "set", peer, "netns", ns])
    inside = ["ip", "netns", "exec", ns]
    run([*inside, "ip", "link", "set", peer, "name", "eth0"])
    run([*inside, "ip", "addr", "add", f"{address}/32", "dev", "eth0"])
    run([*inside, "ip", "link", "set", "lo", "up"])
    run([*inside, "ip", "link", "set", "eth0", "up"])
    run([*inside, "ip", "route", "add", f"{ANCHOR_IP}/32", "dev", "eth0"])
    run([*inside, "ip", "route", "add", "default", "via", ANCHOR_IP, "dev", "eth0", "onlink"])
    run(["ip", "link", "set", veth, "up"])
    run(["ip", "route", "replace", f"{address}/32", "dev", veth])
    return ns, veth


def remove_link(records: Records, instance_id: str) -> None:
    ns, veth = netns_name(instance_id), veth_name(instance_id)
    run(["ip", "link", "del", veth], check=False)
    records.drop("link", veth)
    run(["ip", "netns", "del", ns], check=False)
    records.drop("netns", ns)
