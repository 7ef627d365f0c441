from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kernelwright.archive.errors import ArchiveFormatError, MissingColumnsError
from kernelwright.archive.parquet_io import (
    SAKANA_COLUMN_NAMES,
    SCHEMA,
    export_parquet,
    import_parquet,
    read_parquet,
)
from kernelwright.archive.store import ArchiveStore
from kernelwright.archive.synthetic import synthetic_entries

from .helpers import make


def test_schema_columns():
    assert list(SAKANA_COLUMN_NAMES) == [
        "Op_Name", "Level_ID", "Task_ID", "Kernel_Name", "CUDA_Runtime", "PyTorch_Native_Runtime",
        "PyTorch_Compile_Runtime", "CUDA_Speedup_Native", "CUDA_Speedup_Compile", "CUDA_Code",
        "PyTorch_Code_Module", "PyTorch_Code_Functional", "Correct", "Max_Diff", "Error",
        "NCU_Profile", "Torch_Profile", "Clang_Tidy"]
    assert all(n.startswith("kw_") for n in SCHEMA.names[18:])


def test_round_trip_lossless(tmp_path):
    src = ArchiveStore.open(memory=True)
    entries = synthetic_entries(60, seed=3)
    entries[0].level = None
    entries[0].task_id = None
    entries[1].parent_ids = [entries[0].id]
    entries[2].verified = True
    src.put_many(entries)
    path = tmp_path / "out.parquet"
    progress = []
    assert export_parquet(src, path, batch=16, on_progress=lambda d, t: progress.append(d)) == 60
    assert progress[-1] == 60 and len(progress) == 4

    dst = ArchiveStore.open(memory=True)
    res = import_parquet(dst, path, batch=7)
    assert (res.total, res.inserted) == (60, 60)
    for e in src.iter_entries():
        got = dst.get(e.id)
        assert got is not None
        assert not got.verified and got.source == "import:out.parquet"
        assert got == e.copy(verified=False, source="import:out.parquet")
    # importing again: all duplicates
    again = import_parquet(dst, path)
    assert again.duplicates == 60 and dst.count() == 60


def _sakana_table(n=3, **overrides):
    cols = {
        "Op_Name": ["13_ConvTranspose3d_Mean_Add_Softmax_Tanh_Scaling", "19_ReLU", "1_MLP"][:n],
        "Level_ID": [2, 1, 3][:n],
        "Task_ID": [13, 19, 1][:n],
        "Kernel_Name": ["a", "b", "c"][:n],
        "CUDA_Runtime": [0.5, float("nan"), None][:n],
        "PyTorch_Native_Runtime": [1.0, 2.0, 3.0][:n],
        "PyTorch_Compile_Runtime": [1.1, 2.1, 3.1][:n],
        "CUDA_Speedup_Native": [2.0, 0.0, 0.0][:n],
        "CUDA_Speedup_Compile": [2.2, 0.0, 0.0][:n],
        "CUDA_Code": ["code a", "code b", "code c"][:n],
        "PyTorch_Code_Module": ["mod"] * n,
        "PyTorch_Code_Functional": ["def f(x):\n    return F.relu(x)\n"] * n,
        "Correct": [True, False, True][:n],
        "Max_Diff": [1e-5, None, 0.0][:n],
        "Error": [None, "mismatch", ""][:n],
        "NCU_Profile": [None] * n,
        "Torch_Profile": ["tp"] * n,
        "Clang_Tidy": ["ct"] * n,
    }
    cols.update(overrides)
    return pa.table(cols)


def test_sakana_only_file_imports_unverified(tmp_path):
    path = tmp_path / "level_2.parquet"
    pq.write_table(_sakana_table(), path)
    s = ArchiveStore.open(memory=True)
    seen = []
    res = import_parquet(s, path, default_hardware="NVIDIA H100 80GB HBM3",
                         on_progress=lambda d, t: seen.append((d, t)))
    assert res.inserted == 3 and seen[-1] == (3, 3)
    by_name = {e.task_name: e for e in s.iter_entries()}
    a = by_name["13_ConvTranspose3d_Mean_Add_Softmax_Tanh_Scaling"]
    assert a.ops == ["convtranspose3d", "mean", "add", "softmax", "tanh", "scaling"]
    assert a.op_signature == "convtranspose3d+mean+add+softmax+tanh+scaling"
    assert (a.level, a.task_id, a.runtime_ms, a.eager_ms, a.speedup_eager) == (2, 13, 0.5, 1.0, 2.0)
    assert a.correct and not a.verified and a.source == "import:level_2.parquet"
    assert a.hardware == "NVIDIA H100 80GB HBM3" and a.format == "" and a.ncu_profile == ""
    b = by_name["19_ReLU"]
    assert b.runtime_ms == 0.0 and b.max_abs_error == 0.0 and b.error == "mismatch"
    assert not b.correct and b.ops == ["relu"]


def test_kw_verified_true_is_ignored(tmp_path):
    path = tmp_path / "ours.parquet"
    export_parquet([make(verified=True)], path)
    assert pq.read_table(path).column("kw_verified").to_pylist() == [True]
    assert [e.verified for e in read_parquet(path)] == [False]


def test_not_parquet(tmp_path):
    p = tmp_path / "x.parquet"
    p.write_text("definitely not parquet")
    with pytest.raises(ArchiveFormatError, match="not a readable parquet"):
        list(read_parquet(p))
    with pytest.raises(ArchiveFormatError, match="no such file"):
        list(read_parquet(tmp_path / "missing.parquet"))


def test_missing_columns(tmp_path):
    p = tmp_path / "x.parquet"
    pq.write_table(_sakana_table().drop(["CUDA_Code", "Correct"]), p)
    with pytest.raises(MissingColumnsError) as ei:
        import_parquet(ArchiveStore.open(memory=True), p)
    assert ei.value.missing == ["CUDA_Code", "Correct"]
    assert "CUDA_Code" in str(ei.value) and "Correct" in str(ei.value)


def test_optional_columns_default(tmp_path):
    p = tmp_path / "x.parquet"
    pq.write_table(_sakana_table().drop(["NCU_Profile", "Max_Diff", "CUDA_Runtime"]), p)
    es = list(read_parquet(p))
    assert len(es) == 3 and es[0].runtime_ms == 0.0 and es[0].ncu_profile == ""
