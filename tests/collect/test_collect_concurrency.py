"""The adaptive concurrency rules (auditor.collect.concurrency), driven with fake clocks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from auditor.collect.concurrency import (
    BLIND_LIMIT,
    DEFAULT_MAX_CONCURRENCY,
    FILE_RESERVE,
    MEMORY_PER_NODE,
    MEMORY_SHARE,
    RECOVERY_SHARE,
    RECOVERY_STEPS,
    SOCKETS_PER_NODE,
    START,
    WINDOW,
    AdaptiveLimit,
    Limiter,
)
from auditor.collect.concurrency import safe_ceiling as ceiling_of


class Clock:
    def __init__(self) -> None:
        self.t = 0.0
        self.cpu = 0.0

    def step(self, seconds: float, cpu_per_second: float) -> None:
        self.t += seconds
        self.cpu += seconds * cpu_per_second


def limiter(ceiling: int = 512) -> tuple[AdaptiveLimit, Clock]:
    clock = Clock()
    return AdaptiveLimit(ceiling, clock=lambda: clock.t, cpu=lambda: clock.cpu), clock


def drive(limit: AdaptiveLimit, clock: Clock, windows: int, finished: Callable[[int, int], int], *,
          done: int = 0, failed: int = 0, cpu: float = 0.3, in_flight: int | None = None, queued: int = 10_000,
          node_seconds: float = WINDOW) -> tuple[int, list[int]]:
    """``windows`` monitor windows: each one ``finished(limit, window)`` more nodes done, the
    client at ``cpu`` CPU-seconds per second, every slot busy unless ``in_flight`` says how
    many are; returns the nodes done and the limit after each window."""
    seen = []
    for window in range(windows):
        clock.step(WINDOW, cpu)
        done += finished(limit.limit, window)
        seen.append(limit.update(done=done, failed=failed, in_flight=limit.limit if in_flight is None else in_flight,
                                 queued=queued, node_seconds=node_seconds))
    return done, seen


def nothing_finishes(limit: int, window: int) -> int:
    return 0


def follows_the_limit(limit: int, window: int) -> int:
    """Throughput follows the number in flight."""
    return limit // 8


def test_ceiling_is_the_tightest_bound():
    roomy = dict(file_limit=None, memory=None)
    assert ceiling_of(40, **roomy).limited_by is Limiter.NODES
    assert ceiling_of(5000, **roomy).value == DEFAULT_MAX_CONCURRENCY
    assert ceiling_of(5000, 100, **roomy).limited_by is Limiter.ADMIN_CAP
    sockets = ceiling_of(5000, file_limit=512, memory=None)
    assert sockets.value == (512 - FILE_RESERVE) // SOCKETS_PER_NODE
    assert sockets.limited_by is Limiter.SOCKETS
    memory = ceiling_of(5000, file_limit=None, memory=200 * MEMORY_PER_NODE)
    assert memory.value == int(200 * MEMORY_SHARE)
    assert memory.limited_by is Limiter.MEMORY


def test_grows_while_saturated_and_client_idle_up_to_the_ceiling():
    limit, clock = limiter(ceiling=100)
    first = limit.limit
    _, seen = drive(limit, clock, 20, nothing_finishes, cpu=0.2, queued=1000, node_seconds=0.0)
    seen = [first, *seen]
    assert seen[0] == START
    assert max(seen) == 100
    assert seen == sorted(seen)


def test_no_raise_past_the_blind_limit_before_a_node_finished():
    """Slowest nodes first: nothing finishes for seconds; raises then cannot be judged."""
    limit, clock = limiter()
    drive(limit, clock, 40, nothing_finishes, cpu=0.1, node_seconds=0.0)
    assert limit.peak == BLIND_LIMIT


def test_grows_past_the_blind_limit_once_nodes_finish():
    limit, clock = limiter()
    drive(limit, clock, 80, follows_the_limit, cpu=0.1)
    assert limit.peak == 512


def test_holds_when_the_client_is_cpu_bound():
    limit, clock = limiter()
    drive(limit, clock, 10, nothing_finishes, cpu=1.0, queued=1000, node_seconds=0.0)
    assert limit.limit == START


def test_holds_when_slots_are_not_all_used():
    limit, clock = limiter()
    drive(limit, clock, 10, nothing_finishes, cpu=0.1, in_flight=3, queued=0, node_seconds=0.0)
    assert limit.limit == START


def test_stops_growing_when_throughput_does_not_grow():
    limit, clock = limiter()
    # 40 nodes/s whatever the limit: something else is the bottleneck
    drive(limit, clock, 40, lambda limit, window: 20)
    assert limit.peak < 512
    assert limit.limit < limit.peak  # the doubling that brought nothing was undone


def test_keeps_a_doubling_that_helped_a_little_and_stops():
    rate = 40.0

    def one_doubling_helps(limit: int, window: int) -> int:
        nonlocal rate
        rate = min(rate * 1.2, 60.0) if limit > 16 else rate  # one doubling: +20 %, then flat
        return int(rate * WINDOW)

    limit, clock = limiter()
    drive(limit, clock, 40, one_doubling_helps)
    assert limit.limit == limit.peak
    assert limit.limit == 32


def test_backs_off_when_timeouts_pile_up():
    limit, clock = limiter()
    drive(limit, clock, 6, nothing_finishes, cpu=0.2, queued=1000, node_seconds=0.0)
    before = limit.limit
    clock.step(WINDOW, 0.2)
    after = limit.update(done=10, failed=8, in_flight=before, queued=1000, node_seconds=1.0)
    assert after == before // 2


@pytest.mark.parametrize("failed", [1, 2])
def test_one_or_two_hung_nodes_are_not_overload(failed):
    limit, clock = limiter()
    clock.step(WINDOW, 0.2)
    first = limit.update(done=0, failed=0, in_flight=START, queued=1000, node_seconds=0.0)
    clock.step(WINDOW, 0.2)
    assert limit.update(done=30, failed=failed, in_flight=first, queued=1000, node_seconds=0.0) >= first


def test_a_burst_just_before_a_raise_does_not_end_the_growth():
    """With real latencies nodes end in bursts (all started together, ended together). The
    throughput before a raise is the whole time at that limit, so one bursty window just before
    the raise does not make a doubling that helped look like one that did not."""
    node_seconds = 2.0

    def bursty(limit: int, window: int) -> int:
        steady = limit / node_seconds  # throughput follows the number in flight
        burst = 3 if window % 4 == 0 else 0  # the window that ends at each raise holds a burst
        return int(steady * WINDOW * (1 + burst)) if burst else int(steady * WINDOW * 0.5)

    limit, clock = limiter()
    drive(limit, clock, 400, bursty, node_seconds=node_seconds)
    assert limit.peak == 512


def _settled(limit: AdaptiveLimit, clock: Clock) -> int:
    """Run until the limit is found (throughput follows the number in flight up to 64, then is
    flat); returns the nodes done."""
    return drive(limit, clock, 60, lambda limit, window: int(min(limit, 64) * 2.5 * WINDOW))[0]


def _burst_of_timeouts(limit: AdaptiveLimit, clock: Clock, done: int, failed: int) -> tuple[int, int]:
    clock.step(WINDOW, 0.3)
    limit.update(done=done + 10, failed=failed + 8, in_flight=limit.limit, queued=10_000, node_seconds=WINDOW)
    return done + 10, failed + 8


def _run(limit: AdaptiveLimit, clock: Clock, done: int, failed: int, *, cpu: float = 0.3,
         in_flight: int | None = None) -> tuple[int, list[int]]:
    """40 windows without new failures; returns done and the limit after each window."""
    return drive(limit, clock, 40, lambda limit, window: 20, done=done, failed=failed, cpu=cpu, in_flight=in_flight)


def test_climbs_back_after_a_back_off_to_just_below_the_level_that_failed():
    """A burst of timeouts after the limit was found must not leave the rest of the run at half
    speed: after the hold the limit climbs back in RECOVERY_STEPS steps to 7/8 of that level."""
    limit, clock = limiter()
    done = _settled(limit, clock)
    found = limit.limit
    assert found == 64
    done, failed = _burst_of_timeouts(limit, clock, done, 0)
    assert limit.limit == found // 2
    _, seen = _run(limit, clock, done, failed)
    assert seen[0] == found // 2  # held first
    assert max(seen) == int(found * RECOVERY_SHARE)
    assert len(set(seen)) == RECOVERY_STEPS + 1 and seen == sorted(seen)


def test_no_climb_back_while_the_client_is_cpu_bound_or_slots_are_idle():
    limit, clock = limiter()
    done = _settled(limit, clock)
    done, failed = _burst_of_timeouts(limit, clock, done, 0)
    halved = limit.limit
    done, _ = _run(limit, clock, done, failed, cpu=1.0)
    assert limit.limit == halved
    _run(limit, clock, done, failed, in_flight=halved // 2)
    assert limit.limit == halved


def test_a_level_that_keeps_failing_is_approached_lower_each_time():
    limit, clock = limiter()
    done = _settled(limit, clock)
    failed, tops = 0, []
    for _ in range(3):
        done, failed = _burst_of_timeouts(limit, clock, done, failed)
        done, _ = _run(limit, clock, done, failed)
        tops.append(limit.limit)
    assert tops == [56, 49, 42]


def test_a_back_off_while_still_growing_lets_the_growth_judge_the_next_raises():
    """Early timeouts (slowest nodes first) must not fix a target: growth goes on as before."""
    limit, clock = limiter()
    done, _ = drive(limit, clock, 4, follows_the_limit, cpu=0.1)
    done, failed = _burst_of_timeouts(limit, clock, done, 0)
    drive(limit, clock, 120, follows_the_limit, done=done, failed=failed, cpu=0.1)
    assert limit.limit == 512
