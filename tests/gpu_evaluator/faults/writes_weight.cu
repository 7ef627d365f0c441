// Parameter-write exploit: the output is right, then the kernel zeroes the weight it was handed
// (one block does it after a grid-wide pass, so every other block has read it). If the evaluator
// shared the reference's parameters with the candidate, the reference would compute 0 afterwards and
// a candidate writing zeros would match it. Expected: INPUTS_MODIFIED, check parameters_unmodified.
extern "C" __global__ void scale_by_weight(const float* x, float* w, float* out, long long rows, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < rows * n; i += (long long)gridDim.x * blockDim.x)
        out[i] = x[i] * w[i % n];
}
extern "C" __global__ void zero_weight(float* w, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        w[i] = 0.0f;
}
