// Fault: never terminates (spins on a value no thread ever writes). The pool must kill the worker.
extern "C" __global__ void vector_add_hang(const float* x, const float* y, float* out, long long n) {
    volatile float* flag = out;
    long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    while (flag[0] != 12345.0f) { }
    if (i < n) out[i] = x[i] + y[i];
}
