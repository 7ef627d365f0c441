# Session 8 (H200): each call runs this. Call 1 first runs the GPU tests (the fp64 check changed the pipeline),
# then one bench over dev level 1 + level 3 (one mesh, so one evaluator owns the GPU's timing) with -v.
# The output folder is session 7's l3 (its bench-id keeps the request ids of the 8 level-3 runs still in flight
# in its store); level-1 rows land in the same results.jsonl, `bench report` splits them by level.
# Before: git archive HEAD services scripts | gzip > snap.tgz ; cp docs/results/s7/call3/evo.tgz s7-evo.tgz
#         (a later call on a cold machine: the last call's evo.tgz as s8-evo.tgz) ; carry [".whl", ".kb"]
# KW_GPU_TESTS=1 runs the GPU tests first; KW_RERUN=1 adds --rerun-failed (new runs for FAILED tasks, e.g. level-1 6
# and 16 under the fp64 judgement, 28_VisionTransformer after the unfold lowering); KW_CALL_S (default 560) is the
# call's length in seconds. Next session: cp docs/results/s8/call2/evo.tgz s8-evo.tgz (the latest store).
[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; rm -rf /tmp/snap; mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap; ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
export KW_CONVERTER_MAX_PARALLEL=4 KW_EVOLVER_MAX_ACTIVE_RUNS=${KW_ACTIVE:-16} KW_GPU_EVALUATOR_PREPARE_AHEAD=${KW_AHEAD:-8}
T0=$(date +%s); E=/tmp/kw-evo; left() { echo $(( ${KW_CALL_S:-560} - ($(date +%s) - T0) )); }
if [ ! -d $E ]; then if [ -f s8-evo.tgz ]; then tar xzf s8-evo.tgz -C /tmp; else tar xzf s7-evo.tgz -C /tmp; fi; fi
[ -f $E/l3/bench-id ] || echo /tmp/kw-evo/l3 > $E/l3/bench-id
echo "== call at $(date -u) code $(cat snap-rev 2>/dev/null)" >> $E/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >> $E/log.txt
if [ -n "$KW_GPU_TESTS" ]; then
  timeout 220 python3 -m pytest tests/gpu_evaluator -m gpu -q -p no:cacheprovider -rA --timeout 150 > $OUT/pytest-gpu.txt 2>&1; echo "pytest gpu rc=$? at $(( $(date +%s) - T0 ))s" >> $E/log.txt
fi
if [ -n "$KW_ILLCOND" ]; then  # call 3: the fp64 judgement on the two level-1 tasks call 1 failed (their first candidates)
  for n in 6_Matmul_with_large_K_dimension_ 16_Matmul_with_transposed_A; do
    timeout 150 python3 -m kernelwright.cli.main evaluate .kb/dev/level1/$n.py docs/results/s8/illcond/$n.cu --json $OUT/verdict-$n.json > $OUT/evaluate-$n.txt 2>&1; echo "evaluate $n rc=$? at $(( $(date +%s) - T0 ))s" >> $E/log.txt
  done
fi
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 >> $E/util-s8-$T0.csv &
SMI=$!
KW_EVOLVER_STATE_PATH=$E/state-l3.db timeout $(left) python3 -m kernelwright.cli.main -v bench .kb/dev/level1 .kb/dev/level3 --budget 4 --concurrency ${KW_CONC:-12} --resume ${KW_RERUN:+--rerun-failed} --out $E/l3 >> $E/bench-s8.log 2>&1; echo "bench rc=$? at $(( $(date +%s) - T0 ))s" >> $E/log.txt
kill $SMI
python3 -c "import sqlite3,sys; [sqlite3.connect(p).execute('pragma wal_checkpoint(TRUNCATE)') for p in sys.argv[1:]]" $E/state-l*.db 2>/dev/null
cp $E/l3/results.jsonl $OUT/results.jsonl; cp $E/bench-s8.log $OUT/bench-s8.log
(cd /tmp && tar czf $OUT/evo.tgz --exclude='*.db-shm' kw-evo); cat $E/log.txt; tail -3 $OUT/pytest-gpu.txt 2>/dev/null
python3 - $E/bench-s8.log <<'PY'
import json, re, sys, collections
w = collections.Counter(); s = collections.Counter(); n = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    if "builtin proposal" in line:
        m1 = re.search(r"waited_s[=\":\s]+([\d.]+)", line); m2 = re.search(r"seconds[=\":\s]+([\d.]+)", line)
        t = re.search(r"task[=\":\s]+([\w.-]+)", line); k = t.group(1) if t else "?"
        n[k] += 1; w[k] += float(m1.group(1)) if m1 else 0; s[k] += float(m2.group(1)) if m2 else 0
for k in sorted(n, key=lambda k: -s[k] - w[k])[:12]:
    print(f"proposals {k}: n={n[k]} waited={w[k]:.0f}s work={s[k]:.0f}s")
PY
awk -F', ' '{n++; if ($2+0 > 0) b++} END {if (n) printf "gpu busy %.1f%% of %d samples\n", 100*b/n, n}' $E/util-s8-$T0.csv
grep -cE "^(ok|wrong|failed|error)" $OUT/bench-s8.log; grep -E "^ *(ok|wrong|fail|error)" $OUT/bench-s8.log | tail -40
