// kernelwright builtin generator (deterministic lowering of the ATen graph, no LLM).
// Schedule: block_size=256, unroll=1, reduce_block=256, reduce_strategy=0, use_library=1, gemm_schedule=0, conv_schedule=0, reduce_splits=0
// Index type: int. Stages:
//   0: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm
//   1: Fused pointwise -> buf_relu [0+1*B, 16384]: relu
//   2: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_1
//   3: Fused pointwise -> buf_relu_1 [0+1*B, 16384]: relu
//   4: linear with bias (cuBLAS, bias in the GEMM epilogue) -> lib_mm_2
//   5: Fused pointwise -> out0 [0+1*B, 8192]: copy

template <bool IS_MAX>
__device__ __forceinline__ bool kw_arg_better_s(float v, long long i, float bv, long long bi) {
    if (v != v) return !(bv != bv) || i < bi;
    if (bv != bv) return false;
    if (IS_MAX ? v > bv : v < bv) return true;
    return v == bv && i < bi;
}

// Fused pointwise -> buf_relu [0+1*B, 16384]: relu
extern "C" __global__ void kw_s1_pointwise_relu(const float* __restrict__ lib_mm, float* __restrict__ buf_relu, int kw_size0) {
    const int n = (int)kw_size0 * 16384;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 16384;
                const int q2 = i / 16384;
                const float v3 = lib_mm[(q2) * 16384 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> buf_relu_1 [0+1*B, 16384]: relu
extern "C" __global__ void kw_s3_pointwise_relu(const float* __restrict__ lib_mm_1, float* __restrict__ buf_relu_1, int kw_size0) {
    const int n = (int)kw_size0 * 16384;
    const int tid = (int)blockIdx.x * blockDim.x + threadIdx.x;
    const int nthreads = (int)gridDim.x * blockDim.x;
    for (int base = tid; base < n; base += nthreads * 1) {
        #pragma unroll
        for (int u = 0; u < 1; ++u) {
            const int i = base + (int)u * nthreads;
            if (i < n) {
                const int i1 = i % 16384;
                const int q2 = i / 16384;
                const float v3 = lib_mm_1[(q2) * 16384 + i1];
                const float t4 = (float)((v3 > 0.0f ? v3 : 0.0f));  // aten.relu
                buf_relu_1[i] = (float)t4;
            }
        }
    }
}

// Fused pointwise -> out0 [0+1*B, 8192]: copy
extern "C" __global__ void kw_s5_pointwise_copy(const float* __restrict__ lib_mm_2, float* __restrict__ out0, int kw_size0) {
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
                const float v3 = lib_mm_2[(q2) * 8192 + i1];
                out0[i] = (float)v3;
            }
        }
    }
}
