"""The image roll on a fake group: batches, never fewer healthy than before, failure stops."""

from __future__ import annotations

from typing import Any

from argos_cloud.clock import FakeClock
from argos_cloud.workflows.roll import batches_of, roll_group


class FakeGroup:
    """Members launch on the template's image at once; `sick` images never turn healthy."""

    role = "app"

    def __init__(self, count: int, image: str, new_image: str, *, sick: bool = False,
                 min_size: int = 2, max_size: int = 4) -> None:
        self.image, self.sick = new_image, sick
        self.min, self.max = min_size, max_size
        self.live: dict[str, str] = {f"i-old{i}": image for i in range(count)}
        self.desired = count
        self.made = 0
        self.lowest_healthy = count
        self.calls: list[tuple[str, Any]] = []

    def sizes(self) -> tuple[int, int, int]:
        return self.min, self.max, self.desired

    def _healthy(self, iid: str) -> bool:
        return not (self.sick and self.live[iid] == self.image)

    def members(self) -> list[dict[str, Any]]:
        return [{"id": i, "image_id": img, "health": "Healthy" if self._healthy(i)
                 else "Unhealthy"} for i, img in sorted(self.live.items())]

    def set_capacity(self, desired: int, max_size: int) -> None:
        self.calls.append(("set", (desired, max_size)))
        assert desired <= max_size
        self.desired, self.max = desired, max_size
        while len(self.live) < desired:
            self.made += 1
            self.live[f"i-new{self.made}"] = self.image

    def terminate(self, instance_id: str) -> None:
        self.calls.append(("terminate", instance_id))
        self.live.pop(instance_id, None)
        self.desired -= 1
        healthy = sum(1 for i in self.live if self._healthy(i))
        self.lowest_healthy = min(self.lowest_healthy, healthy)

    def target_health(self) -> dict[str, str]:
        return {i: "healthy" if self._healthy(i) else "unhealthy" for i in self.live}

    def uses_load_balancer(self) -> bool:
        return True


def test_batches_are_half_the_old_members_and_at_least_one() -> None:
    assert batches_of(["a", "b", "c"]) == [["a", "b"], ["c"]]
    assert batches_of(["a"]) == [["a"]]


def test_every_old_member_is_replaced_in_batches_never_below_the_healthy_count() -> None:
    group = FakeGroup(4, "ami-old", "ami-new", min_size=2, max_size=4)
    result = roll_group(group, "ami-new", clock=FakeClock())
    assert result.ok and [len(b.old) for b in result.batches] == [2, 2]
    assert set(group.live.values()) == {"ami-new"} and len(group.live) == 4
    assert group.lowest_healthy >= 4  # new ones were healthy before old ones went
    assert group.calls[0] == ("set", (6, 6))  # the maximum is raised for the batch
    assert (group.desired, group.max) == (4, 4)  # and restored


def test_a_batch_that_never_turns_healthy_stops_the_roll_and_the_old_keep_serving() -> None:
    group = FakeGroup(2, "ami-old", "ami-bad", sick=True, min_size=1, max_size=2)
    clock = FakeClock()
    result = roll_group(group, "ami-bad", clock=clock, timeout=60)
    assert not result.ok and result.failed_step == "app roll batch 1/2"
    assert [b.status for b in result.batches] == ["failed", "not run"]
    assert sorted(group.live) == ["i-old0", "i-old1"]  # the new, sick ones were taken out
    assert (group.desired, group.max) == (2, 2)
    assert clock.now() >= 60  # it waited its timeout on the fake clock, not in real time


def test_a_group_already_on_the_image_is_left_alone() -> None:
    group = FakeGroup(2, "ami-new", "ami-new")
    assert roll_group(group, "ami-new", clock=FakeClock()).batches == []
    assert group.calls == []
