python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1; export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp && ln -sfn $PWD/services /tmp/kwp/kernelwright && export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
date -u > $OUT/date.txt; nproc >> $OUT/date.txt
mkdir -p $OUT/side
# side jobs (light on the GPU), concurrent with phase 1: SwinV2 re-validation, the evaluator service over gRPC, one translate
( timeout 120 python3 scripts/convert_devset.py .kb/final/level3/30_SwinTransformerV2.py --device cuda --trials 3 --jobs 1 --timeout 110 --json $OUT/side/swin.json > $OUT/side/swin.log 2>&1 ) &
( (KW_GPU_EVALUATOR_PORT=50054 timeout 200 python3 -m kernelwright.cli.main serve gpu-evaluator > $OUT/side/serve.log 2>&1 &)
  for i in $(seq 1 90); do python3 -c "import grpc;from grpc_health.v1 import health_pb2 as h,health_pb2_grpc as g;c=grpc.insecure_channel('127.0.0.1:50054');r=g.HealthStub(c).Check(h.HealthCheckRequest(),timeout=1);assert r.status==1" 2>/dev/null && break; sleep 1; done
  echo "serving after ${i}s" > $OUT/side/grpc.log
  for run in 1 2; do for fmt in fast.cu kernelbench.py; do s=$(date +%s.%N); timeout 150 python3 -m kernelwright.cli.main evaluate .kb/dev/level1/19_ReLU.py tests/gpu_evaluator/corpus/19_ReLU/$fmt --evaluator 127.0.0.1:50054 --json $OUT/side/grpc_${run}_$fmt.json >> $OUT/side/grpc.log 2>&1; rc=$?; e=$(date +%s.%N); echo "run=$run fmt=$fmt rc=$rc client_wall_s=$(python3 -c "print(round($e-$s,3))")" >> $OUT/side/grpc.log; done; done
  python3 docs/results/commands/rpc_probe.py >> $OUT/side/grpc.log 2>&1
  pkill -TERM -f "serve gpu-evaluator" ) &
( timeout 300 python3 -m kernelwright.cli.main translate .kb/dev/level2/12_Gemm_Multiply_LeakyReLU.py --out $OUT/side/tr --json $OUT/side/tr/12.json > $OUT/side/translate.log 2>&1; echo "translate rc=$?" >> $OUT/side/translate.log ) &
# phase 1: correctness of the builtin generator's candidates, level 2 first, 6 tasks at a time
timeout 500 python3 scripts/builtin_coverage.py .kb/dev/level2 .kb/dev/level1 --evaluate --verify-only --candidates 2 --jobs 6 --timeout 240 --out $OUT/cov_verify > $OUT/cov_verify.log 2>&1; echo "phase1 rc=$?" >> $OUT/cov_verify.log
wait
python3 - <<'PY'
import json, os
rows=[json.loads(l) for l in open(os.environ['OUT']+'/cov_verify.jsonl')]
for lv in ('1','2'):
    r=[x for x in rows if x['level']==lv]; print('level', lv, 'rows', len(r), 'correct', sum(1 for x in r if x.get('correct')))
PY
tail -3 $OUT/side/swin.log; grep -v "^│\|^┃\|^┏\|^┡\|^└" $OUT/side/grpc.log | tail -12; tail -15 $OUT/side/translate.log
grep -v '"correct": true' $OUT/cov_verify.jsonl | cut -c1-400 | head -40
