"""KubernetesPoolDirectory against the in-process API emulator, through the real kubernetes client.

Every wait is on a condition (directory state or an emulator request) with a timeout; no sleeps.
"""

from __future__ import annotations

import asyncio

import pytest
from kubernetes import client

from kernelwright.core.discovery import KubernetesPoolDirectory, Pool, PoolDirectory, choose_pool

from .k8s_emulator import K8sEmulator

pytestmark = pytest.mark.integration

WAIT = 10.0


@pytest.fixture
def emulator():
    with K8sEmulator(namespace="kw") as emu:
        yield emu


def make_directory(emu: K8sEmulator, **kwargs) -> KubernetesPoolDirectory:
    cfg = client.Configuration(host=emu.host)
    kwargs.setdefault("backoff_initial_s", 0.05)
    kwargs.setdefault("backoff_max_s", 0.4)
    return KubernetesPoolDirectory("kw", api_client=client.ApiClient(cfg), **kwargs)


@pytest.fixture
async def directory(emulator):
    made: list[KubernetesPoolDirectory] = []

    async def start(**kwargs) -> KubernetesPoolDirectory:
        d = make_directory(emulator, **kwargs)
        made.append(d)
        await d.start()
        if d.synced:   # the first watch is open: later request counts start from a steady state
            await emulator.await_request(lambda r: r.watch and r.status == 200, timeout=WAIT)
        return d

    yield start
    for d in made:
        await d.stop()


def endpoints(pools: dict[str, Pool], name: str) -> tuple[str, ...]:
    return pools[name].endpoints if name in pools else ()


async def test_pools_found_by_label(emulator, directory):
    emulator.add_pod("eval-h100-0", pool="h100", ip="127.0.1.1")
    emulator.add_pod("eval-h100-1", pool="h100", ip="127.0.1.2", grpc_port=50064)
    emulator.add_pod("eval-t4-0", pool="t4", gpu_product="Tesla-T4-SHARED", ip="127.0.2.1")
    emulator.add_pod("eval-noport", pool="a100", gpu_product="NVIDIA-A100-SXM4-80GB", ip="127.0.3.1", grpc_port=None)
    # Not ours: another component, a pod without a pool label, another namespace.
    emulator.add_pod("converter-0", pool="h100", ip="127.0.9.1", labels={"app.kubernetes.io/component": "converter"})
    emulator.add_pod("eval-nopool", pool=None, ip="127.0.9.2")
    emulator.add_pod("eval-elsewhere", pool="h100", ip="127.0.9.3", namespace="other")

    d = await directory()
    assert d.synced
    assert isinstance(d, PoolDirectory)
    pools = d.pools()
    assert set(pools) == {"h100", "t4", "a100"}
    assert pools["h100"] == Pool("h100", "NVIDIA-H100-80GB-HBM3", ("127.0.1.1:50054", "127.0.1.2:50064"), False, 2)
    assert pools["t4"].shared and pools["t4"].endpoints == ("127.0.2.1:50054",)
    assert pools["a100"].endpoints == ("127.0.3.1:50054",)   # no port named grpc: the default
    list_req = await emulator.await_request(lambda r: not r.watch)
    assert list_req.query["labelSelector"] == ("app.kubernetes.io/component=gpu-evaluator,"
                                               "kernelwright.dev/evaluator-pool")
    assert choose_pool(pools, "NVIDIA H100 80GB HBM3").name == "h100"


async def test_new_pool_picked_up_without_restart(emulator, directory):
    emulator.add_pod("eval-h100-0", pool="h100", ip="127.0.1.1")
    d = await directory()
    assert set(d.pools()) == {"h100"}
    seen: list[set[str]] = []
    d.subscribe(lambda pools: seen.append(set(pools)))

    emulator.add_pod("eval-a100-0", pool="a100", gpu_product="NVIDIA-A100-SXM4-80GB", ip="127.0.3.1")
    pools = await d.wait_for(lambda p: "a100" in p, WAIT)
    assert pools["a100"].endpoints == ("127.0.3.1:50054",)
    assert d.changed.is_set()
    assert seen and seen[-1] == {"h100", "a100"}
    assert d.stats["lists"] == 1          # the watch carried it: no re-list

    emulator.delete_pod("eval-a100-0")    # and a pool whose last pod goes disappears
    await d.wait_for(lambda p: "a100" not in p, WAIT)


async def test_unready_and_deleted_pods_drop_endpoints(emulator, directory):
    emulator.add_pod("eval-h100-0", pool="h100", ip="127.0.1.1")
    emulator.add_pod("eval-h100-1", pool="h100", ip="127.0.1.2")
    d = await directory()
    assert endpoints(d.pools(), "h100") == ("127.0.1.1:50054", "127.0.1.2:50054")

    emulator.set_ready("eval-h100-0", False)
    pools = await d.wait_for(lambda p: endpoints(p, "h100") == ("127.0.1.2:50054",), WAIT)
    assert pools["h100"].pods == 2        # still there, just not ready

    emulator.set_ready("eval-h100-0", True)
    await d.wait_for(lambda p: len(endpoints(p, "h100")) == 2, WAIT)

    def terminating(pod):
        pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    emulator.modify_pod("eval-h100-1", terminating)
    await d.wait_for(lambda p: endpoints(p, "h100") == ("127.0.1.1:50054",), WAIT)

    emulator.delete_pod("eval-h100-1")
    emulator.set_ready("eval-h100-0", False)
    pools = await d.wait_for(lambda p: p["h100"].pods == 1 and not p["h100"].endpoints, WAIT)
    with pytest.raises(LookupError, match="h100 has no ready endpoints"):
        choose_pool(pools, "h100")


async def test_gone_triggers_relist(emulator, directory):
    emulator.add_pod("eval-h100-0", pool="h100", ip="127.0.1.1")
    d = await directory()
    rv_before = d.resource_version
    n = len(emulator.requests)

    # The client falls behind while its watch is down, and the server forgets that history.
    emulator.hold_watches()
    emulator.close_watches()
    await emulator.await_request(lambda r: r.watch, after=n)            # the reconnect, held at the gate
    emulator.add_pod("eval-a100-0", pool="a100", gpu_product="NVIDIA-A100-SXM4-80GB", ip="127.0.3.1")
    emulator.compact()
    emulator.release_watches()

    pools = await d.wait_for(lambda p: "a100" in p, WAIT)
    assert set(pools) == {"h100", "a100"}
    assert d.stats["gone"] == 1 and d.stats["lists"] == 2
    relist = await emulator.await_request(lambda r: not r.watch, after=n)
    assert "resourceVersion" not in relist.query
    assert int(d.resource_version) > int(rv_before)
    # And it keeps watching from the new list.
    emulator.add_pod("eval-h100-1", pool="h100", ip="127.0.1.2")
    await d.wait_for(lambda p: len(endpoints(p, "h100")) == 2, WAIT)


async def test_api_errors_back_off_and_recover(emulator, directory):
    emulator.add_pod("eval-h100-0", pool="h100", ip="127.0.1.1")
    d = await directory(backoff_initial_s=0.1, backoff_max_s=2.0)
    n = len(emulator.requests)

    emulator.fail_next(3, status=500)
    emulator.close_watches()
    await emulator.await_request(lambda r: r.status == 200, after=n + 3, timeout=WAIT)   # 3 failures, then OK
    failed = emulator.requests[n:n + 3]
    assert [r.status for r in failed] == [500, 500, 500]
    assert d.stats["errors"] == 3
    assert "500" in d.last_error
    # Backed off: at least 0.5 * 0.1, 0.5 * 0.2, 0.5 * 0.4 s between attempts (jitter is 0.5-1).
    gaps = [b.time - a.time for a, b in zip(emulator.requests[n:n + 4], emulator.requests[n + 1:n + 4])]
    assert gaps[0] >= 0.1 * 0.5 * 0.9 and gaps[1] >= 0.2 * 0.5 * 0.9 and gaps[2] >= 0.4 * 0.5 * 0.9, gaps
    # Meanwhile the last known pools stayed; after recovery, changes flow again.
    assert "h100" in d.pools()
    emulator.add_pod("eval-h100-1", pool="h100", ip="127.0.1.2")
    await d.wait_for(lambda p: len(endpoints(p, "h100")) == 2, WAIT)


async def test_start_does_not_block_when_api_is_down(emulator, directory):
    emulator.add_pod("eval-h100-0", pool="h100", ip="127.0.1.1")
    emulator.fail_next(2, status=503)
    d = await directory(initial_sync_timeout_s=0.01)
    # start() returned before the first successful list; pools fill in once the API answers.
    pools = await d.wait_for(lambda p: "h100" in p, WAIT)
    assert pools["h100"].endpoints == ("127.0.1.1:50054",)
    assert d.stats["errors"] >= 1


async def test_stop_ends_the_watch_thread(emulator):
    d = make_directory(emulator)
    await d.start()
    thread = d._thread
    assert thread is not None and thread.is_alive()
    await asyncio.wait_for(d.stop(), WAIT)
    assert not thread.is_alive()
