python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1; export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp && rm -rf /tmp/snap && mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap && ln -sfn /tmp/snap/services /tmp/kwp/kernelwright && export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
T0=$(date +%s); date -u > $OUT/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/log.txt
mkdir -p /tmp/kw_state
# level-2 timing, phase 1: warm torch.compile caches, 8 at a time (nothing timed)
timeout 150 python3 /tmp/snap/scripts/builtin_coverage.py .kb/dev/level2 --evaluate --batch --batch-phase warm --jobs 8 --candidates 1 --timeout 90 --out $OUT/l2 >> $OUT/log.txt 2>&1; echo "warm rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
# phase 2: alone on the GPU, one task after another in a long-lived child
LEFT=$(( 565 - ($(date +%s) - T0) ))
timeout $LEFT python3 /tmp/snap/scripts/builtin_coverage.py .kb/dev/level2 --evaluate --batch --batch-phase time --candidates 1 --timeout 90 --out $OUT/l2 --resume >> $OUT/log.txt 2>&1; echo "time rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
cp $OUT/l2.jsonl /tmp/kw_state/l2.jsonl
grep -E "rc=" $OUT/log.txt; wc -l $OUT/l2.jsonl
