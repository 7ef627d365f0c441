from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from kernelwright.archive import features as f

from .helpers import CONV_RELU_FN

SCRIPT = """
import json
from kernelwright.archive import features as f
d = f.dense_vector(["conv_transpose3d", "clamp", "MyCustomOp"], [[16, 32, 8, 16, 16]], ["fp16"])
s = f.sparse_vector(open({path!r}).read())
print(json.dumps({{"d": d.tobytes().hex(), "s": s}}))
"""


def test_deterministic_across_processes(tmp_path):
    src = tmp_path / "fn.py"
    src.write_text(CONV_RELU_FN)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    outs = []
    for seed in ("0", "12345"):  # different str-hash salts must not matter
        env["PYTHONHASHSEED"] = seed
        p = subprocess.run([sys.executable, "-c", SCRIPT.format(path=str(src))],
                           capture_output=True, text=True, env=env, timeout=60, check=True)
        outs.append(json.loads(p.stdout))
    assert outs[0] == outs[1]
    here = f.dense_vector(["conv_transpose3d", "clamp", "MyCustomOp"], [[16, 32, 8, 16, 16]],
                          ["fp16"])
    assert here.tobytes().hex() == outs[0]["d"]
    assert [list(x) for x in f.sparse_vector(CONV_RELU_FN)] == outs[0]["s"]


def test_dense_shape_and_norm():
    v = f.dense_vector(["conv2d", "relu"], [[1, 3, 8, 8]], ["float32"])
    assert v.dtype == np.float32 and v.shape == (f.DENSE_DIM,)
    assert abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    assert not f.dense_vector([]).any()


def test_dense_similarity_order():
    a = f.dense_vector(["conv2d", "relu"], [[16, 3, 32, 32]])
    b = f.dense_vector(["conv3d", "relu"], [[16, 3, 8, 32, 32]])
    c = f.dense_vector(["matmul", "softmax"], [[128, 256]])
    rev = f.dense_vector(["relu", "conv2d"], [[16, 3, 32, 32]])
    assert a @ b > a @ c
    assert 0.99 > a @ rev > a @ b  # order matters, a little
    assert f.dense_vector(["Conv2d", "ReLU"], [[16, 3, 32, 32]]) @ a > 0.9999


def test_unknown_ops_hashed():
    a = f.dense_vector(["frobulate"])
    b = f.dense_vector(["frobulate"])
    assert np.array_equal(a, b) and a.any()


def test_sparse_vector():
    idx, val = f.sparse_vector("__global__ void k(float* x) { x[0] = 1.0f; } k<<<1, 32>>>(x);")
    assert idx == sorted(idx) and len(set(idx)) == len(idx)
    assert all(0 <= i < 2**18 for i in idx)
    assert abs(sum(v * v for v in val) - 1.0) < 1e-5
    assert f.sparse_vector("") == ([], [])


def test_ops_from_op_name():
    assert f.ops_from_op_name("13_ConvTranspose3d_Mean_Add_Softmax_Tanh_Scaling") == [
        "convtranspose3d", "mean", "add", "softmax", "tanh", "scaling"]
    assert f.ops_from_op_name("1_Square_matrix_multiplication_") == ["matmul"]
    assert f.ops_from_op_name("76_Gemm_Add_ReLU") == ["gemm", "add", "relu"]
    assert f.ops_from_op_name("33_BatchNorm") == ["batchnorm"]


def test_ops_from_functional_source():
    assert f.ops_from_functional_source(CONV_RELU_FN) == ["conv2d", "relu"]
