"""The launch proof's reading of profiled kernel names (launch_proof.py): own kernels by whole name,
memory housekeeping allowed, any other PyTorch or library kernel is foreign compute. The names are
the forms the torch profiler reports for ATen, cuBLAS, CUTLASS and user kernels."""

from pathlib import Path

import pytest

from kernelwright.common.v1 import verdict_pb2
from kernelwright.gpu_evaluator.launch_proof import (
    is_header_library,
    is_housekeeping,
    is_own,
    short_name,
    split_kernels,
)

V = verdict_pb2
ADVERSARIAL = Path(__file__).parent / "adversarial"

FILL = ("void at::native::vectorized_elementwise_kernel<4, at::native::FillFunctor<float>, std::array<char*, 1ul> >"
        "(int, at::native::FillFunctor<float>, std::array<char*, 1ul>)")
COPY = ("void at::native::unrolled_elementwise_kernel<at::native::direct_copy_kernel_cuda(at::TensorIteratorBase&)"
        "::{lambda()#3}::operator()() const::{lambda()#7}::operator()() const::{lambda(float)#1}, "
        "std::array<char*, 2ul>, 4, TrivialOffsetCalculator<1, unsigned int>, TrivialOffsetCalculator<1, unsigned int>,"
        " at::native::memory::LoadWithCast<1>, at::native::memory::StoreWithCast<1> >(int, ...)")
ARANGE = ("void at::native::(anonymous namespace)::elementwise_kernel_with_index<int, "
          "at::native::arange_cuda_out(c10::Scalar const&, c10::Scalar const&, c10::Scalar const&, at::Tensor&)"
          "::{lambda()#1}::operator()() const::{lambda()#2}::operator()() const::{lambda(long)#1}>(int, ...)")
ADD = ("void at::native::vectorized_elementwise_kernel<4, at::native::CUDAFunctor_add<float>, std::array<char*, 3ul> >"
       "(int, at::native::CUDAFunctor_add<float>, std::array<char*, 3ul>)")
MUL = ("void at::native::elementwise_kernel<128, 4, at::native::gpu_kernel_impl_nocast<at::native::BinaryFunctor<"
       "float, float, float, at::native::binary_internal::MulFunctor<float> > >(at::TensorIteratorBase&, "
       "at::native::BinaryFunctor<float, float, float, at::native::binary_internal::MulFunctor<float> > const&)"
       "::{lambda(int)#1}>(int, ...)")
SUM = ("void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, at::native::func_wrapper_t<float, "
       "at::native::sum_functor<float, float, float>::operator()(at::TensorIterator&)::{lambda(float, float)#1}>, "
       "unsigned int, float, 4, 4> >(at::native::ReduceOp<...>)")
CUBLAS = "sm90_xmma_gemm_f32f32_f32f32_f32_tn_n_tilesize128x128x32_warpgroupsize1x1x1_execute_segment_k_off_kernel__5x_cublas"
CUTLASS = "void cutlass::Kernel2<cutlass_80_simt_sgemm_128x128_8x4_nn_align1>(cutlass_80_simt_sgemm_128x128_8x4_nn_align1::Params)"


def test_own_kernels_are_matched_by_whole_name():
    assert is_own("kw_s1_pointwise_relu", ["kw_s1_pointwise_relu"])  # extern "C", as NVRTC and nvcc name it
    assert is_own("relu_kernel(float const*, float*, int)", ["relu_kernel"])
    assert is_own("void ns::relu_kernel<float>(float const*, float*, int)", ["relu_kernel"])
    assert not is_own("kw_s1_pointwise_relu_add", ["kw_s1_pointwise_relu"])
    # A candidate must not claim library or ATen kernels by naming its own after a fragment of theirs.
    assert not is_own(CUBLAS, ["gemm"]) and not is_own(CUTLASS, ["sgemm"])
    assert not is_own(ADD, ["elementwise_kernel"]) and not is_own(ADD, ["add"])


def test_memory_housekeeping_is_allowed_and_compute_is_not():
    for name in ("Memcpy HtoD (Pageable -> Device)", "Memset (Device)", FILL, COPY, ARANGE):
        assert is_housekeeping(name), name
    for name in (ADD, MUL, SUM, CUBLAS, CUTLASS, "triton_poi_fused_add_relu_0"):
        assert not is_housekeeping(name), name


def test_cub_and_thrust_from_the_candidate_are_neutral_but_atens_cub_is_foreign():
    own_cub = ("void cub::CUB_200800_900_NS::DeviceReduceKernel<cub::CUB_200800_900_NS::DeviceReducePolicy<float, int, "
               "cuda::std::plus<void> >::Policy600, float const*, float*, int, cuda::std::plus<void> >(float const*, ...)")
    aten_cub = ("void at_cuda_detail::cub::DeviceScanKernel<at_cuda_detail::cub::DeviceScanPolicy<float>::Policy600, "
                "float const*, float*, at_cuda_detail::cub::ScanTileState<float, true>, std::plus<float> >(...)")
    thrust = "void thrust::cuda_cub::core::_kernel_agent<thrust::cuda_cub::__transform::unary_transform_f<...> >(...)"
    assert is_header_library(own_cub) and is_header_library(thrust) and not is_header_library(aten_cub)
    own, foreign = split_kernels(["mine(float*)", own_cub, thrust, aten_cub], ["mine"])
    assert own == ["mine(float*)"] and foreign == [aten_cub]


def test_split_separates_own_kernels_from_foreign_compute():
    launched = ["relu2_kernel(float const*, float*, long long)", FILL, COPY, ADD, "Memcpy DtoD (Device -> Device)"]
    own, foreign = split_kernels(launched, ["relu2_kernel"])
    assert own == [launched[0]] and foreign == [ADD]
    assert split_kernels(launched[:3], ["relu2_kernel"])[1] == []
    assert short_name(ADD) == "at::native::CUDAFunctor_add"
    assert short_name(SUM).startswith("at::native::sum_functor")


def test_the_pipeline_rejects_foreign_compute_in_a_kernelbench_candidate(monkeypatch):
    """The pipeline's launch proof with a stubbed profiler: KernelBench format -> FOREIGN_COMPUTE,
    the fast format (its library steps are the evaluator's own) -> no such check."""
    from kernelwright.gpu_evaluator import pipeline
    from kernelwright.gpu_evaluator.runners import KernelBenchRunner

    class Event:
        def __init__(self, name):
            self.name, self.device_type = name, pipeline.torch.autograd.DeviceType.CUDA

    class Profile:
        def __init__(self, *a, **k):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def events(self):
            return [Event("relu2_kernel(float const*, float*, long long)"), Event(ADD), Event(FILL)]

    import torch.profiler

    monkeypatch.setattr(torch.profiler, "profile", Profile)
    monkeypatch.setattr(pipeline.torch.cuda, "synchronize", lambda *a: None)
    monkeypatch.setattr(pipeline.harness, "make_inputs", lambda *a: [])
    monkeypatch.setattr(pipeline.harness, "run", lambda fn, inputs: None)

    ctx = type("Ctx", (), {"device": "cpu"})()
    task = type("Task", (), {"module": None})()
    kb = KernelBenchRunner.__new__(KernelBenchRunner)
    kb.kernel_names = ["relu2_kernel"]
    verdict = V.Verdict()
    assert pipeline._launch_proof(ctx, task, kb, verdict) == \
        V.VERDICT_OUTCOME_FOREIGN_COMPUTE
    check = verdict.checks[-1]
    assert check.name == "launch_proof.foreign_compute" and not check.passed and "CUDAFunctor_add" in check.message

    class FastLike(pipeline.CandidateRunner):
        kernel_names = ["relu2_kernel"]

    verdict = V.Verdict()
    assert pipeline._launch_proof(ctx, task, FastLike(), verdict) is None
    assert [c.name for c in verdict.checks] == ["launch_proof"]


@pytest.mark.gpu
@pytest.mark.parametrize("name, outcome", [
    ("adv_operator_torch_compute.py", V.VERDICT_OUTCOME_FOREIGN_COMPUTE),
    ("adv_getattr_torch_compute.py", V.VERDICT_OUTCOME_FOREIGN_COMPUTE),
    ("honest_simple.py", V.VERDICT_OUTCOME_ACCEPTED),
])
def test_on_the_gpu(name, outcome, tmp_path):
    from kernelwright.gpu_evaluator.candidate_files import load_candidate
    from kernelwright.gpu_evaluator.pipeline import EvalOptions, evaluate
    from kernelwright.gpu_evaluator.worker import make_context

    task = (ADVERSARIAL / "task_scale_add.py").read_text()
    verdict = evaluate(make_context("test"), task, load_candidate(ADVERSARIAL / name),
                       EvalOptions(cache_dir=str(tmp_path)))
    assert verdict.outcome == outcome, verdict.message
