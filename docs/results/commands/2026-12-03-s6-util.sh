# Session 6 (H200), call 2: the compile warmer's effect on GPU busy time, A/B with 4 concurrent runs of one
# task (warmer on first, then off; each with its own cold Inductor/Triton caches so neither inherits the
# other's compiles), the GPU tests of the warmer, then level 3 through the evolver (resumed, budget 4).
# Before: git archive HEAD services scripts | gzip > snap.tgz ; cp <level-3 results so far> seed-l3.jsonl ;
#         carry [".whl", ".kb"]
[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; rm -rf /tmp/snap; mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap; ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
T0=$(date +%s); date -u > $OUT/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/log.txt
TASK=.kb/dev/level2/${KW_UTIL_TASK:-12_Gemm_Multiply_LeakyReLU}.py
for w in on off; do
  TORCHINDUCTOR_CACHE_DIR=/tmp/ind-$w TRITON_CACHE_DIR=/tmp/tri-$w timeout 150 python3 /tmp/snap/scripts/evolver_gpu_utilization.py --runs 4 --task $TASK --candidates 32 --wall 90 --warm-compile $w > $OUT/util-warm-$w.json 2> $OUT/util-warm-$w.err; echo "util warm=$w rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
done
mkdir -p $OUT/side
cp -r tests /tmp/snap/ 2>/dev/null; cp pyproject.toml /tmp/snap/; (cd /tmp/snap && timeout 120 python3 -m pytest tests/gpu_evaluator/test_compile_warmer.py -m gpu -q -p no:cacheprovider) > $OUT/side/pytest-gpu.txt 2>&1; echo "pytest gpu rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
mkdir -p $OUT/evo/l3
[ -f seed-l3.jsonl ] && cp seed-l3.jsonl $OUT/evo/l3/results.jsonl
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 > $OUT/evo/util.csv &
SMI=$!
LEFT=$(( ${KW_CALL_S:-570} - ($(date +%s) - T0) ))
KW_EVOLVER_STATE_PATH=$OUT/evo/state-l3.db timeout $LEFT python3 -m kernelwright.cli.main bench .kb/dev/level3 --budget 4 --concurrency 4 --resume --out $OUT/evo/l3 > $OUT/evo/bench-l3.log 2>&1; echo "level3 rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
kill $SMI
cp $OUT/evo/l3/results.jsonl $OUT/results-l3.jsonl 2>/dev/null
cd $OUT && tar czf side.tgz evo side util-warm-*.err; rm -rf evo side util-warm-*.err; cat $OUT/log.txt; tail -3 $OUT/util-warm-*.json | cut -c1-600; wc -l $OUT/results-l3.jsonl
