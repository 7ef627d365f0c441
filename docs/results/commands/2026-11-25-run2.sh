set -x
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1; export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp && ln -sfn $PWD/services /tmp/kwp/kernelwright && export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
date -u > $OUT/date.txt
timeout 60 python3 scripts/convert_devset.py .kb/final/level3/30_SwinTransformerV2.py --device cuda --trials 3 --jobs 1 --timeout 55 --json $OUT/swin.json > $OUT/swin.log 2>&1 &
SWIN=$!
(KW_GPU_EVALUATOR_PORT=50054 timeout 100 python3 -m kernelwright.cli.main serve gpu-evaluator > $OUT/serve.log 2>&1 &)
for i in $(seq 1 60); do python3 -c "import grpc;from grpc_health.v1 import health_pb2 as h,health_pb2_grpc as g;c=grpc.insecure_channel('127.0.0.1:50054');r=g.HealthStub(c).Check(h.HealthCheckRequest(),timeout=1);assert r.status==1" 2>/dev/null && break; sleep 1; done
echo "serving after ${i}s" > $OUT/grpc.log
for fmt in fast.cu kernelbench.py; do /usr/bin/time -v -o $OUT/grpc_time_$fmt.txt timeout 80 python3 -m kernelwright.cli.main evaluate .kb/dev/level1/19_ReLU.py tests/gpu_evaluator/corpus/19_ReLU/$fmt --evaluator 127.0.0.1:50054 --json $OUT/grpc_$fmt.json >> $OUT/grpc.log 2>&1; echo "rc=$?" >> $OUT/grpc.log; done
pkill -TERM -f "serve gpu-evaluator"; wait $SWIN
timeout 430 python3 scripts/evaluator_gpu_suite.py --out $OUT/suite --adversarial --faults > $OUT/suite.log 2>&1; echo "suite rc=$?" >> $OUT/suite.log
tail -5 $OUT/swin.log; tail -30 $OUT/grpc.log; tail -60 $OUT/suite.log
