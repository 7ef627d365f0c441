from __future__ import annotations

from kernelwright.archive.codehash import code_hash, normalize_code

BASE = """#include <cuda_runtime.h>
__global__ void k(float* x, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = 2.0f * x[i];
}
"""


def test_comments_and_whitespace_ignored():
    noisy = """// leading comment
#include <cuda_runtime.h>   // trailing
/* block
   comment */
__global__   void k(float* x,
                    int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;  /* inline */
    if (i < n) x[i] = 2.0f * x[i];
}
"""
    assert code_hash(noisy) == code_hash(BASE)


def test_python_comments_ignored():
    a = "import torch\n# a comment\nx = torch.relu(y)  # trailing\n"
    b = "import torch\nx = torch.relu(y)\n"
    assert code_hash(a) == code_hash(b)


def test_code_change_detected():
    assert code_hash(BASE) != code_hash(BASE.replace("2.0f", "3.0f"))
    assert code_hash(BASE) != code_hash(BASE.replace("#include <cuda_runtime.h>", ""))


def test_strings_kept():
    a = 'printf("// not a comment %d", 1);'
    b = 'printf("/* also */ %d", 1);'
    assert "// not a comment" in normalize_code(a)
    assert code_hash(a) != code_hash(b)


def test_empty():
    assert code_hash("") == "" and code_hash("  // only a comment\n") == ""
    assert len(code_hash(BASE)) == 64
