"""Finding gpu-evaluator pools and their endpoints: statically (local) or from the Kubernetes API.

A *pool* is a set of gpu-evaluator replicas on one kind of GPU (``h100``, ``a100``...). Callers
(translator, evolver) ask a :class:`PoolDirectory` for the current pools, pick one for a GPU model
with :func:`choose_pool`, and spread calls over its endpoints with an :class:`EndpointBalancer`
(:class:`PoolRouter` does both).

Two directories, one protocol:

* :class:`StaticPoolDirectory` — from settings, ``KW_<SERVICE>_EVALUATOR_POOLS``, either
  ``h100=127.0.0.1:50054,127.0.0.1:50064;a100=10.0.0.5:50054`` (``name@gpu-product=...`` adds the
  product) or JSON ``{"h100": ["127.0.0.1:50054"], "t4": {"endpoints": [...], "gpu_product": "..."}}``.
* :class:`KubernetesPoolDirectory` — list + watch of **Pods** labelled
  ``app.kubernetes.io/component=gpu-evaluator`` with ``kernelwright.dev/evaluator-pool=<name>`` and
  ``kernelwright.dev/gpu-product=<product>``; an endpoint is a ready pod's ``podIP:<port named grpc>``.

Why Pods and not EndpointSlices: the pool and GPU-product labels live on the pods, and a pod
carries readiness, IP, port and labels in one object, so one watch gives everything with no
assumption about how the chart shapes Services (an EndpointSlice carries no pod labels: it would
need one Service per pool). The cost is more events (every pod status update), negligible for
pools of a few replicas. RBAC needed: ``get, list, watch`` on ``pods`` in the namespace.

The watch runs in one daemon thread (the official client is blocking) and hands snapshots to the
event loop; it resumes from the last resourceVersion (bookmarks on), re-lists on 410 Gone, and
backs off exponentially with jitter on any other error, keeping the last known pools meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BeforeValidator, Field
from pydantic_settings import NoDecode

from kernelwright.core.logger import get_logger
from kernelwright.core.settings import ServiceSettings

if TYPE_CHECKING:
    from kubernetes import client as k8s_client

log = get_logger("kernelwright.discovery")

COMPONENT_LABEL = "app.kubernetes.io/component"
COMPONENT_VALUE = "gpu-evaluator"
POOL_LABEL = "kernelwright.dev/evaluator-pool"
PRODUCT_LABEL = "kernelwright.dev/gpu-product"
SHARED_LABEL = "kernelwright.dev/shared-gpu"   # "true" (the chart sets it); a -SHARED product suffix means the same
GRPC_PORT_NAME = "grpc"
DEFAULT_GRPC_PORT = 50054
SHARED_SUFFIX = "-SHARED"                       # GPU feature discovery's suffix for time-sliced GPUs
SERVICEACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


# --------------------------------------------------------------------------------------------
# Model


@dataclass(frozen=True)
class Pool:
    """One evaluator pool. ``endpoints`` are ``host:port`` strings of *ready* replicas, sorted.

    ``pods`` counts replicas seen, ready or not (a pool with pods but no endpoints is starting or
    failing, which routing errors report). ``shared``: time-sliced GPU; verifies, never times.
    """

    name: str
    gpu_product: str = ""
    endpoints: tuple[str, ...] = ()
    shared: bool = False
    pods: int = 0

    def describe(self) -> str:
        bits = [self.gpu_product or "product unknown"]
        if self.shared:
            bits.append("shared")
        bits.append(f"{len(self.endpoints)}/{self.pods} ready" if self.pods else f"{len(self.endpoints)} endpoints")
        return f"{self.name} ({', '.join(bits)})"


def is_shared_product(gpu_product: str) -> bool:
    return gpu_product.upper().endswith(SHARED_SUFFIX)


class PoolConfigError(ValueError):
    """Static pool configuration that cannot be parsed; the message says where and why."""


class NoPoolForGpu(LookupError):
    """No usable pool for the requested GPU; the message names every pool that exists."""

    def __init__(self, message: str, requested: str | None, available: Mapping[str, Pool]) -> None:
        super().__init__(message)
        self.requested = requested
        self.available = dict(available)


# --------------------------------------------------------------------------------------------
# Static configuration

_POOL_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")   # a label value
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$")


def parse_endpoint(text: str) -> str:
    """Validate ``host:port`` (``[v6]:port`` for IPv6) and return it stripped."""
    ep = text.strip()
    host, sep, port = ep.rpartition(":")
    if not sep or not host:
        raise PoolConfigError(f"endpoint {ep!r} is not host:port")
    if not _HOST.match(host):
        raise PoolConfigError(f"endpoint {ep!r}: bad host {host!r} (IPv6 goes in brackets: [::1]:50054)")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise PoolConfigError(f"endpoint {ep!r}: port must be 1-65535, got {port!r}")
    return f"{host}:{int(port)}"


def _make_pool(name: str, endpoints: Iterable[Any], gpu_product: str = "", shared: bool | None = None) -> Pool:
    name = str(name).strip()
    if not _POOL_NAME.match(name):
        raise PoolConfigError(f"pool name {name!r} must be 1-63 letters, digits, '-', '_' or '.', "
                              "starting and ending with a letter or digit")
    eps = []
    for e in endpoints:
        if not isinstance(e, str):
            raise PoolConfigError(f"pool {name}: endpoint {e!r} is not a string")
        eps.append(parse_endpoint(e))
    if not eps:
        raise PoolConfigError(f"pool {name} has no endpoints")
    dupes = sorted(e for e, n in Counter(eps).items() if n > 1)
    if dupes:
        raise PoolConfigError(f"pool {name}: endpoint listed twice: {', '.join(dupes)}")
    gpu_product = str(gpu_product).strip()
    shared = is_shared_product(gpu_product) if shared is None else bool(shared)
    return Pool(name, gpu_product, tuple(sorted(eps)), shared, pods=len(eps))


def parse_static_pools(text: str) -> dict[str, Pool]:
    """Parse ``KW_<SERVICE>_EVALUATOR_POOLS``. Empty text: no pools.

    Simple form: ``name[@gpu-product]=host:port,host:port;name2=...`` (``;`` or newlines between
    pools). JSON form (starts with ``{``): ``{"name": ["host:port", ...]}`` or
    ``{"name": {"endpoints": [...], "gpu_product": "...", "shared": false}}``.
    A product ending in ``-SHARED`` marks the pool shared unless ``shared`` says otherwise.
    """
    text = (text or "").strip()
    if not text:
        return {}
    if text.startswith("{"):
        return _parse_json_pools(text)
    pools: dict[str, Pool] = {}
    for n, item in enumerate(re.split(r"[;\n]", text), 1):
        item = item.strip()
        if not item:
            continue
        head, sep, tail = item.partition("=")
        if not sep:
            raise PoolConfigError(f"pool #{n} {item!r}: expected name=host:port[,host:port...]")
        name, _, product = head.partition("@")
        endpoints = [e for e in (p.strip() for p in tail.split(",")) if e]
        try:
            pool = _make_pool(name, endpoints, product)
        except PoolConfigError as e:
            raise PoolConfigError(f"pool #{n} {item!r}: {e}") from None
        if pool.name in pools:
            raise PoolConfigError(f"pool {pool.name!r} is defined twice")
        pools[pool.name] = pool
    return pools


def _parse_json_pools(text: str) -> dict[str, Pool]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise PoolConfigError(f"evaluator pools JSON is invalid: {e}") from None
    if not isinstance(data, dict):
        raise PoolConfigError("evaluator pools JSON must be an object {pool name: endpoints}")
    pools: dict[str, Pool] = {}
    for name, spec in data.items():
        if isinstance(spec, list):
            spec = {"endpoints": spec}
        if not isinstance(spec, dict):
            raise PoolConfigError(f"pool {name!r}: expected a list of endpoints or an object, got {type(spec).__name__}")
        unknown = set(spec) - {"endpoints", "gpu_product", "shared"}
        if unknown:
            raise PoolConfigError(f"pool {name!r}: unknown keys {sorted(unknown)} (allowed: endpoints, gpu_product, shared)")
        eps = spec.get("endpoints", [])
        if isinstance(eps, str):
            eps = [e for e in eps.split(",") if e.strip()]
        if not isinstance(eps, list):
            raise PoolConfigError(f"pool {name!r}: endpoints must be a list")
        try:
            pools[str(name)] = _make_pool(name, eps, spec.get("gpu_product", "") or "", spec.get("shared"))
        except PoolConfigError as e:
            raise PoolConfigError(f"pool {name!r}: {e}") from None
    return pools


def _coerce_pools(value: Any) -> Any:
    if value is None:
        return {}
    if isinstance(value, str):
        return parse_static_pools(value)
    if isinstance(value, Mapping) and all(isinstance(v, Pool) for v in value.values()):
        return dict(value)
    if isinstance(value, Mapping):
        return _parse_json_pools(json.dumps(value))
    raise PoolConfigError(f"evaluator pools: expected a string or mapping, got {type(value).__name__}")


#: A settings field type: ``evaluator_pools: StaticPools = {}`` reads the simple form or JSON
#: from the environment (``NoDecode``: pydantic-settings does not try JSON first).
StaticPools = Annotated[dict[str, Pool], NoDecode, BeforeValidator(_coerce_pools)]


class DiscoverySettings(ServiceSettings):
    """Fields a service that calls evaluators adds (subclass this instead of ServiceSettings).

    ``KW_<SERVICE>_EVALUATOR_DISCOVERY``: ``static`` (the pools below), ``kubernetes`` (the API),
    ``auto`` (static when pools are given, else kubernetes when running in a cluster, else none).
    """

    evaluator_discovery: Literal["auto", "static", "kubernetes"] = "auto"
    evaluator_pools: StaticPools = Field(default_factory=dict, description=(
        "h100=127.0.0.1:50054,127.0.0.1:50064;a100@NVIDIA-A100-SXM4-80GB=10.0.0.5:50054, or JSON"))
    evaluator_namespace: str = Field("", description="Namespace to watch; empty: the pod's own (service account).")
    evaluator_selector: str = Field("", description="Extra label selector ANDed with the component one, "
                                    "e.g. app.kubernetes.io/instance=kw.")
    evaluator_cooldown_s: float = Field(30.0, ge=0.0, description="An endpoint that failed is skipped this long.")


def directory_from_settings(settings: DiscoverySettings) -> PoolDirectory:
    mode = settings.evaluator_discovery
    if mode == "auto":
        in_cluster = bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        mode = "static" if settings.evaluator_pools or not in_cluster else "kubernetes"
    if mode == "static":
        return StaticPoolDirectory(settings.evaluator_pools)
    return KubernetesPoolDirectory(namespace=settings.evaluator_namespace or None,
                                   extra_selector=settings.evaluator_selector)


# --------------------------------------------------------------------------------------------
# Directories

PoolsCallback = Callable[[dict[str, Pool]], None]


@runtime_checkable
class PoolDirectory(Protocol):
    changed: asyncio.Event   # set on every change; a waiter clears it

    def pools(self) -> dict[str, Pool]: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def subscribe(self, callback: PoolsCallback) -> Callable[[], None]: ...
    async def wait_for(self, predicate: Callable[[dict[str, Pool]], bool], timeout: float) -> dict[str, Pool]: ...


class _DirectoryBase:
    """Snapshot, subscribers and change notification; all on the event loop."""

    def __init__(self) -> None:
        self._pools: dict[str, Pool] = {}
        self._subscribers: list[PoolsCallback] = []
        self.changed = asyncio.Event()
        self._tick = asyncio.Event()   # replaced on every change; wait_for waits on the current one
        self.version = 0

    def pools(self) -> dict[str, Pool]:
        return dict(self._pools)

    def subscribe(self, callback: PoolsCallback) -> Callable[[], None]:
        """``callback(pools)`` runs on the event loop after every change; returns an unsubscribe."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def _publish(self, pools: dict[str, Pool]) -> None:
        if pools == self._pools:
            return
        self._pools = pools
        self.version += 1
        self.changed.set()
        for cb in list(self._subscribers):
            try:
                cb(dict(pools))
            except Exception:  # noqa: BLE001 - one bad subscriber must not stop the others
                log.exception("pool subscriber failed")
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    async def wait_for(self, predicate: Callable[[dict[str, Pool]], bool], timeout: float) -> dict[str, Pool]:
        """Wait until ``predicate(pools)`` holds; raises TimeoutError (naming the pools) after ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate(self.pools()):
                    await self._tick.wait()
        except TimeoutError:
            raise TimeoutError(f"pools did not reach the expected state in {timeout}s; now: "
                               f"{[p.describe() for p in self._pools.values()]}") from None
        return self.pools()


class StaticPoolDirectory(_DirectoryBase):
    """Pools fixed at start-up (local runs, tests, a cluster without API access)."""

    def __init__(self, pools: Mapping[str, Pool] | str) -> None:
        super().__init__()
        self._pools = parse_static_pools(pools) if isinstance(pools, str) else dict(pools)
        if self._pools:
            self.changed.set()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class _Gone(Exception):
    """The resourceVersion expired (HTTP 410 or a watch ERROR event with code 410)."""


class Backoff:
    """Exponential backoff with full-ish jitter: ``initial * 2**n`` capped, times U(0.5, 1)."""

    def __init__(self, initial_s: float = 0.5, max_s: float = 30.0, rng: random.Random | None = None) -> None:
        self.initial_s, self.max_s = initial_s, max_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        delay = min(self.max_s, self.initial_s * (2 ** self.attempt))
        self.attempt += 1
        return delay * self._rng.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.attempt = 0


def _pod_endpoint(pod: Mapping[str, Any], default_port: int) -> str | None:
    """``ip:port`` of a pod that can take traffic now, else None."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    if meta.get("deletionTimestamp") or status.get("phase") != "Running":
        return None
    ip = status.get("podIP")
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    if not ip or not ready:
        return None
    port = default_port
    for container in spec.get("containers") or []:
        named = [p for p in container.get("ports") or [] if p.get("name") == GRPC_PORT_NAME]
        if named:
            port = int(named[0]["containerPort"])
            break
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def pools_from_pods(pods: Iterable[Mapping[str, Any]], default_port: int = DEFAULT_GRPC_PORT) -> dict[str, Pool]:
    """Group pods by pool label; a pool exists while any of its pods does, ready or not."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for pod in pods:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        name = labels.get(POOL_LABEL)
        if name:
            grouped.setdefault(name, []).append(pod)
    pools = {}
    for name, members in sorted(grouped.items()):
        labels = [(p.get("metadata") or {}).get("labels") or {} for p in members]
        products = Counter(lb.get(PRODUCT_LABEL, "") for lb in labels)
        product = products.most_common(1)[0][0]
        if len(products) > 1:
            log.warning("pool pods disagree on gpu product", pool=name, products=dict(products))
        shared = is_shared_product(product) or any(lb.get(SHARED_LABEL, "").lower() == "true" for lb in labels)
        endpoints = sorted({ep for p in members if (ep := _pod_endpoint(p, default_port))})
        pools[name] = Pool(name, product, tuple(endpoints), shared, pods=len(members))
    return pools


def _default_namespace() -> str:
    try:
        with open(SERVICEACCOUNT_NAMESPACE, encoding="utf-8") as f:
            return f.read().strip() or "default"
    except OSError:
        return "default"


def _default_api_client() -> k8s_client.ApiClient:
    from kubernetes import client, config

    cfg = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=cfg)
    except config.ConfigException:
        config.load_kube_config(client_configuration=cfg)
    return client.ApiClient(cfg)


class KubernetesPoolDirectory(_DirectoryBase):
    """Pools from a list + watch of evaluator pods; changes arrive without a restart.

    ``api_client``: a ``kubernetes.client.ApiClient`` (tests point one at an emulator); default:
    in-cluster config, else ``~/.kube/config``. ``start()`` waits up to ``initial_sync_timeout_s``
    for the first list and then returns either way (pools fill in once the API answers).
    """

    def __init__(self, namespace: str | None = None, *, api_client: k8s_client.ApiClient | None = None,
                 extra_selector: str = "", default_port: int = DEFAULT_GRPC_PORT,
                 watch_timeout_s: int = 300, connect_timeout_s: float = 10.0,
                 backoff_initial_s: float = 0.5, backoff_max_s: float = 30.0,
                 initial_sync_timeout_s: float = 10.0) -> None:
        super().__init__()
        self.namespace = namespace or _default_namespace()
        self.label_selector = ",".join(s for s in (f"{COMPONENT_LABEL}={COMPONENT_VALUE}", POOL_LABEL,
                                                    extra_selector.strip()) if s)
        self._api_client = api_client
        self._owns_client = api_client is None
        self._default_port = default_port
        self._watch_timeout_s = watch_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._backoff = Backoff(backoff_initial_s, backoff_max_s)
        self._initial_sync_timeout_s = initial_sync_timeout_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._synced = asyncio.Event()
        self._resp: Any = None
        self._fresh_list = False
        self._pods: dict[str, dict[str, Any]] = {}      # uid -> pod; owned by the watch thread
        self.resource_version: str | None = None
        # Counters for logs, metrics and tests: lists done, watches opened, 410s seen, errors.
        self.stats = {"lists": 0, "watches": 0, "gone": 0, "errors": 0}
        self.last_error: str = ""

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    async def start(self) -> None:
        if self._thread is not None:
            return
        self._loop = asyncio.get_running_loop()
        if self._api_client is None:
            self._api_client = await asyncio.to_thread(_default_api_client)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kw-pool-watch", daemon=True)
        self._thread.start()
        try:
            await asyncio.wait_for(self._synced.wait(), self._initial_sync_timeout_s)
        except TimeoutError:
            log.warning("evaluator pools not listed yet; going on, they fill in when the API answers",
                        namespace=self.namespace, error=self.last_error)

    async def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        self._abort_stream()
        await asyncio.to_thread(thread.join, self._connect_timeout_s + 5)
        if self._owns_client and self._api_client is not None:
            self._api_client.close()
            self._api_client = None   # a later start() makes a fresh one

    # ---- watch thread -------------------------------------------------------------------

    def _abort_stream(self) -> None:
        resp = self._resp
        if resp is None:
            return
        try:
            resp.shutdown()   # unblocks a read in the watch thread (urllib3 >= 2.3)
        except Exception:  # noqa: BLE001
            pass

    def _run(self) -> None:
        from kubernetes.client.exceptions import ApiException

        core = self._core()
        while not self._stop.is_set():
            try:
                self._fresh_list = False
                if self.resource_version is None:
                    self._list(core)
                    self._fresh_list = True
                self._watch(core)
                self._backoff.reset()
            except Exception as e:  # noqa: BLE001 - any API or network error: back off and retry
                if self._stop.is_set():
                    break
                if isinstance(e, _Gone) or (isinstance(e, ApiException) and e.status == 410):
                    # Expired resourceVersion: re-list at once; only a 410 right after a re-list
                    # (a confused server) waits like an error.
                    self.stats["gone"] += 1
                    log.info("resourceVersion expired; re-listing", namespace=self.namespace)
                    relisted_just_now = self.resource_version is None or self._fresh_list
                    self.resource_version = None
                    if relisted_just_now:
                        self._stop.wait(self._backoff.next())
                    continue
                self.stats["errors"] += 1
                status = getattr(e, "status", None)
                self.last_error = f"{type(e).__name__}: {status or ''} {getattr(e, 'reason', '') or e}".strip()
                delay = self._backoff.next()
                log.warning("evaluator pod watch failed; retrying", error=self.last_error,
                            retry_in_s=round(delay, 2), namespace=self.namespace)
                self._stop.wait(delay)

    def _core(self) -> k8s_client.CoreV1Api:
        from kubernetes import client

        return client.CoreV1Api(self._api_client)

    def _list(self, core: k8s_client.CoreV1Api) -> None:
        resp = core.list_namespaced_pod(self.namespace, label_selector=self.label_selector,
                                        _preload_content=False,
                                        _request_timeout=(self._connect_timeout_s, self._connect_timeout_s + 20))
        try:
            body = json.loads(resp.data)
        finally:
            resp.release_conn()
        self.stats["lists"] += 1
        self._pods = {self._key(p): p for p in body.get("items") or []}
        self.resource_version = (body.get("metadata") or {}).get("resourceVersion") or None
        self._emit()
        self._loop_call(self._synced.set)

    def _watch(self, core: k8s_client.CoreV1Api) -> None:
        resp = core.list_namespaced_pod(
            self.namespace, label_selector=self.label_selector, watch=True, allow_watch_bookmarks=True,
            resource_version=self.resource_version, timeout_seconds=self._watch_timeout_s,
            _preload_content=False,
            _request_timeout=(self._connect_timeout_s, self._watch_timeout_s + 30))
        self.stats["watches"] += 1
        self._resp = resp
        try:
            if self._stop.is_set():
                return
            for line in _lines(resp):
                if self._stop.is_set():
                    return
                if line.strip():
                    self._on_event(json.loads(line))
        finally:
            self._resp = None
            resp.release_conn()

    def _on_event(self, event: Mapping[str, Any]) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            code = obj.get("code")
            if code == 410:
                raise _Gone(obj.get("message", ""))
            raise RuntimeError(f"watch error {code}: {obj.get('reason', '')} {obj.get('message', '')}".strip())
        self._fresh_list = False
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if kind == "BOOKMARK":
            self.resource_version = rv or self.resource_version
            return
        if kind in ("ADDED", "MODIFIED"):
            self._pods[self._key(obj)] = obj
        elif kind == "DELETED":
            self._pods.pop(self._key(obj), None)
        else:
            log.warning("unknown watch event", type=kind)
            return
        self.resource_version = rv or self.resource_version
        self._emit()

    @staticmethod
    def _key(pod: Mapping[str, Any]) -> str:
        meta = pod.get("metadata") or {}
        return meta.get("uid") or f"{meta.get('namespace')}/{meta.get('name')}"

    def _emit(self) -> None:
        self._loop_call(self._publish, pools_from_pods(self._pods.values(), self._default_port))

    def _loop_call(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:   # loop closed meanwhile
                pass


def _lines(resp: Any) -> Iterable[str]:
    """JSON lines of a streamed watch response."""
    buf = b""
    for chunk in resp.stream(amt=None, decode_content=True):
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line.decode("utf-8", errors="replace")
    if buf.strip():
        yield buf.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------------------------
# Routing

_VENDOR_TOKENS = {"nvidia", "tesla"}


def gpu_tokens(text: str) -> list[str]:
    """``"NVIDIA H100 80GB HBM3"``, ``"NVIDIA-H100-80GB-HBM3"`` -> ``["h100", "80gb", "hbm3"]``.

    Lower-cased alphanumeric runs; vendor words and the time-slicing ``shared`` suffix dropped.
    """
    tokens = re.findall(r"[a-z0-9]+", text.lower())
    if tokens and tokens[-1] == "shared":
        tokens = tokens[:-1]
    return [t for t in tokens if t not in _VENDOR_TOKENS]


def _contains(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def _match_rank(pool: Pool, requested: str) -> int | None:
    """0 pool name, 1 exact product, 2 product contains the request's words, 3 name contains them."""
    req = gpu_tokens(requested)
    if not req:
        return None
    name, product = gpu_tokens(pool.name), gpu_tokens(pool.gpu_product)
    if req == name:
        return 0
    if product and req == product:
        return 1
    if _contains(product, req):
        return 2
    if _contains(name, req):
        return 3
    return None


def choose_pool(pools: Mapping[str, Pool], requested_gpu: str | None = None, *, allow_shared: bool = False) -> Pool:
    """The pool to send a candidate to for ``requested_gpu`` ("h100", "NVIDIA H100 80GB HBM3", a pool name).

    Among matching pools with at least one endpoint, the best match wins (pool name, then exact
    product, then product words), then the most endpoints, then the name. Shared (time-sliced)
    pools are refused unless ``allow_shared`` (their timings are other tenants' noise). An empty
    request means any non-shared pool with endpoints. Raises :class:`NoPoolForGpu` otherwise.
    """
    requested = (requested_gpu or "").strip()
    matches: list[tuple[int, Pool]] = []
    for pool in pools.values():
        rank = 0 if not requested else _match_rank(pool, requested)
        if rank is not None:
            matches.append((rank, pool))
    usable = [(r, p) for r, p in matches if p.endpoints and (allow_shared or not p.shared)]
    if usable:
        return min(usable, key=lambda rp: (rp[0], -len(rp[1].endpoints), rp[1].name))[1]

    what = f"GPU {requested!r}" if requested else "any GPU"
    available = ", ".join(p.describe() for p in sorted(pools.values(), key=lambda p: p.name)) or "none"
    reasons = []
    for _, p in sorted(matches, key=lambda rp: rp[1].name):
        if not p.endpoints:
            reasons.append(f"{p.name} has no ready endpoints")
        elif p.shared:
            reasons.append(f"{p.name} is shared (time-sliced GPU: verify-only; pass allow_shared=True)")
    why = f"; matching but unusable: {'; '.join(reasons)}" if reasons else ""
    raise NoPoolForGpu(f"no evaluator pool for {what}{why}; pools: {available}", requested or None, pools)


class EndpointBalancer:
    """Round-robin over a pool's endpoints, skipping one for ``cooldown_s`` after a failure.

    Thread-safe. When every endpoint is cooling down, ``next()`` returns the one whose cooldown
    ends first rather than nothing (the caller's own retry decides); ``update()`` follows the
    directory, keeping health marks and the rotation position of endpoints that remain.
    """

    def __init__(self, endpoints: Iterable[str] = (), cooldown_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._endpoints: list[str] = []
        self._down_until: dict[str, float] = {}
        self._next = 0
        self.update(endpoints)

    @property
    def endpoints(self) -> list[str]:
        return list(self._endpoints)

    def update(self, endpoints: Iterable[str]) -> None:
        new = list(dict.fromkeys(endpoints))
        with self._lock:
            if new == self._endpoints:
                return
            current = self._endpoints[self._next % len(self._endpoints)] if self._endpoints else None
            self._endpoints = new
            self._down_until = {e: t for e, t in self._down_until.items() if e in new}
            self._next = new.index(current) if current in new else 0

    def healthy(self) -> list[str]:
        now = self._clock()
        with self._lock:
            return [e for e in self._endpoints if self._down_until.get(e, 0.0) <= now]

    def next(self) -> str:
        with self._lock:
            if not self._endpoints:
                raise LookupError("no endpoints to balance over")
            now = self._clock()
            n = len(self._endpoints)
            for i in range(n):
                ep = self._endpoints[(self._next + i) % n]
                if self._down_until.get(ep, 0.0) <= now:
                    self._next = (self._next + i + 1) % n
                    return ep
            ep = min(self._endpoints, key=lambda e: self._down_until[e])
            self._next = (self._endpoints.index(ep) + 1) % n
            return ep

    def mark_failed(self, endpoint: str) -> None:
        with self._lock:
            if endpoint in self._endpoints:
                self._down_until[endpoint] = self._clock() + self.cooldown_s

    def mark_ok(self, endpoint: str) -> None:
        with self._lock:
            self._down_until.pop(endpoint, None)


class PoolRouter:
    """``pick(gpu) -> (pool, endpoint)`` over a directory, one balancer per pool."""

    def __init__(self, directory: PoolDirectory, cooldown_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.directory = directory
        self._cooldown_s, self._clock = cooldown_s, clock
        self._balancers: dict[str, EndpointBalancer] = {}

    def balancer(self, pool: Pool) -> EndpointBalancer:
        b = self._balancers.get(pool.name)
        if b is None:
            b = self._balancers[pool.name] = EndpointBalancer(pool.endpoints, self._cooldown_s, self._clock)
        else:
            b.update(pool.endpoints)
        return b

    def pick(self, requested_gpu: str | None = None, *, allow_shared: bool = False) -> tuple[Pool, str]:
        pool = choose_pool(self.directory.pools(), requested_gpu, allow_shared=allow_shared)
        return pool, self.balancer(pool).next()

    def report(self, pool_name: str, endpoint: str, ok: bool) -> None:
        b = self._balancers.get(pool_name)
        if b is not None:
            (b.mark_ok if ok else b.mark_failed)(endpoint)
