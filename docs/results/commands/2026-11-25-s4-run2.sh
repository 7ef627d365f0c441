# Session 4, call 2: evolver bench continued; evo-seed.jsonl = call 1's evo/bench/results.jsonl (docs/results/s4/run1/evo/bench/results.jsonl).
[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; rm -rf /tmp/snap; mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap; ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
T0=$(date +%s); date -u > $OUT/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/log.txt
mkdir -p $OUT/evo/bench && cp evo-seed.jsonl $OUT/evo/bench/results.jsonl
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 > $OUT/evo/util.csv &
SMI=$!
timeout 570 python3 -m kernelwright.cli.main bench .kb/dev/level2 --budget 6 --concurrency 4 --resume --out $OUT/evo/bench > $OUT/evo/bench.log 2>&1; echo "evo rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
kill $SMI
cd $OUT && tar czf evo.tgz evo && rm -rf evo; grep -E "rc=" $OUT/log.txt
