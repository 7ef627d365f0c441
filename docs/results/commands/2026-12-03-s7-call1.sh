# Session 7 (H200), call 1: the GPU checks session 6 wrote but never ran, then re-times.
#  1. pytest -m gpu tests/gpu_evaluator (warmer runs no kernel, launch proof, timing audit, old pipeline tests)
#  2. scripts/evaluator_gpu_suite.py --adversarial (every honest case ACCEPTED, every cheat rejected for its reason)
#  3. the two dev MLPs' first library-path candidates after the library-only fix (docs/results/s6/mlp-fix)
#  4. level-2 tasks 1-4 through the evolver (budget 6) under the refill+audit timing, to compare with session 6
# Before: git archive HEAD services scripts | gzip > snap.tgz ; carry [".whl", ".kb"]
[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; rm -rf /tmp/snap; mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap; ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
T0=$(date +%s); date -u > $OUT/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/log.txt
left() { echo $(( ${KW_CALL_S:-560} - ($(date +%s) - T0) )); }
timeout 220 python3 -m pytest tests/gpu_evaluator -m gpu -q -p no:cacheprovider -rA --timeout 150 > $OUT/pytest-gpu.txt 2>&1; echo "pytest gpu rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
timeout 200 python3 scripts/evaluator_gpu_suite.py --out $OUT/suite --adversarial > $OUT/suite.log 2>&1; echo "suite rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
for n in 1_MLP 3_DeepNarrowMLP; do
  timeout 45 python3 -m kernelwright.cli.main evaluate .kb/dev/level3/$n.py docs/results/s6/mlp-fix/$n.cu --json $OUT/verdict-$n.json > $OUT/evaluate-$n.txt 2>&1; echo "evaluate $n rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
done
mkdir -p $OUT/evo/l2
KW_EVOLVER_STATE_PATH=$OUT/evo/state-l2.db timeout $(left) python3 -m kernelwright.cli.main bench .kb/dev/level2 --tasks '[1-4]_*' --budget 6 --concurrency 4 --out $OUT/evo/l2 > $OUT/evo/bench-l2.log 2>&1; echo "level2 rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
cp $OUT/evo/l2/results.jsonl $OUT/results-l2.jsonl 2>/dev/null
cd $OUT && tar czf evo.tgz evo; rm -rf evo; cat $OUT/log.txt; tail -15 $OUT/pytest-gpu.txt; grep -h "^{\"file\"" $OUT/suite.log | python3 -c "import sys,json;[print(r['file'],r['outcome'],r['result'],r.get('failed_checks','')) for r in map(json.loads,sys.stdin)]"; grep -hE "ACCEPTED|vs eager" $OUT/evaluate-*.txt | head
