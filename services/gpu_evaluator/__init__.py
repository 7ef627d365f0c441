"""kernelwright.gpu_evaluator."""
