[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; [ -d /tmp/snap/services ] || (mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap); ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
T0=$(date +%s); date -u > $OUT/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/log.txt
mkdir -p $OUT/evo
# A. kernelwright bench through the evolver (local mesh, builtin proposer only), 4 runs at once on one GPU:
#    the first five level-2 dev tasks by number, 6 candidates each; GPU utilization sampled every 0.5 s.
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 > $OUT/evo/util.csv &
SMI=$!
TASKS=$(ls .kb/dev/level2/*.py | sort -t/ -k4 -n | head -5)
echo "$TASKS" > $OUT/evo/tasks.txt
timeout 230 python3 -m kernelwright.cli.main bench $TASKS --budget 6 --wall-seconds 200 --concurrency 4 --out $OUT/evo/bench > $OUT/evo/bench.log 2>&1; echo "evo bench rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
kill $SMI
# B. level 1: tasks not reached in run 1, and those a generator change since then touches (float4 elementwise,
#    split reductions, the out-of-memory retry); the other run-1 rows are kept as they are.
python3 - <<'PY'
import json
redo = {"19_ReLU", "20_LeakyReLU", "21_Sigmoid", "22_Tanh", "25_Swish", "28_HardSigmoid", "29_Softplus", "30_Softsign",
        "32_HardTanh", "23_Softmax", "33_BatchNorm", "34_InstanceNorm", "36_RMSNorm_", "37_FrobeniusNorm_", "38_L1Norm_",
        "39_L2Norm_", "40_LayerNorm", "45_Average_Pooling_2D", "47_Sum_reduction_over_a_dimension",
        "48_Mean_reduction_over_a_dimension", "53_Min_reduction_over_a_dimension"}
rows = [json.loads(l) for l in open("docs/results/s3/run1-l1-timed.jsonl")]
import os
with open(os.environ["OUT"] + "/l1.jsonl", "w") as f:
    for r in rows:
        if r["task"] not in redo:
            f.write(json.dumps(r) + "\n")
PY
LEFT=$(( 535 - ($(date +%s) - T0) ))
timeout $LEFT python3 /tmp/snap/scripts/builtin_coverage.py .kb/dev/level1 --evaluate --batch --jobs 8 --candidates 1 --timeout 90 --out $OUT/l1 --resume >> $OUT/log.txt 2>&1; echo "l1 rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
cd $OUT && tar czf evo.tgz evo && rm -rf evo; grep -E "rc=" $OUT/log.txt; wc -l $OUT/l1.jsonl
