// Fault: writes through a wild pointer -> "an illegal memory access was encountered".
extern "C" __global__ void vector_add_wild(const float* x, const float* y, float* out, long long n) {
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    float* wild = (float*)(0x10ULL + (unsigned long long)i * 4096ULL);
    if (i < n) { out[i] = x[i] + y[i]; wild[0] = 1.0f; }
}
