"""Congruence suite: identical behaviour across every back end (see conftest.BACKENDS)."""

from __future__ import annotations

import uuid

import pytest

from kernelwright.archive.entry import ArchiveEntry
from kernelwright.archive.query import SearchQuery
from kernelwright.archive.store import ArchiveStore

from .helpers import CONV3D_TANH_FN, CONV_RELU_FN, MATMUL_SOFTMAX_FN, make

H100 = "NVIDIA H100 80GB HBM3"
A100 = "NVIDIA A100-SXM4-80GB"


def test_put_get_roundtrip(store):
    e = make(parent_ids=[str(uuid.uuid4())], ncu_profile="ncu", clang_tidy="ok",
             max_rel_error=1e-6, created_at=123.5, verified=True, op_signature="conv2d+relu")
    r = store.put(e)
    assert not r.duplicate
    uuid.UUID(r.id)
    got = store.get(r.id)
    assert isinstance(got, ArchiveEntry)
    assert got.code_hash and len(got.code_hash) == 64
    expect = e.copy(id=r.id, code_hash=got.code_hash)
    assert got == expect
    assert store.count() == 1


def test_get_unknown_and_bad_ids(store):
    assert store.get(str(uuid.uuid4())) is None
    assert store.get("not-a-uuid") is None
    with pytest.raises(ValueError):
        store.put(make(id="not-a-uuid"))


def test_put_fills_defaults(store):
    r = store.put(ArchiveEntry(op_signature="conv_transpose3d+clamp+div", cuda_source="x"))
    got = store.get(r.id)
    assert got.ops == ["conv_transpose3d", "clamp", "div"]
    assert got.created_at > 0
    assert got.source == "kernelwright"


def test_dedup_same_code_modulo_comments(store):
    a = store.put(make(code="__global__ void k() { /* v1 */ int i = 0; }"))
    b = store.put(make(code="// header\n__global__   void k()\n{ int i = 0; }", task="other"))
    assert b.duplicate and b.id == a.id and not b.replaced
    assert store.count() == 1
    assert store.get(a.id).task_name == "t"  # not overwritten


def test_dedup_is_per_hardware(store):
    a = store.put(make(hardware=H100))
    b = store.put(make(hardware=A100))
    assert not b.duplicate and a.id != b.id
    assert store.count() == 2


def test_verified_replaces_unverified(store):
    a = store.put(make(verified=False, runtime_ms=5.0))
    b = store.put(make(verified=True, runtime_ms=1.5))
    assert b.duplicate and b.replaced and b.id == a.id
    got = store.get(a.id)
    assert got.verified and got.runtime_ms == 1.5
    # an unverified duplicate never replaces a verified row
    c = store.put(make(verified=False, runtime_ms=9.0))
    assert c.duplicate and not c.replaced
    assert store.get(a.id).runtime_ms == 1.5
    # nor does a verified one replace a verified one
    d = store.put(make(verified=True, runtime_ms=0.1))
    assert d.duplicate and not d.replaced
    assert store.count() == 1


def test_explicit_id_update(store):
    r = store.put(make(runtime_ms=3.0))
    r2 = store.put(make(id=r.id, runtime_ms=2.0, code="changed code"))
    assert r2.id == r.id and not r2.duplicate
    assert store.get(r.id).runtime_ms == 2.0
    assert store.count() == 1
    # the old code is no longer claimed by r.id
    r3 = store.put(make(runtime_ms=7.0))
    assert not r3.duplicate


def test_put_many_in_batch_duplicates(store):
    es = [make(code=f"__global__ void k{i % 5}() {{}}", task=f"t{i}") for i in range(12)]
    res = store.put_many(es, batch=4)
    assert len(res) == 12
    assert sum(not r.duplicate for r in res) == 5
    assert store.count() == 5
    for i, r in enumerate(res):
        assert r.id == res[i % 5].id


def test_put_many_progress(store):
    seen = []
    store.put_many([make(code=f"c{i}") for i in range(10)], batch=4,
                   on_progress=lambda d, t: seen.append((d, t)), total=10)
    assert seen == [(4, 10), (8, 10), (10, 10)]


def _corpus(store):
    ids = {}
    ids["conv_relu"] = store.put(make("conv_relu", ("conv2d", "relu"), "conv relu code",
                                      CONV_RELU_FN, ((16, 3, 64, 64),))).id
    ids["matmul_softmax"] = store.put(make("matmul_softmax", ("matmul", "softmax"), "mm code",
                                           MATMUL_SOFTMAX_FN, ((128, 256), (256, 512)))).id
    ids["conv3d_tanh"] = store.put(make("conv3d_tanh", ("conv3d", "tanh"), "c3 code",
                                        CONV3D_TANH_FN, ((8, 3, 16, 32, 32),))).id
    ids["conv_relu_bad"] = store.put(make("conv_relu_bad", ("conv2d", "relu", "add"), "bad",
                                          CONV_RELU_FN, ((16, 3, 64, 64),), correct=False)).id
    ids["conv_relu_a100"] = store.put(make("conv_relu_a100", ("conv2d", "relu", "scaling"),
                                           "a100 code", CONV_RELU_FN, ((16, 3, 32, 32),),
                                           hardware=A100, verified=True)).id
    return ids


def _names(hits):
    return [h.entry.task_name for h in hits]


def test_search_ranking(store):
    _corpus(store)
    q = SearchQuery(ops=["conv2d", "relu"], input_shapes=[[16, 3, 64, 64]],
                    input_dtypes=["float32"], functional_source=CONV_RELU_FN)
    hits = store.search(q, limit=8)
    names = _names(hits)
    assert names[0] == "conv_relu"
    assert names.index("conv_relu") < names.index("matmul_softmax")
    assert names.index("conv_relu_a100") < names.index("matmul_softmax")
    assert all(hits[i].score >= hits[i + 1].score for i in range(len(hits) - 1))
    assert "conv_relu_bad" not in names  # correct_only by default

    q2 = SearchQuery(ops=["matmul", "softmax"], input_shapes=[[128, 256], [256, 512]],
                     functional_source=MATMUL_SOFTMAX_FN)
    assert _names(store.search(q2, limit=1)) == ["matmul_softmax"]


def test_search_without_code_uses_graph_only(store):
    _corpus(store)
    hits = store.search(SearchQuery(ops=["conv3d", "tanh"]), limit=2)
    assert _names(hits)[0] == "conv3d_tanh"


def test_search_from_functional_source_only(store):
    _corpus(store)
    hits = store.search(SearchQuery(functional_source=MATMUL_SOFTMAX_FN), limit=1)
    assert _names(hits) == ["matmul_softmax"]


def test_search_filters(store):
    _corpus(store)
    q = SearchQuery(ops=["conv2d", "relu"], functional_source=CONV_RELU_FN)
    assert "conv_relu_bad" in _names(store.search(
        SearchQuery(ops=q.ops, functional_source=q.functional_source, correct_only=False)))
    v = store.search(SearchQuery(ops=q.ops, verified_only=True))
    assert _names(v) == ["conv_relu_a100"]
    hw = store.search(SearchQuery(ops=q.ops, hardware=A100))
    assert _names(hw) == ["conv_relu_a100"]
    assert store.search(SearchQuery(ops=q.ops, hardware="no such gpu")) == []
    ex = _names(store.search(SearchQuery(ops=q.ops, exclude_task="conv_relu")))
    assert "conv_relu" not in ex and ex[0] == "conv_relu_a100"
    assert len(store.search(SearchQuery(ops=q.ops), limit=2)) == 2


def test_search_empty_store(store):
    assert store.search(SearchQuery(ops=["relu"])) == []


def test_stats(store):
    _corpus(store)
    st = store.stats()
    assert st.total == 5 and st.correct == 4 and st.verified == 1
    assert st.by_hardware == {H100: 4, A100: 1}
    assert st.by_format == {"kernelbench": 5}
    assert st.by_level == {"2": 5}
    store.put(make(code="lvl-none", level=None, format=""))
    st = store.stats()
    assert st.by_level == {"2": 5, "": 1} and st.by_format == {"kernelbench": 5, "": 1}


def test_delete(store):
    ids = _corpus(store)
    assert store.delete(ids["conv_relu"]) is True
    assert store.get(ids["conv_relu"]) is None
    assert store.count() == 4
    assert store.delete(ids["conv_relu"]) is False
    assert store.delete("nope") is False
    assert "conv_relu" not in _names(store.search(SearchQuery(ops=["conv2d", "relu"])))
    assert store.stats().total == 4
    # its code is free again
    r = store.put(make("conv_relu", ("conv2d", "relu"), "conv relu code", CONV_RELU_FN))
    assert not r.duplicate


def test_iter_entries(store):
    ids = _corpus(store)
    got = {e.id: e for e in store.iter_entries(batch=2)}
    assert set(got) == set(ids.values())


def test_closed_store_raises(store):
    from kernelwright.archive.errors import ArchiveClosed

    if store.kind == "remote":
        store._c().delete_collection(store.collection)
    store.close()
    with pytest.raises(ArchiveClosed):
        store.count()


def test_open_needs_exactly_one():
    with pytest.raises(ValueError):
        ArchiveStore.open()
    with pytest.raises(ValueError):
        ArchiveStore.open(path="/tmp/x", memory=True)


def test_overwrite_flag(store):
    a = store.put(make(verified=True, runtime_ms=5.0))
    b = store.put(make(verified=True, runtime_ms=1.0), overwrite=True)
    assert b.id == a.id and b.duplicate and b.replaced
    assert store.get(a.id).runtime_ms == 1.0 and store.count() == 1
