# Template for the next GPU call (written at the end of session 4; not run yet). Before using it:
#   git archive HEAD services scripts | gzip > snap.tgz      (untracked, travels with the tree)
#   carry [".whl", ".kb"] (docs/benchmarks.md "Next GPU run" says how to make them)
#   for a 2nd/3rd call: put the previous call's evo/bench/results.jsonl in the repo root as evo-seed.jsonl
# (A) first candidates session 4's call 4 did not reach (tensor constants 83/93; norm-stat tasks), then
# (B) the evolver bench over level 2 again, with the two evolver fixes of b4d4b73 (thread-safe builtin
#     proposals; the translator's seed timed) — resumable across calls; util sampled; the store kept.
[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; rm -rf /tmp/snap; mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap; ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
T0=$(date +%s); date -u > $OUT/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/log.txt
L2=.kb/dev/level2
if [ ! -f evo-seed.jsonl ]; then
  mkdir -p /tmp/kbs/level1 /tmp/kbs/level2
  for t in 83 93 84 85 88 92 97 62 75; do cp $L2/${t}_*.py /tmp/kbs/level2/; done
  for t in 34 40; do cp .kb/dev/level1/${t}_*.py /tmp/kbs/level1/; done
  timeout 200 python3 /tmp/snap/scripts/builtin_coverage.py /tmp/kbs/level2 --evaluate --batch --jobs 8 --candidates 1 --timeout 90 --out $OUT/l2 >> $OUT/log.txt 2>&1; echo "l2 rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
  timeout 80 python3 /tmp/snap/scripts/builtin_coverage.py /tmp/kbs/level1 --evaluate --batch --jobs 8 --candidates 1 --timeout 90 --out $OUT/l1 >> $OUT/log.txt 2>&1; echo "l1 rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
fi
mkdir -p $OUT/evo/bench
[ -f evo-seed.jsonl ] && cp evo-seed.jsonl $OUT/evo/bench/results.jsonl
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 > $OUT/evo/util.csv &
SMI=$!
LEFT=$(( 560 - ($(date +%s) - T0) ))
KW_EVOLVER_STATE_PATH=$OUT/evo/state.db timeout $LEFT python3 -m kernelwright.cli.main bench $L2 --budget 6 --concurrency 4 --resume --out $OUT/evo/bench > $OUT/evo/bench.log 2>&1; echo "evo rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
kill $SMI
cd $OUT && tar czf evo.tgz evo && rm -rf evo; grep -E "rc=" $OUT/log.txt
