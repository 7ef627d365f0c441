// Honest fast-format candidate for task_scale_add.py: out = relu(x) * 2 + y.
// float4 main loop (16-byte aligned pointers), scalar tail, 64-bit grid-stride. Must be ACCEPTED.
// EXPECTED_REJECTION = None
__device__ __forceinline__ float scale_add_op(float v, float w) {
    return (v < 0.0f ? 0.0f : v) * 2.0f + w;
}

// out = relu(x) * 2 + y. float4 main loop when all three pointers are 16-byte aligned, scalar tail,
// 64-bit grid-stride indices.
extern "C" __global__ void scale_add_vec4_kernel(const float* __restrict__ x, const float* __restrict__ y,
                                                float* __restrict__ out, long long n) {
    const long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const long long nthreads = (long long)gridDim.x * blockDim.x;
    long long start = 0;
    if (((((unsigned long long)x) | ((unsigned long long)y) | ((unsigned long long)out)) & 15ull) == 0ull) {
        const long long n4 = n >> 2;
        const float4* __restrict__ x4 = reinterpret_cast<const float4*>(x);
        const float4* __restrict__ y4 = reinterpret_cast<const float4*>(y);
        float4* __restrict__ o4 = reinterpret_cast<float4*>(out);
        for (long long i = tid; i < n4; i += nthreads) {
            const float4 a = x4[i];
            const float4 b = y4[i];
            float4 r;
            r.x = scale_add_op(a.x, b.x);
            r.y = scale_add_op(a.y, b.y);
            r.z = scale_add_op(a.z, b.z);
            r.w = scale_add_op(a.w, b.w);
            o4[i] = r;
        }
        start = n4 << 2;
    }
    for (long long i = start + tid; i < n; i += nthreads) out[i] = scale_add_op(x[i], y[i]);
}
