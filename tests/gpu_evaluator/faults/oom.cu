// Fault: the plan asks for three 30 GiB scratch buffers (90 GiB > an 80 GB card): out of memory.
extern "C" __global__ void vector_add_big(const float* x, const float* y, float* out, long long n,
                                          float* a, float* b, float* c) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i < n) out[i] = x[i] + y[i];
}
