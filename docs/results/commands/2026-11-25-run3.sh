python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1; export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp && ln -sfn $PWD/services /tmp/kwp/kernelwright && export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
date -u > $OUT/date.txt
(KW_GPU_EVALUATOR_PORT=50054 timeout 150 python3 -m kernelwright.cli.main serve gpu-evaluator > $OUT/serve.log 2>&1 &)
for i in $(seq 1 60); do python3 -c "import grpc;from grpc_health.v1 import health_pb2 as h,health_pb2_grpc as g;c=grpc.insecure_channel('127.0.0.1:50054');r=g.HealthStub(c).Check(h.HealthCheckRequest(),timeout=1);assert r.status==1" 2>/dev/null && break; sleep 1; done
echo "serving after ${i}s" > $OUT/grpc.log
for run in 1 2; do for fmt in fast.cu kernelbench.py; do s=$(date +%s.%N); timeout 100 python3 -m kernelwright.cli.main evaluate .kb/dev/level1/19_ReLU.py tests/gpu_evaluator/corpus/19_ReLU/$fmt --evaluator 127.0.0.1:50054 --json $OUT/grpc_${run}_$fmt.json >> $OUT/grpc.log 2>&1; rc=$?; e=$(date +%s.%N); echo "run=$run fmt=$fmt rc=$rc client_wall_s=$(python3 -c "print(round($e-$s,3))")" >> $OUT/grpc.log; done; done
python3 - >> $OUT/grpc.log <<'PY'
import grpc, time
from kernelwright.gpu_evaluator.v1 import gpu_evaluator_pb2 as pb, gpu_evaluator_pb2_grpc as g
from kernelwright.gpu_evaluator.candidate_files import load_candidate
from kernelwright.common.v1 import task_pb2
c = g.GpuEvaluatorServiceStub(grpc.insecure_channel('127.0.0.1:50054'))
cand = load_candidate(__import__('pathlib').Path('tests/gpu_evaluator/corpus/19_ReLU/fast.cu'))
src = open('.kb/dev/level1/19_ReLU.py').read()
try:
    req = pb.EvaluateRequest(task=task_pb2.Task(name='19_ReLU', source=src), candidate=cand)
    ts = []
    for _ in range(5):
        t = time.perf_counter(); r = c.Evaluate(req, timeout=120); ts.append(time.perf_counter() - t)
    print('raw Evaluate RPC (repeat of a cached candidate) seconds:', [round(x, 4) for x in ts], 'cached:', r.verdict.cached, r.verdict.outcome)
except Exception as e:
    print("raw rpc failed:", type(e).__name__, e)
PY
pkill -TERM -f "serve gpu-evaluator"
timeout 420 python3 scripts/evaluator_gpu_suite.py --out $OUT/suite --bench --cold-kb-builds 1 > $OUT/bench.log 2>&1; echo "bench rc=$?" >> $OUT/bench.log
grep -v "^│\|^┃\|^┏\|^┡\|^└" $OUT/grpc.log; tail -40 $OUT/bench.log
