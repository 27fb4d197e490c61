"""Taking app instances out of the load balancer's rotation and back, so a deploy drops nothing.

A deploy restarts the app on the instances of a batch. Done while they take
traffic, in-flight and new requests to them fail. So, as Elastic Beanstalk's
"rolling with additional batch" and CodeDeploy's in-place deploys do, a deploy
of a group behind a load balancer

1. first starts stand-ins, as many as its largest batch, and waits until the
   balancer calls them healthy: the group never serves with fewer healthy
   instances than before the deploy, a group of one included;
2. per batch, deregisters the batch from every target group and waits for the
   drain (the target group's `deregistration_delay`: requests in flight finish,
   no new one arrives; it ends early when none is in flight), then applies,
   registers the batch again and waits until it is healthy (deploy does that
   part, the balancer's health checks decide);
3. takes the stand-ins out at the end, whatever happened: Auto Scaling drains them
   before it terminates them, and the group's size and maximum are back.

Only ordinary ELBv2 and Auto Scaling calls, so it is the same on AWS, on the
hosts sandbox (HAProxy drains for real) and on plain moto (which has no drain:
a deregistered target is gone at once, and the tool says nothing drained there).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from argos_cloud.errors import OperationFailed
from argos_cloud.kinds import target_group
from argos_cloud.waiting import wait_for

if TYPE_CHECKING:
    from argos_cloud.clock import Clock
    from argos_cloud.workflows.roll import Group
    from argos_cloud.workflows.session import Session

DRAIN_MARGIN = 60.0  # seconds past the longest deregistration delay before a drain is a failure
STAND_IN_TIMEOUT = 900.0  # a stand-in boots, converges from the master and turns healthy


@dataclass
class StandIns:
    """The instances started to keep the group's capacity while batches are out."""

    role: str
    ids: list[str] = field(default_factory=list)
    max_size: int = 0  # the group's maximum before, put back at the end


def drain(session: Session, arns: list[str], instance_ids: list[str],
          say: Callable[[str], None]) -> None:
    """Deregister from every target group and wait until none still drains them."""
    if not arns or not instance_ids:
        return
    clients = session.clients
    delay = max(target_group.deregistration_delay(clients, arn) for arn in arns)
    for arn in arns:
        target_group.deregister(clients, arn, instance_ids)
    say(f"draining {', '.join(instance_ids)} (at most {delay:g} s: requests in flight "
        "finish, no new one arrives)")
    wanted = set(instance_ids)

    def still() -> list[str]:
        return sorted({iid for arn in arns
                       for iid, state in target_group.target_health(clients, arn).items()
                       if iid in wanted and state == "draining"})

    wait_for(still, lambda left: not left, clock=session.clock, timeout=delay + DRAIN_MARGIN,
             what=f"{', '.join(instance_ids)} to drain", initial=1.0, cap=5.0)


def undrain(session: Session, arns: list[str], instance_ids: list[str]) -> None:
    """Back into every target group: the balancer's health checks decide when they serve."""
    for arn in arns:
        target_group.register(session.clients, arn, instance_ids)


@contextlib.contextmanager
def stand_ins(group: Group, count: int, *, clock: Clock, say: Callable[[str], None],
              timeout: float = STAND_IN_TIMEOUT) -> Iterator[StandIns]:
    """`count` more instances in the group, healthy behind the balancer, for the `with`."""
    _, max_size, desired = group.sizes()
    held = StandIns(group.role, max_size=max_size)
    before = {m["id"] for m in group.members()}
    grown = desired + count
    say(f"starting {count} stand-in instance(s) so capacity never drops during the deploy")
    group.set_capacity(grown, max(max_size, grown))

    def fresh() -> list[str]:
        return sorted(m["id"] for m in group.members()
                      if m["id"] not in before and m.get("health") == "Healthy")

    def ready(ids: list[str]) -> bool:
        lb = group.target_health()
        return sum(1 for i in ids if lb.get(i) == "healthy") >= count

    try:
        try:
            found = wait_for(fresh, ready, clock=clock, timeout=timeout,
                             what=f"{count} stand-in {group.role} instance(s) to be healthy",
                             initial=5.0, cap=30.0)
        finally:
            held.ids = sorted(m["id"] for m in group.members() if m["id"] not in before)
        say(f"stand-in(s) among {', '.join(found)} healthy behind the load balancer")
        yield held
    finally:
        _remove(group, held, clock, say, timeout)


def _remove(group: Group, held: StandIns, clock: Clock, say: Callable[[str], None],
            timeout: float) -> None:
    """The stand-ins go (drained by Auto Scaling first); size and maximum are put back."""
    if held.ids:
        say(f"taking out the stand-in(s) {', '.join(held.ids)}")
    for iid in held.ids:
        group.terminate(iid)
    try:
        wait_for(group.members, lambda ms: not ({m["id"] for m in ms} & set(held.ids)),
                 clock=clock, timeout=timeout, what="the stand-ins to leave the group")
    except OperationFailed as e:
        say(f"warning: {e}")  # they leave the group anyway; the maximum goes back below
    _, _, desired = group.sizes()
    group.set_capacity(desired, max(held.max_size, desired))
