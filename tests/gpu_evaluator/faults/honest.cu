// Honest vector add: the candidate run after each fault, to show the fresh worker works.
extern "C" __global__ void vector_add(const float* x, const float* y, float* out, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        out[i] = x[i] + y[i];
}
