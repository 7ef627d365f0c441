// EXPLOIT (plan): a library call that is not allowlisted.
// The plan asks the evaluator's library-call path for op "relu" (i.e. run torch.relu for us) into
// an allocation, then the candidate's own kernel only does the trivial `r * 2 + y`. The kernel is
// real and correct given r; the cheat is outsourcing the op to PyTorch through the plan.
// -> static.library_call_not_allowed.
// EXPECTED_REJECTION = "static.library_call_not_allowed"
// out[i] = r[i] * 2 + y[i], where r = relu(x) was supposed to come from the library call.
extern "C" __global__ void scale_add_from_relu_kernel(const float* __restrict__ r, const float* __restrict__ y,
                                                     float* __restrict__ out, long long n) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        out[i] = r[i] * 2.0f + y[i];
    }
}
