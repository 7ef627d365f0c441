import conftest  # noqa: F401
import converter_tasks as t
from kernelwright.converter.convert import convert_task
from kernelwright.converter.model import ConvertOptions

if __name__ == "__main__":
    o = ConvertOptions(device="cuda", timeout_s=300)
    for n in ["CONV_RELU_BIAS", "LSTM", "BATCHNORM", "DROPOUT", "FORWARD_RAISES", "OS_SYSTEM", "HUGE_INPUTS", "SLEEPS"]:
        import dataclasses
        r = convert_task(getattr(t, n), dataclasses.replace(o, timeout_s=20) if n == "SLEEPS" else o, task_name=n)
        print(n, r.outcome.value, r.method, r.device, f"{r.duration_s:.1f}s", r.max_abs_error, r.message[:200], flush=True)
