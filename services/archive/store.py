"""ArchiveStore: one facade over embedded-on-disk, in-memory and remote Qdrant back ends.

Storage model: one Qdrant collection (default ``"kernels"``), one point per kernel, point id =
``ArchiveEntry.id`` (a UUID), payload = every ``ArchiveEntry`` field plus ``dedup_key``, and two
named vectors: dense ``"graph"`` (cosine, :data:`features.DENSE_DIM`) and sparse ``"code"``.

Back ends:

* ``open(path=...)``: embedded qdrant-client local mode on disk (sqlite inside the folder). The
  folder is locked by the opener; a second opener gets :class:`ArchiveLocked`.
* ``open(memory=True)``: local mode in memory (tests).
* ``open(url=...)``: a Qdrant server / cluster; retrieval runs server-side.

Retrieval: embedded back ends search with :class:`index.EmbeddedIndex` (local mode is far too slow
for filtered / sparse queries); the remote back end sends the same plan to the server as one
``query_points`` call (dense prefetch, sparse re-rank of the dense candidates, weighted RRF).

De-duplication: key = sha256(normalized cuda_source) + hardware. See docs/archive.md.
"""

from __future__ import annotations

import os
import threading
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator

import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from . import features
from .codehash import code_hash as _code_hash
from .entry import SOURCE_KERNELWRIGHT, ArchiveEntry, new_id, now
from .errors import ArchiveClosed, ArchiveError, ArchiveLocked
from .index import EmbeddedIndex, RowMeta
from .query import (
    RRF_K,
    W_CODE,
    W_GRAPH,
    ArchiveStats,
    PutResult,
    SearchHit,
    SearchQuery,
    candidates_for,
)

__all__ = [
    "ArchiveStore",
    "ArchiveEntry",
    "SearchQuery",
    "SearchHit",
    "PutResult",
    "ArchiveStats",
]

DENSE = "graph"
SPARSE = "code"
DEFAULT_BATCH = 256

# local mode warns about things we handle on purpose
warnings.filterwarnings("ignore", message=r"Local mode is not recommended", category=UserWarning)
warnings.filterwarnings("ignore", message=r"Payload indexes have no effect", category=UserWarning)

# payload fields with an index (remote) and their schema
PAYLOAD_INDEXES: dict[str, qm.PayloadSchemaType] = {
    "correct": qm.PayloadSchemaType.BOOL,
    "verified": qm.PayloadSchemaType.BOOL,
    "hardware": qm.PayloadSchemaType.KEYWORD,
    "task_name": qm.PayloadSchemaType.KEYWORD,
    "dedup_key": qm.PayloadSchemaType.KEYWORD,
    "code_hash": qm.PayloadSchemaType.KEYWORD,
    "format": qm.PayloadSchemaType.KEYWORD,
    "level": qm.PayloadSchemaType.INTEGER,
}
_META_FIELDS = ["correct", "verified", "hardware", "task_name", "format", "level", "dedup_key"]


def dedup_key(code_hash: str, hardware: str) -> str:
    """Same normalized code on different hardware is a different measurement -> different key."""
    if not code_hash:
        return ""
    return f"{code_hash}@{hardware}"


def _check_uuid(id: str) -> str:
    try:
        return str(uuid.UUID(str(id)))
    except (ValueError, AttributeError, TypeError) as e:
        raise ValueError(f"archive entry id must be a UUID string, got {id!r}") from e


def _entry_vectors(entry: ArchiveEntry) -> tuple[np.ndarray, tuple[list[int], list[float]]]:
    dense = features.dense_vector(entry.ops, entry.input_shapes, entry.input_dtypes)
    code_text = entry.functional_source or entry.module_source or entry.cuda_source
    return dense, features.sparse_vector(code_text)


def _meta(e: ArchiveEntry) -> RowMeta:
    return RowMeta(
        correct=bool(e.correct),
        verified=bool(e.verified),
        hardware=e.hardware,
        task_name=e.task_name,
        format=e.format,
        level=e.level,
        dedup_key=dedup_key(e.code_hash, e.hardware),
    )


class ArchiveStore:
    """Facade over the Qdrant back ends. Thread-safe (one lock per store)."""

    def __init__(self, client: QdrantClient, collection: str, kind: str, location: str) -> None:
        self._client: QdrantClient | None = client
        self.collection = collection
        self.kind = kind  # "disk" | "memory" | "remote"
        self.location = location
        self._lock = threading.RLock()
        self._index: EmbeddedIndex | None = None
        # "index" (in-process, embedded back ends) or "qdrant" (server-side plan; always used
        # for remote, selectable for embedded to cross-check the two engines in tests)
        self.search_engine = "qdrant" if kind == "remote" else "index"
        self._ensure_collection()
        if kind != "remote":
            self._tune_local_sqlite()
            self._index = EmbeddedIndex(features.DENSE_DIM)
            self._load_index()

    # ---- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | None = None,
        url: str | None = None,
        memory: bool = False,
        collection: str = "kernels",
        api_key: str | None = None,
    ) -> "ArchiveStore":
        """Open exactly one of: a folder (embedded), a server ``url``, or ``memory=True``."""
        chosen = sum([path is not None, url is not None, bool(memory)])
        if chosen != 1:
            raise ValueError("ArchiveStore.open needs exactly one of path=, url=, memory=True")
        if path is not None:
            path = os.path.expanduser(str(path))
            try:
                client = QdrantClient(path=str(path), force_disable_check_same_thread=True)
            except RuntimeError as e:
                if "already accessed" in str(e):
                    raise ArchiveLocked(str(path)) from None
                raise
            return cls(client, collection, "disk", str(path))
        if url is not None:
            client = QdrantClient(url=url, api_key=api_key)
            try:
                return cls(client, collection, "remote", url)
            except Exception as e:
                client.close()
                if isinstance(e, ArchiveError):
                    raise
                raise ArchiveError(f"cannot open archive at {url}: {e}") from e
        client = QdrantClient(location=":memory:", force_disable_check_same_thread=True)
        return cls(client, collection, "memory", ":memory:")

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
                self._index = None

    @property
    def closed(self) -> bool:
        return self._client is None

    def __enter__(self) -> "ArchiveStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _c(self) -> QdrantClient:
        if self._client is None:
            raise ArchiveClosed("archive store is closed")
        return self._client

    def _ensure_collection(self) -> None:
        c = self._c()
        if not c.collection_exists(self.collection):
            c.create_collection(
                self.collection,
                vectors_config={
                    DENSE: qm.VectorParams(size=features.DENSE_DIM, distance=qm.Distance.COSINE)
                },
                sparse_vectors_config={SPARSE: qm.SparseVectorParams()},
            )
            if self.kind == "remote":
                for name, schema in PAYLOAD_INDEXES.items():
                    c.create_payload_index(self.collection, name, field_schema=schema, wait=True)
        else:
            info = c.get_collection(self.collection)
            vecs = info.config.params.vectors
            size = vecs[DENSE].size if isinstance(vecs, dict) and DENSE in vecs else None
            if size != features.DENSE_DIM:
                raise ArchiveError(
                    f"collection {self.collection!r} has dense vector size {size}, "
                    f"this version needs {features.DENSE_DIM} (re-import into a new collection)"
                )

    def _tune_local_sqlite(self) -> None:
        """WAL + synchronous=NORMAL for local-mode sqlite (~3x faster bulk writes, measured).

        Uses qdrant-client internals; silently skipped if their layout changes.
        """
        if self.kind != "disk":
            return
        try:
            coll = self._c()._client.collections[self.collection]  # type: ignore[attr-defined]
            conn = coll.storage.storage
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except Exception:  # pragma: no cover - best effort
            pass

    def _load_index(self) -> None:
        assert self._index is not None
        offset = None
        while True:
            points, offset = self._c().scroll(
                self.collection,
                limit=1024,
                offset=offset,
                with_payload=qm.PayloadSelectorInclude(include=_META_FIELDS),
                with_vectors=True,
            )
            for p in points:
                pl = p.payload or {}
                vec = p.vector if isinstance(p.vector, dict) else {}
                sp = vec.get(SPARSE)
                self._index.upsert(
                    str(p.id),
                    np.asarray(vec.get(DENSE, np.zeros(features.DENSE_DIM)), dtype=np.float32),
                    list(sp.indices) if sp is not None else [],
                    list(sp.values) if sp is not None else [],
                    RowMeta(
                        correct=bool(pl.get("correct", False)),
                        verified=bool(pl.get("verified", False)),
                        hardware=pl.get("hardware", "") or "",
                        task_name=pl.get("task_name", "") or "",
                        format=pl.get("format", "") or "",
                        level=pl.get("level"),
                        dedup_key=pl.get("dedup_key", "") or "",
                    ),
                )
            if offset is None:
                break

    # ---- writes ------------------------------------------------------------------------------
    @staticmethod
    def prepare(entry: ArchiveEntry) -> ArchiveEntry:
        """Copy of ``entry`` with id, created_at, ops, code_hash and source filled in."""
        e = entry.copy(
            ops=list(entry.ops),
            input_shapes=[list(s) for s in entry.input_shapes],
            input_dtypes=list(entry.input_dtypes),
            parent_ids=list(entry.parent_ids),
        )
        e.id = _check_uuid(e.id) if e.id else new_id()
        if not e.created_at:
            e.created_at = now()
        if not e.ops:
            if e.op_signature:
                e.ops = [p for p in e.op_signature.split("+") if p]
            elif e.functional_source:
                e.ops = features.ops_from_functional_source(e.functional_source)
        if not e.op_signature and e.ops:
            e.op_signature = "+".join(features.canonical_ops(e.ops))
        e.code_hash = _code_hash(e.cuda_source)
        if not e.source:
            e.source = SOURCE_KERNELWRIGHT
        return e

    def _point(self, e: ArchiveEntry) -> tuple[qm.PointStruct, np.ndarray, tuple]:
        dense, sparse = _entry_vectors(e)
        payload = e.to_payload()
        payload["dedup_key"] = dedup_key(e.code_hash, e.hardware)
        point = qm.PointStruct(
            id=e.id,
            vector={
                DENSE: dense.tolist(),
                SPARSE: qm.SparseVector(indices=sparse[0], values=sparse[1]),
            },
            payload=payload,
        )
        return point, dense, sparse

    def put(self, entry: ArchiveEntry, overwrite: bool = False) -> PutResult:
        """Store one entry (see :meth:`put_many` for the de-duplication rules)."""
        return self.put_many([entry], overwrite=overwrite)[0]

    def put_many(
        self,
        entries: Iterable[ArchiveEntry],
        batch: int = DEFAULT_BATCH,
        on_progress: Callable[[int, int], None] | None = None,
        total: int | None = None,
        overwrite: bool = False,
    ) -> list[PutResult]:
        """Store entries in batches of ``batch``; returns one PutResult per entry, in order.

        De-duplication key: normalized-code hash of ``cuda_source`` + ``hardware``. When a stored
        row (or an earlier entry of the same call) has the key, the result is
        ``PutResult(existing_id, duplicate=True)`` and nothing is written - unless the new entry
        is verified and the stored one is not, or ``overwrite=True``: then the new content is
        written under the existing id (``replaced=True``). Entries without cuda_source are never
        de-duplicated. An entry whose ``id`` is already stored under different code updates that
        row in place. ``total`` is only passed through to ``on_progress(done, total)``.
        """
        results: list[PutResult] = []
        buf: list[ArchiveEntry] = []
        for entry in entries:
            buf.append(entry)
            if len(buf) >= batch:
                results.extend(self._put_batch(buf, overwrite))
                buf = []
                if on_progress:
                    on_progress(len(results), total or 0)
        if buf:
            results.extend(self._put_batch(buf, overwrite))
            if on_progress:
                on_progress(len(results), total or 0)
        return results

    def _existing_for_keys(self, keys: list[str]) -> dict[str, tuple[str, bool]]:
        """dedup_key -> (id, verified) of stored rows."""
        out: dict[str, tuple[str, bool]] = {}
        if not keys:
            return out
        if self._index is not None:
            for k in keys:
                id = self._index.dedup.get(k)
                if id is not None:
                    m = self._index.meta_of(id)
                    out[k] = (id, bool(m and m.verified))
            return out
        offset = None
        while True:
            pts, offset = self._c().scroll(
                self.collection,
                scroll_filter=qm.Filter(
                    must=[qm.FieldCondition(key="dedup_key", match=qm.MatchAny(any=keys))]
                ),
                limit=max(64, len(keys)),
                offset=offset,
                with_payload=qm.PayloadSelectorInclude(include=["dedup_key", "verified"]),
            )
            for p in pts:
                pl = p.payload or {}
                out.setdefault(pl.get("dedup_key", ""), (str(p.id), bool(pl.get("verified"))))
            if offset is None:
                return out

    def _exists(self, ids: list[str]) -> set[str]:
        if self._index is not None:
            return {i for i in ids if self._index.contains(i)}
        pts = self._c().retrieve(self.collection, ids, with_payload=False, with_vectors=False)
        return {str(p.id) for p in pts}

    def _put_batch(self, entries: list[ArchiveEntry], overwrite: bool) -> list[PutResult]:
        with self._lock:
            prepared = [self.prepare(e) for e in entries]
            keys = [dedup_key(e.code_hash, e.hardware) for e in prepared]
            existing = self._existing_for_keys(sorted({k for k in keys if k}))
            results: list[PutResult] = []
            to_write: dict[str, ArchiveEntry] = {}
            for e, k in zip(prepared, keys):
                hit = existing.get(k) if k else None
                if hit is None:
                    to_write[e.id] = e
                    if k:
                        existing[k] = (e.id, e.verified)
                    results.append(PutResult(e.id, duplicate=False))
                    continue
                old_id, old_verified = hit
                if overwrite or (e.verified and not old_verified):
                    to_write[old_id] = e.copy(id=old_id)
                    existing[k] = (old_id, e.verified)
                    results.append(PutResult(old_id, duplicate=True, replaced=True))
                else:
                    results.append(PutResult(old_id, duplicate=True))
            if to_write:
                built = [self._point(e) for e in to_write.values()]
                self._c().upsert(self.collection, points=[b[0] for b in built], wait=True)
                if self._index is not None:
                    for e, (_, dense, sparse) in zip(to_write.values(), built):
                        self._index.upsert(e.id, dense, sparse[0], sparse[1], _meta(e))
            return results

    def delete(self, id: str) -> bool:
        """Delete one entry; True if it existed."""
        with self._lock:
            try:
                id = _check_uuid(id)
            except ValueError:
                return False
            if self._index is not None:
                if not self._index.contains(id):
                    return False
            elif not self._exists([id]):
                return False
            self._c().delete(
                self.collection, points_selector=qm.PointIdsList(points=[id]), wait=True
            )
            if self._index is not None:
                self._index.delete(id)
            return True

    # ---- reads -------------------------------------------------------------------------------
    def get(self, id: str) -> ArchiveEntry | None:
        with self._lock:
            try:
                id = _check_uuid(id)
            except ValueError:
                return None
            if self._index is not None and not self._index.contains(id):
                return None
            pts = self._c().retrieve(self.collection, [id], with_payload=True, with_vectors=False)
            if not pts:
                return None
            return _to_entry(pts[0])

    def get_many(self, ids: list[str]) -> list[ArchiveEntry]:
        """Entries for ``ids`` in the given order (missing ids are skipped)."""
        with self._lock:
            if not ids:
                return []
            pts = self._c().retrieve(self.collection, ids, with_payload=True, with_vectors=False)
            by_id = {str(p.id): _to_entry(p) for p in pts}
            return [by_id[i] for i in ids if i in by_id]

    def count(self) -> int:
        with self._lock:
            if self._index is not None:
                return self._index.count()
            return int(self._c().count(self.collection, exact=True).count)

    def search(self, query: SearchQuery, limit: int = 8) -> list[SearchHit]:
        dense_q = features.dense_vector(query.ops, query.input_shapes, query.input_dtypes)
        sparse_q = features.sparse_vector(query.functional_source)
        if not query.ops and query.functional_source:
            ops = features.ops_from_functional_source(query.functional_source)
            dense_q = features.dense_vector(ops, query.input_shapes, query.input_dtypes)
        with self._lock:
            if self._index is not None and self.search_engine == "index":
                ranked = self._index.search(
                    dense_q,
                    sparse_q,
                    limit,
                    query.correct_only,
                    query.verified_only,
                    query.hardware,
                    query.exclude_task,
                )
                entries = self.get_many([i for i, _ in ranked])
                by_id = {e.id: e for e in entries}
                return [SearchHit(by_id[i], s) for i, s in ranked if i in by_id]
            return self._remote_search(dense_q, sparse_q, query, limit)

    def _filter(self, q: SearchQuery) -> qm.Filter | None:
        must: list[qm.Condition] = []
        if q.correct_only:
            must.append(qm.FieldCondition(key="correct", match=qm.MatchValue(value=True)))
        if q.verified_only:
            must.append(qm.FieldCondition(key="verified", match=qm.MatchValue(value=True)))
        if q.hardware is not None:
            must.append(qm.FieldCondition(key="hardware", match=qm.MatchValue(value=q.hardware)))
        must_not: list[qm.Condition] = []
        if q.exclude_task is not None:
            must_not.append(
                qm.FieldCondition(key="task_name", match=qm.MatchValue(value=q.exclude_task))
            )
        if not must and not must_not:
            return None
        return qm.Filter(must=must or None, must_not=must_not or None)

    def _remote_search(
        self, dense_q: np.ndarray, sparse_q: tuple, q: SearchQuery, limit: int
    ) -> list[SearchHit]:
        flt = self._filter(q)
        k = candidates_for(limit)
        dense_pf = qm.Prefetch(query=dense_q.tolist(), using=DENSE, limit=k, filter=flt)
        prefetch: list[qm.Prefetch] = [dense_pf]
        weights = [W_GRAPH]
        if sparse_q[0]:
            prefetch.append(
                qm.Prefetch(
                    prefetch=[dense_pf],
                    query=qm.SparseVector(indices=sparse_q[0], values=sparse_q[1]),
                    using=SPARSE,
                    limit=k,
                )
            )
            weights.append(W_CODE)
        res = self._c().query_points(
            self.collection,
            prefetch=prefetch,
            query=qm.RrfQuery(rrf=qm.Rrf(k=RRF_K, weights=weights)),
            limit=limit,
            with_payload=True,
        )
        return [SearchHit(_to_entry(p), float(p.score)) for p in res.points]

    def iter_entries(self, batch: int = 256) -> Iterator[ArchiveEntry]:
        """Every stored entry (scroll order)."""
        offset = None
        while True:
            with self._lock:
                pts, offset = self._c().scroll(
                    self.collection, limit=batch, offset=offset, with_payload=True
                )
            for p in pts:
                yield _to_entry(p)
            if offset is None:
                return

    def stats(self) -> ArchiveStats:
        with self._lock:
            if self._index is not None:
                return self._index.stats()
        st = ArchiveStats()
        hw: Counter[str] = Counter()
        fm: Counter[str] = Counter()
        lv: Counter[str] = Counter()
        offset = None
        while True:
            with self._lock:
                pts, offset = self._c().scroll(
                    self.collection,
                    limit=2048,
                    offset=offset,
                    with_payload=qm.PayloadSelectorInclude(include=_META_FIELDS),
                )
            for p in pts:
                pl = p.payload or {}
                st.total += 1
                st.correct += int(bool(pl.get("correct")))
                st.verified += int(bool(pl.get("verified")))
                hw[pl.get("hardware", "") or ""] += 1
                fm[pl.get("format", "") or ""] += 1
                lvl = pl.get("level")
                lv["" if lvl is None else str(lvl)] += 1
            if offset is None:
                break
        st.by_hardware, st.by_format, st.by_level = dict(hw), dict(fm), dict(lv)
        return st


def _to_entry(p: qm.Record | qm.ScoredPoint) -> ArchiveEntry:
    return ArchiveEntry.from_payload(dict(p.payload or {}), id=str(p.id))
