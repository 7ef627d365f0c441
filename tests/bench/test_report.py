"""Report files: markdown, a self-contained HTML page (PNG inlined), and the PNG itself."""

import base64
import re

import pyarrow.parquet as pq

from kernelwright.archive.parquet_io import SAKANA_COLUMN_NAMES, read_parquet
from kernelwright.bench.parquet import write_parquet
from kernelwright.bench.report import write_report

from .helpers import error, failed, ok

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RESULTS = [ok("1_Conv", 1, 1.3, 0.8), ok("12_Gemm_Multiply", 2, 2.0, 1.2), failed("13_Softmax", 2, "WRONG_ANSWER x"),
           error("5_Lstm", 3)]


def test_report_files_and_their_numbers(tmp_path):
    files = write_report(RESULTS, tmp_path / "out", note="dev set, builtin proposer")
    assert files.png.read_bytes().startswith(PNG_MAGIC)
    md = files.markdown.read_text()
    assert "dev set, builtin proposer" in md
    assert "4 tasks, 2 correct (50.0%)" in md
    # vs eager 1.3x, 2.0x: fast_1 2 of 4, fast_1.5 1 of 4, fast_2 none (2.0 is not > 2); vs compile 0.8x, 1.2x
    assert re.search(r"\| eager \| 50\.0% \| 50\.0% \| 25\.0% \| 0\.0% \|", md), md
    assert re.search(r"\| compile \| 50\.0% \| 25\.0% \| 0\.0% \| 0\.0% \|", md), md
    assert "![speedup distribution](speedups.png)" in md
    for task in ("1_Conv", "12_Gemm_Multiply", "13_Softmax", "5_Lstm"):
        assert task in md
    assert "WRONG_ANSWER x" in md
    # level 2: fast_1 vs eager 50% -> the 80% goal is missed, and the report says so
    assert "| level 2 faster than eager (fast_1 vs eager) | 80.0% | 50.0% | **no** |" in md


def test_html_is_self_contained(tmp_path):
    files = write_report(RESULTS, tmp_path)
    page = files.html.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # no external fetches: no src/href to anything but the inline data URI
    assert not re.search(r'(src|href)="(?!data:)', page)
    (data,) = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert base64.b64decode(data) == files.png.read_bytes()
    assert "<td>12_Gemm_Multiply</td>" in page


def test_html_escapes_task_text(tmp_path):
    files = write_report([failed("<script>x</script>", 1, "a < b & c")], tmp_path)
    page = files.html.read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page and "a &lt; b &amp; c" in page


def test_report_of_nothing_still_renders(tmp_path):
    files = write_report([], tmp_path)
    assert files.png.read_bytes().startswith(PNG_MAGIC)
    assert "0 tasks, 0 correct (0.0%)" in files.markdown.read_text()


def test_parquet_has_sakana_columns_and_imports_back(tmp_path):
    path = tmp_path / "results.parquet"
    assert write_parquet(RESULTS, path) == 4
    table = pq.read_table(path)
    assert list(table.column_names[:len(SAKANA_COLUMN_NAMES)]) == list(SAKANA_COLUMN_NAMES)
    rows = table.to_pylist()
    gemm = next(r for r in rows if r["Op_Name"] == "12_Gemm_Multiply")
    assert (gemm["Level_ID"], gemm["Correct"], gemm["CUDA_Speedup_Native"]) == (2, True, 2.0)
    assert gemm["CUDA_Runtime"] == 1.0 and gemm["PyTorch_Native_Runtime"] == 2.0
    assert gemm["kw_hardware"] == "NVIDIA H100 80GB HBM3" and gemm["kw_source"] == "bench"
    softmax = next(r for r in rows if r["Op_Name"] == "13_Softmax")
    assert softmax["Correct"] is False and "WRONG_ANSWER x" in softmax["Error"]
    # the archive's own reader accepts the file (import policy: stored unverified)
    imported = list(read_parquet(path))
    assert len(imported) == 4 and not any(e.verified for e in imported)
