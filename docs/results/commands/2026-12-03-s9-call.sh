# Session 9 (H200): each call runs this. Before: git rev-parse --short HEAD > snap-rev; git archive HEAD services scripts | gzip > snap.tgz
#   cp docs/results/s8/call2/evo.tgz s8-evo.tgz (call 1; a later call on a cold machine: the last call's evo.tgz as s9-evo.tgz)
#   carry [".whl", ".kb"]
# KW_GPU_TESTS=1: pytest -m gpu tests/gpu_evaluator first. KW_GEMM_CHECK=<rev>: scripts/compute_kernels_gpu_check.py on the
#   level-1 matmul tasks with HEAD's GEMM (all schedules) and, for four of them, with <rev>'s (needs snap-old.tgz:
#   git archive <rev> services | gzip > snap-old.tgz). KW_BENCH_PATHS (default: .kb/dev/level1 .kb/dev/level3) is what the
#   bench runs, resumed into session 7/8's l3 folder; KW_FIRST_PATHS runs first, for at most KW_FIRST_S (200) s; KW_RERUN=1 adds --rerun-failed; KW_CALL_S (default 560) bounds the call.
[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; rm -rf /tmp/snap; mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap; ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
export KW_CONVERTER_MAX_PARALLEL=4 KW_EVOLVER_MAX_ACTIVE_RUNS=${KW_ACTIVE:-16} KW_GPU_EVALUATOR_PREPARE_AHEAD=${KW_AHEAD:-8}
T0=$(date +%s); E=/tmp/kw-evo; left() { echo $(( ${KW_CALL_S:-560} - ($(date +%s) - T0) )); }
if [ ! -d $E ]; then if [ -f s9-evo.tgz ]; then tar xzf s9-evo.tgz -C /tmp; else tar xzf s8-evo.tgz -C /tmp; fi; fi
[ -f $E/l3/bench-id ] || echo /tmp/kw-evo/l3 > $E/l3/bench-id
echo "== call at $(date -u) code $(cat snap-rev 2>/dev/null)" >> $E/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >> $E/log.txt
if [ -n "$KW_GPU_TESTS" ]; then
  timeout 240 python3 -m pytest tests/gpu_evaluator -m gpu -q -p no:cacheprovider -rA --timeout 150 > $OUT/pytest-gpu.txt 2>&1; echo "pytest gpu rc=$? at $(( $(date +%s) - T0 ))s" >> $E/log.txt
fi
if [ -n "$KW_GEMM_CHECK" ]; then
  G=/tmp/gemm; mkdir -p $G; MM="1_Square 2_Standard 3_Batched 6_Matmul 8_Matmul 9_Tall 11_4D 13_Matmul 14_Matmul 16_Matmul 17_Matmul 18_Matmul"
  timeout 200 python3 scripts/compute_kernels_gpu_check.py --tasks .kb/dev/level1 --only $MM --schedules all --max-ms 300 --out $G/gemm-new.md > $G/gemm-new.log 2>&1; echo "gemm new rc=$? at $(( $(date +%s) - T0 ))s" >> $E/log.txt
  rm -rf /tmp/snap-old; mkdir -p /tmp/snap-old /tmp/kwp-old && tar xzf snap-old.tgz -C /tmp/snap-old && ln -sfn /tmp/snap-old/services /tmp/kwp-old/kernelwright
  PYTHONPATH=/tmp/kwp-old:/tmp/site timeout 120 python3 scripts/compute_kernels_gpu_check.py --tasks .kb/dev/level1 --only 1_Square 3_Batched 6_Matmul 9_Tall --schedules all --max-ms 300 --out $G/gemm-old.md > $G/gemm-old.log 2>&1; echo "gemm old ($KW_GEMM_CHECK) rc=$? at $(( $(date +%s) - T0 ))s" >> $E/log.txt
  (cd /tmp && tar czf $OUT/gemm.tgz gemm)
fi
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 >> $E/util-s9-$T0.csv &
SMI=$!
if [ -n "$KW_FIRST_PATHS" ]; then  # a short bench of a few tasks first (same folder and store), then the long one
  KW_EVOLVER_STATE_PATH=$E/state-l3.db timeout ${KW_FIRST_S:-200} python3 -m kernelwright.cli.main -v bench $KW_FIRST_PATHS --budget 4 --concurrency ${KW_CONC:-12} --resume --out $E/l3 >> $E/bench-s9.log 2>&1; echo "first bench rc=$? at $(( $(date +%s) - T0 ))s" >> $E/log.txt
fi
KW_EVOLVER_STATE_PATH=$E/state-l3.db timeout $(left) python3 -m kernelwright.cli.main -v bench ${KW_BENCH_PATHS:-.kb/dev/level1 .kb/dev/level3} --budget 4 --concurrency ${KW_CONC:-12} --resume ${KW_RERUN:+--rerun-failed} --out $E/l3 >> $E/bench-s9.log 2>&1; echo "bench rc=$? at $(( $(date +%s) - T0 ))s" >> $E/log.txt
kill $SMI
python3 -c "import sqlite3,sys; [sqlite3.connect(p).execute('pragma wal_checkpoint(TRUNCATE)') for p in sys.argv[1:]]" $E/state-l*.db 2>/dev/null
cp $E/l3/results.jsonl $OUT/results.jsonl; cp $E/bench-s9.log $OUT/bench-s9.log
awk -F', ' '{n++; if ($2+0 > 0) b++} END {if (n) printf "gpu busy %.1f%% of %d samples\n", 100*b/n, n}' $E/util-s9-$T0.csv >> $E/log.txt
(cd /tmp && tar czf $OUT/evo.tgz --exclude='*.db-shm' kw-evo); cp $E/log.txt $OUT/log.txt; cat $E/log.txt; tail -3 $OUT/pytest-gpu.txt 2>/dev/null
grep -E "^ *(ok|wrong|fail|error)" $OUT/bench-s9.log | tail -30
