# Session 4, call 1 (2026-11-25 15:27 UTC, NVIDIA H100 80GB HBM3): next-session-template.sh as written. Inputs: snap.tgz = git archive of HEAD e581db1 services scripts.
# Template for the next GPU call (written at the end of session 3; not run yet). Before using it:
#   git archive HEAD services scripts | gzip > snap.tgz      (untracked, travels with the tree)
#   carry [".whl", ".kb"]; .whl needs the qdrant-client wheels too (docs/benchmarks.md "Next GPU run").
# It times what session 3 left untimed (level 2 from 73 on, level-1 99/100, and 91/94/96 never reached),
# re-times what changed after session 3's GPU runs (column splits: level-2 33/41/78/84/97; the compile-baseline
# fix: 58), then continues the evolver bench on level 2 with --resume. Then move this file's edited copy
# next to the other run scripts, and merge as in docs/benchmarks.md "Merged dev-set report".
[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; rm -rf /tmp/snap; mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap; ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
T0=$(date +%s); date -u > $OUT/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/log.txt
# 1. first candidates: keep session 3's rows except the tasks to (re-)time
python3 - <<'PY'
import json, os
redo = {("2", t) for t in ("33_Gemm_Scale_BatchNorm", "41_Gemm_BatchNorm_GELU_ReLU",
                           "58_ConvTranspose3d_LogSumExp_HardSwish_Subtract_Clamp")}
for level, src in (("1", "docs/results/s3/run3-l1-timed.jsonl"), ("2", "docs/results/s3/run2-l2-timed.jsonl")):
    with open(f"{os.environ['OUT']}/l{level}.jsonl", "w") as f:
        for line in open(src):
            r = json.loads(line)
            if (str(r["level"]), r["task"]) not in redo:
                f.write(line)
PY
timeout 300 python3 /tmp/snap/scripts/builtin_coverage.py .kb/dev/level2 --evaluate --batch --jobs 8 --candidates 1 --timeout 90 --out $OUT/l2 --resume >> $OUT/log.txt 2>&1; echo "l2 rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
timeout 120 python3 /tmp/snap/scripts/builtin_coverage.py .kb/dev/level1 --evaluate --batch --jobs 8 --candidates 1 --timeout 90 --out $OUT/l1 --resume >> $OUT/log.txt 2>&1; echo "l1 rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
# 2. the evolver bench, continued (4 runs at once, builtin proposer), with GPU utilization sampled
mkdir -p $OUT/evo/bench && cp docs/results/s3/run3-evolver-bench/results.jsonl $OUT/evo/bench/results.jsonl
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 > $OUT/evo/util.csv &
SMI=$!
LEFT=$(( 560 - ($(date +%s) - T0) ))
timeout $LEFT python3 -m kernelwright.cli.main bench .kb/dev/level2 --budget 6 --concurrency 4 --resume --out $OUT/evo/bench > $OUT/evo/bench.log 2>&1; echo "evo rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
kill $SMI
cd $OUT && tar czf evo.tgz evo && rm -rf evo; grep -E "rc=" $OUT/log.txt
