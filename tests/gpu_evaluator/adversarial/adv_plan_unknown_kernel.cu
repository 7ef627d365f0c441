// EXPLOIT (plan): the plan launches a kernel the source does not define.
// The source defines scale_add_kernel; the plan launches scale_add_vec4_kernel (e.g. hoping the
// evaluator resolves it from an earlier candidate's module or a cached cubin). Everything else
// (allocations, args) is valid. -> static.plan_kernel_unknown.
// EXPECTED_REJECTION = "static.plan_kernel_unknown"
// out[i] = relu(x[i]) * 2 + y[i]; 64-bit grid-stride loop, any grid is correct.
extern "C" __global__ void scale_add_kernel(const float* __restrict__ x, const float* __restrict__ y,
                                           float* __restrict__ out, long long n) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = x[i];
        out[i] = (v < 0.0f ? 0.0f : v) * 2.0f + y[i];
    }
}
