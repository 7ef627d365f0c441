// kernelwright builtin generator (deterministic lowering of the ATen graph, no LLM).
// Schedule: block_size=256, unroll=1, reduce_block=256, reduce_strategy=0, use_library=1, gemm_schedule=0, conv_schedule=0, reduce_splits=0
// Index type: int. Stages:
//   0: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm
//   1: Fused pointwise -> buf_relu [0+1*B, 1024]: relu
//   2: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_1
//   3: Fused pointwise -> buf_relu_1 [0+1*B, 1024]: relu
//   4: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_2
//   5: Fused pointwise -> buf_relu_2 [0+1*B, 1024]: relu
//   6: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_3
//   7: Fused pointwise -> buf_relu_3 [0+1*B, 1024]: relu
//   8: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_4
//   9: Fused pointwise -> buf_relu_4 [0+1*B, 1024]: relu
//   10: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_5
//   11: Fused pointwise -> buf_relu_5 [0+1*B, 1024]: relu
//   12: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_6
//   13: Fused pointwise -> buf_relu_6 [0+1*B, 1024]: relu
//   14: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_7
//   15: Fused pointwise -> buf_relu_7 [0+1*B, 1024]: relu
//   16: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_8
//   17: Fused pointwise -> buf_relu_8 [0+1*B, 1024]: relu
//   18: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_9
//   19: Fused pointwise -> buf_relu_9 [0+1*B, 1024]: relu
//   20: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_10
//   21: Fused pointwise -> buf_relu_10 [0+1*B, 1024]: relu
//   22: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_11
//   23: Fused pointwise -> buf_relu_11 [0+1*B, 1024]: relu
//   24: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_12
//   25: Fused pointwise -> buf_relu_12 [0+1*B, 1024]: relu
//   26: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_13
//   27: Fused pointwise -> buf_relu_13 [0+1*B, 1024]: relu
//   28: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_14
//   29: Fused pointwise -> buf_relu_14 [0+1*B, 1024]: relu
//   30: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_15
//   31: Fused pointwise -> buf_relu_15 [0+1*B, 1024]: relu
//   32: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_16
//   33: Fused pointwise -> out0 [0+1*B, 8192]: copy

template <bool IS_MAX>
__device__ __forceinline__ bool kw_arg_better_s(float v, long long i, float bv, long long bi) {
    if (v != v) return !(bv != bv) || i < bi;
    if (bv != bv) return false;
    if (IS_MAX ? v > bv : v < bv) return true;
    return v == bv && i < bi;
}

// Fused pointwise -> buf_relu [0+1*B, 1024]: relu
extern "C" __global__ void kw_s1_pointwise_relu(const float* __restrict__ lib_mm, float* __restrict__ buf_relu, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_1 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s3_pointwise_relu(const float* __restrict__ lib_mm_1, float* __restrict__ buf_relu_1, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_1[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_1[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_2 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s5_pointwise_relu(const float* __restrict__ lib_mm_2, float* __restrict__ buf_relu_2, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_2[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_2[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_3 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s7_pointwise_relu(const float* __restrict__ lib_mm_3, float* __restrict__ buf_relu_3, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_3[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_3[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_4 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s9_pointwise_relu(const float* __restrict__ lib_mm_4, float* __restrict__ buf_relu_4, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_4[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_4[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_5 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s11_pointwise_relu(const float* __restrict__ lib_mm_5, float* __restrict__ buf_relu_5, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_5[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_5[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_6 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s13_pointwise_relu(const float* __restrict__ lib_mm_6, float* __restrict__ buf_relu_6, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_6[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_6[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_7 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s15_pointwise_relu(const float* __restrict__ lib_mm_7, float* __restrict__ buf_relu_7, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_7[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_7[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_8 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s17_pointwise_relu(const float* __restrict__ lib_mm_8, float* __restrict__ buf_relu_8, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_8[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_8[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_9 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s19_pointwise_relu(const float* __restrict__ lib_mm_9, float* __restrict__ buf_relu_9, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_9[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_9[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_10 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s21_pointwise_relu(const float* __restrict__ lib_mm_10, float* __restrict__ buf_relu_10, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_10[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_10[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_11 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s23_pointwise_relu(const float* __restrict__ lib_mm_11, float* __restrict__ buf_relu_11, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_11[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_11[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_12 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s25_pointwise_relu(const float* __restrict__ lib_mm_12, float* __restrict__ buf_relu_12, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_12[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_12[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_13 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s27_pointwise_relu(const float* __restrict__ lib_mm_13, float* __restrict__ buf_relu_13, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_13[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_13[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_14 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s29_pointwise_relu(const float* __restrict__ lib_mm_14, float* __restrict__ buf_relu_14, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_14[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_14[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_15 [0+1*B, 1024]: relu
extern "C" __global__ void kw_s31_pointwise_relu(const float* __restrict__ lib_mm_15, float* __restrict__ buf_relu_15, int kw_size0) {
    const int n = (int)kw_size0 * 1024;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 1024;
                const int q2 = i / 1024;
                const float v3 = lib_mm_15[(q2) * 1024 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_15[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> out0 [0+1*B, 8192]: copy
extern "C" __global__ void kw_s33_pointwise_copy(const float* __restrict__ lib_mm_16, float* __restrict__ out0, int kw_size0) {
    const int n = (int)kw_size0 * 8192;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 8192;
                const int q2 = i / 8192;
                const float v3 = lib_mm_16[(q2) * 8192 + i1];
                out0[i] = (float)v3;
            }
        }
    }
}
