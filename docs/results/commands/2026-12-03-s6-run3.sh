# Session 6 (H200), call 3: the warmer's GPU test (kernels only), then level 3 resumed from call 2's
# evolver store (runs killed mid-flight by call 2's timeout re-attach and finish), with 1_MLP and
# 3_DeepNarrowMLP run again after the library-only fix.
# Before: git archive HEAD services scripts | gzip > snap.tgz ; seed-l3.jsonl = call 2's results without the two
#         MLP lines ; seed-state-l3.db = call 2's evolver store (WAL checkpointed) ; carry [".whl", ".kb"]
[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; rm -rf /tmp/snap; mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap; ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
T0=$(date +%s); date -u > $OUT/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/log.txt
mkdir -p $OUT/side $OUT/evo/l3
cp -r tests /tmp/snap/; cp pyproject.toml /tmp/snap/; (cd /tmp/snap && timeout 90 python3 -m pytest tests/gpu_evaluator/test_compile_warmer.py -m gpu -q -p no:cacheprovider -p no:logging) > $OUT/side/pytest-gpu.txt 2>&1; echo "pytest gpu rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
cp seed-l3.jsonl $OUT/evo/l3/results.jsonl; cp seed-state-l3.db $OUT/evo/state-l3.db
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 > $OUT/evo/util.csv &
SMI=$!
LEFT=$(( ${KW_CALL_S:-300} - ($(date +%s) - T0) ))
KW_EVOLVER_STATE_PATH=$OUT/evo/state-l3.db timeout $LEFT python3 -m kernelwright.cli.main bench .kb/dev/level3 --budget 4 --concurrency 4 --resume --out $OUT/evo/l3 > $OUT/evo/bench-l3.log 2>&1; echo "level3 rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
kill $SMI
cp $OUT/evo/l3/results.jsonl $OUT/results-l3.jsonl
cd $OUT && tar czf side.tgz evo side; rm -rf evo side; cat $OUT/log.txt; wc -l $OUT/results-l3.jsonl
