# Session 5, call 1 (H200): GPU utilization with 4 concurrent runs, generations overlapping (2) vs the old
# barrier (1), same task, depth 2 first (so inductor's warm cache, if anything, favours the barrier run);
# then the level-2 evolver bench (budget 6) with the fixes of b4d4b73 and the overlap, resumable, store kept.
# Before: git archive HEAD services scripts | gzip > snap.tgz ; carry [".whl", ".kb"]
[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; rm -rf /tmp/snap; mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap; ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
T0=$(date +%s); date -u > $OUT/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/log.txt
TASK=.kb/dev/level2/12_Gemm_Multiply_LeakyReLU.py
if [ ! -f evo-seed.jsonl ]; then
  for d in 2 1; do
    timeout 150 python3 /tmp/snap/scripts/evolver_gpu_utilization.py --runs 4 --task $TASK --candidates 32 --wall 90 --generations-in-flight $d > $OUT/util-depth$d.json 2> $OUT/util-depth$d.err; echo "util depth=$d rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
  done
fi
mkdir -p $OUT/evo/bench
[ -f evo-seed.jsonl ] && cp evo-seed.jsonl $OUT/evo/bench/results.jsonl
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 > $OUT/evo/util.csv &
SMI=$!
LEFT=$(( ${KW_CALL_S:-575} - ($(date +%s) - T0) ))
KW_EVOLVER_STATE_PATH=$OUT/evo/state.db timeout $LEFT python3 -m kernelwright.cli.main bench ${KW_BENCH_DIR:-.kb/dev/level2} --budget ${KW_BENCH_BUDGET:-6} --concurrency 4 --resume --out $OUT/evo/bench > $OUT/evo/bench.log 2>&1; echo "evo rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
kill $SMI
cd $OUT && tar czf evo.tgz evo util-depth*.err 2>/dev/null; rm -rf evo util-depth*.err; cat $OUT/log.txt; cat $OUT/util-depth*.json 2>/dev/null | cut -c1-400
