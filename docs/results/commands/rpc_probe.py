import grpc, time
from pathlib import Path
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2 as pb, gpu_evaluator_pb2_grpc as g
from kernelwright.gpu_evaluator.candidate_files import load_candidate
from kernelwright.common.v1 import task_pb2
c = g.GpuEvaluatorServiceStub(grpc.insecure_channel('127.0.0.1:50054'))
cand = load_candidate(Path('tests/gpu_evaluator/corpus/19_ReLU/fast.cu'))
src = Path('.kb/dev/level1/19_ReLU.py').read_text()
req = pb.EvaluateRequest(task=task_pb2.Task(name='19_ReLU', source=src), candidate=cand)
ts = []
for _ in range(10):
    t = time.perf_counter(); r = c.Evaluate(req, timeout=150); ts.append(time.perf_counter() - t)
print('raw Evaluate RPC x10 seconds:', [round(x, 4) for x in ts], 'cached(last):', r.verdict.cached, r.verdict.outcome)
