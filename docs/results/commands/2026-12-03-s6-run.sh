# Session 6 (H200), calls 1-2: the 4 level-2 tasks session 5 did not reach (budget 6, resumed from
# docs/results/s5/run3/results.jsonl), then level 3 through the evolver (budget 4), resumable across calls.
# Before: git archive HEAD services scripts | gzip > snap.tgz ; cp <previous level-2 results> seed-l2.jsonl ;
#         cp <previous call's level-3 results, if any> seed-l3.jsonl ; carry [".whl", ".kb"]
# KW_CALL_S (default 570) is the call's length in seconds.
[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; rm -rf /tmp/snap; mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap; ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
T0=$(date +%s); date -u > $OUT/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/log.txt
mkdir -p $OUT/evo/l2 $OUT/evo/l3
[ -f seed-l2.jsonl ] && cp seed-l2.jsonl $OUT/evo/l2/results.jsonl
[ -f seed-l3.jsonl ] && cp seed-l3.jsonl $OUT/evo/l3/results.jsonl
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 > $OUT/evo/util.csv &
SMI=$!
left() { echo $(( ${KW_CALL_S:-570} - ($(date +%s) - T0) )); }
if [ -f seed-l2.jsonl ]; then
  KW_EVOLVER_STATE_PATH=$OUT/evo/state-l2.db timeout $(left) python3 -m kernelwright.cli.main bench .kb/dev/level2 --budget 6 --concurrency 4 --resume --out $OUT/evo/l2 > $OUT/evo/bench-l2.log 2>&1; echo "level2 rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
fi
KW_EVOLVER_STATE_PATH=$OUT/evo/state-l3.db timeout $(left) python3 -m kernelwright.cli.main bench .kb/dev/level3 --budget 4 --concurrency 4 --resume --out $OUT/evo/l3 > $OUT/evo/bench-l3.log 2>&1; echo "level3 rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
kill $SMI
cp $OUT/evo/l2/results.jsonl $OUT/results-l2.jsonl 2>/dev/null; cp $OUT/evo/l3/results.jsonl $OUT/results-l3.jsonl 2>/dev/null
cd $OUT && tar czf evo.tgz evo; rm -rf evo; cat $OUT/log.txt; wc -l $OUT/results-l*.jsonl
