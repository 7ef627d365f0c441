// EXPLOIT (plan): the plan references a tensor name that is neither an input, a parameter nor an
// allocation ("result" instead of the declared "out"), probing whether the evaluator resolves names
// loosely (e.g. to a leftover buffer or the reference output). -> static.plan_invalid.
// EXPECTED_REJECTION = "static.plan_invalid"
// out[i] = relu(x[i]) * 2 + y[i]; 64-bit grid-stride loop, any grid is correct.
extern "C" __global__ void scale_add_kernel(const float* __restrict__ x, const float* __restrict__ y,
                                           float* __restrict__ out, long long n) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float v = x[i];
        out[i] = (v < 0.0f ? 0.0f : v) * 2.0f + y[i];
    }
}
