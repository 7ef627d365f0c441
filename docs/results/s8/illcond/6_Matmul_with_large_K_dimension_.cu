// kernelwright builtin generator (deterministic lowering of the ATen graph, no LLM).
// Schedule: block_size=256, unroll=1, reduce_block=256, reduce_strategy=0, use_library=0, gemm_schedule=0, conv_schedule=0, reduce_splits=0
// Index type: int. Stages:
//   0: own GEMM (aten.mm) -> out0

template <bool IS_MAX>
__device__ __forceinline__ bool kw_arg_better_s(float v, long long i, float bv, long long bi) {
    if (v != v) return !(bv != bv) || i < bi;
    if (bv != bv) return false;
    if (IS_MAX ? v > bv : v < bv) return true;
    return v == bv && i < bi;
}

// kernelwright builtin GEMM (kw_s0): tile 128x128x8, 8x8 per thread, 256 threads.

#ifndef KW_COMPUTE_COMMON_DEVICE
#define KW_COMPUTE_COMMON_DEVICE
__device__ __forceinline__ long long kw_min_ll(long long a, long long b) { return a < b ? a : b; }
__device__ __forceinline__ long long kw_max_ll(long long a, long long b) { return a > b ? a : b; }
#endif

// C[bt, i, j] = alpha * sum_k A[bt, i, k] * B[bt, k, j] (+ bias); fp32 FFMA, fp32 accumulators.
// A(bt,i,k) = A[bt*sab + i*sam + k*sak], B(bt,k,j) = B[bt*sbb + k*sbk + j*sbn] (64-bit offsets).
// splits > 1: grid.z runs batch*splits; split s sums k in [s*kps, min(K, (s+1)*kps)) and stores
// raw partial sums to C laid out [splits, batch, M, N]; kw_s0_splitk_reduce finishes.
#define kw_s0_TM 128
#define kw_s0_TN 128
#define kw_s0_TK 8
#define kw_s0_RM 8
#define kw_s0_RN 8
#define kw_s0_NTX (kw_s0_TN / kw_s0_RN)
#define kw_s0_NTY (kw_s0_TM / kw_s0_RM)
#define kw_s0_NT (kw_s0_NTX * kw_s0_NTY)
#define kw_s0_A_PER_T ((kw_s0_TM * kw_s0_TK) / kw_s0_NT)
#define kw_s0_B_PER_T ((kw_s0_TK * kw_s0_TN) / kw_s0_NT)

extern "C" __global__ void __launch_bounds__(kw_s0_NT) kw_s0_gemm(
    const float* __restrict__ A, const float* __restrict__ B,  float* __restrict__ C,
    long long batch, long long M, long long N, long long K,
    long long sab, long long sam, long long sak, long long sbb, long long sbk, long long sbn,
    long long splits, long long kps, float alpha)
{
    // +4 padding keeps the transposed stores of the k-contiguous load path off one bank.
    __shared__ float As[2][kw_s0_TK][kw_s0_TM + 4];
    __shared__ float Bs[2][kw_s0_TK][kw_s0_TN + 4];
    const int tid = threadIdx.x;
    const int tx = tid % kw_s0_NTX;
    const int ty = tid / kw_s0_NTX;
    // Coalesced global loads: consecutive threads walk the operand's unit-stride dimension.
    const bool a_k_contig = (sak == 1);
    const bool b_n_contig = (sbn == 1) || (sbk != 1);
    const long long m_tiles = (M + kw_s0_TM - 1) / kw_s0_TM;
    const long long col0 = (long long)blockIdx.x * kw_s0_TN;
    for (long long z = blockIdx.z; z < batch * splits; z += gridDim.z) {
        const long long bt = z / splits;
        const long long sp = z - bt * splits;
        const long long k_begin = sp * kps;
        const long long k_end = kw_min_ll(K, k_begin + kps);
        const float* __restrict__ Ab = A + bt * sab;
        const float* __restrict__ Bb = B + bt * sbb;
        for (long long mt = blockIdx.y; mt < m_tiles; mt += gridDim.y) {
            const long long row0 = mt * kw_s0_TM;
            float acc[kw_s0_RM][kw_s0_RN];
#pragma unroll
            for (int r = 0; r < kw_s0_RM; ++r)
#pragma unroll
                for (int c = 0; c < kw_s0_RN; ++c) acc[r][c] = 0.0f;
            float a_reg[kw_s0_A_PER_T];
            float b_reg[kw_s0_B_PER_T];
            // Each thread always loads the same (row, k-offset) slots of a tile: set their pointers once.
            const float* a_ptr[kw_s0_A_PER_T];
            const float* b_ptr[kw_s0_B_PER_T];
            bool a_ok[kw_s0_A_PER_T], b_ok[kw_s0_B_PER_T];
            int a_kk[kw_s0_A_PER_T], b_kk[kw_s0_B_PER_T];
            const long long a_step = (long long)kw_s0_TK * sak;
            const long long b_step = (long long)kw_s0_TK * sbk;
#pragma unroll
            for (int q = 0; q < kw_s0_A_PER_T; ++q) {
                const int e = tid + q * kw_s0_NT;
                const int ii = a_k_contig ? e / kw_s0_TK : e % kw_s0_TM;
                a_kk[q] = a_k_contig ? e % kw_s0_TK : e / kw_s0_TM;
                a_ok[q] = row0 + ii < M;
                a_ptr[q] = Ab + (a_ok[q] ? (row0 + ii) * sam : 0) + (k_begin + a_kk[q]) * sak;
            }
#pragma unroll
            for (int q = 0; q < kw_s0_B_PER_T; ++q) {
                const int e = tid + q * kw_s0_NT;
                const int jj = b_n_contig ? e % kw_s0_TN : e / kw_s0_TK;
                b_kk[q] = b_n_contig ? e / kw_s0_TN : e % kw_s0_TK;
                b_ok[q] = col0 + jj < N;
                b_ptr[q] = Bb + (b_ok[q] ? (col0 + jj) * sbn : 0) + (k_begin + b_kk[q]) * sbk;
            }
            int buf = 0;
            if (k_begin < k_end) {
                const long long kf = k_begin;
                
#pragma unroll
                for (int q = 0; q < kw_s0_A_PER_T; ++q) {
                    a_reg[q] = (a_ok[q] && kf + a_kk[q] < k_end) ? *a_ptr[q] : 0.0f;
                    a_ptr[q] += a_step;
                }
#pragma unroll
                for (int q = 0; q < kw_s0_B_PER_T; ++q) {
                    b_reg[q] = (b_ok[q] && kf + b_kk[q] < k_end) ? *b_ptr[q] : 0.0f;
                    b_ptr[q] += b_step;
                }
                const int sb = 0;
                
#pragma unroll
                for (int q = 0; q < kw_s0_A_PER_T; ++q) {
                    const int e = tid + q * kw_s0_NT;
                    const int ii = a_k_contig ? e / kw_s0_TK : e % kw_s0_TM;
                    const int kk = a_k_contig ? e % kw_s0_TK : e / kw_s0_TM;
                    As[sb][kk][ii] = a_reg[q];
                }
#pragma unroll
                for (int q = 0; q < kw_s0_B_PER_T; ++q) {
                    const int e = tid + q * kw_s0_NT;
                    const int jj = b_n_contig ? e % kw_s0_TN : e / kw_s0_TK;
                    const int kk = b_n_contig ? e / kw_s0_TN : e % kw_s0_TK;
                    Bs[sb][kk][jj] = b_reg[q];
                }
            }
            __syncthreads();
            for (long long k0 = k_begin; k0 < k_end; k0 += kw_s0_TK) {
                const bool has_next = k0 + kw_s0_TK < k_end;
                if (has_next) {
                    const long long kf = k0 + kw_s0_TK;
                    
#pragma unroll
                for (int q = 0; q < kw_s0_A_PER_T; ++q) {
                    a_reg[q] = (a_ok[q] && kf + a_kk[q] < k_end) ? *a_ptr[q] : 0.0f;
                    a_ptr[q] += a_step;
                }
#pragma unroll
                for (int q = 0; q < kw_s0_B_PER_T; ++q) {
                    b_reg[q] = (b_ok[q] && kf + b_kk[q] < k_end) ? *b_ptr[q] : 0.0f;
                    b_ptr[q] += b_step;
                }
                }
#pragma unroll
                for (int kk = 0; kk < kw_s0_TK; ++kk) {
                    float av[kw_s0_RM], bv[kw_s0_RN];
#pragma unroll
                    for (int r = 0; r < kw_s0_RM; ++r) av[r] = As[buf][kk][ty + r * kw_s0_NTY];
#pragma unroll
                    for (int c = 0; c < kw_s0_RN; ++c) bv[c] = Bs[buf][kk][tx + c * kw_s0_NTX];
#pragma unroll
                    for (int r = 0; r < kw_s0_RM; ++r)
#pragma unroll
                        for (int c = 0; c < kw_s0_RN; ++c) acc[r][c] = fmaf(av[r], bv[c], acc[r][c]);
                }
                if (has_next) {
                    const int sb = buf ^ 1;
                    
#pragma unroll
                for (int q = 0; q < kw_s0_A_PER_T; ++q) {
                    const int e = tid + q * kw_s0_NT;
                    const int ii = a_k_contig ? e / kw_s0_TK : e % kw_s0_TM;
                    const int kk = a_k_contig ? e % kw_s0_TK : e / kw_s0_TM;
                    As[sb][kk][ii] = a_reg[q];
                }
#pragma unroll
                for (int q = 0; q < kw_s0_B_PER_T; ++q) {
                    const int e = tid + q * kw_s0_NT;
                    const int jj = b_n_contig ? e % kw_s0_TN : e / kw_s0_TK;
                    const int kk = b_n_contig ? e / kw_s0_TN : e % kw_s0_TK;
                    Bs[sb][kk][jj] = b_reg[q];
                }
                }
                // One barrier per tile: the other buffer was last read before the previous one.
                __syncthreads();
                buf ^= 1;
            }
            const long long out_base = (splits > 1 ? (sp * batch + bt) : bt) * M * N;
#pragma unroll
            for (int r = 0; r < kw_s0_RM; ++r) {
                const long long gi = row0 + ty + r * kw_s0_NTY;
                if (gi >= M) continue;
#pragma unroll
                for (int c = 0; c < kw_s0_RN; ++c) {
                    const long long gj = col0 + tx + c * kw_s0_NTX;
                    if (gj >= N) continue;
                    float v = acc[r][c];
                    if (splits == 1) { v = alpha * v ; }
                    C[out_base + gi * N + gj] = v;
                }
            }
        }
    }
}

// out = alpha * (sum over splits of the partials, in split order) (+ bias); a no-op for splits == 1.
extern "C" __global__ void kw_s0_splitk_reduce(
    const float* __restrict__ P,  float* __restrict__ C,
    long long batch, long long M, long long N, long long splits, float alpha)
{
    if (splits <= 1) return;
    const long long total = batch * M * N;
    const long long step = (long long)gridDim.x * blockDim.x;
    for (long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x; idx < total; idx += step) {
        float s = 0.0f;
        for (long long sp = 0; sp < splits; ++sp) s += P[sp * total + idx];
        const long long gj = idx % N;
        const long long gi = (idx / N) % M;
        float v = alpha * s ;
        C[idx] = v;
    }
}
