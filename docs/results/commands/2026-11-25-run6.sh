python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1; export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp && ln -sfn $PWD/services /tmp/kwp/kernelwright && export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
T0=$(date +%s); date -u > $OUT/log.txt
cp docs/results/builtin-verify-h100-run2.jsonl $OUT/v3.jsonl
timeout 110 python3 scripts/builtin_coverage.py .kb/dev/level1 --evaluate --verify-only --candidates 2 --jobs 8 --timeout 100 --out $OUT/v3 --resume >> $OUT/log.txt 2>&1; echo "phase1c rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
cp docs/results/builtin-timed-h100-run2.jsonl $OUT/timed3.jsonl
LEFT=$(( 205 - ($(date +%s) - T0) ))
timeout $LEFT python3 scripts/builtin_coverage.py .kb/dev/level2 --evaluate --candidates 1 --timeout 60 --only-correct $OUT/v3.jsonl --out $OUT/timed3 --resume >> $OUT/log.txt 2>&1; echo "phase2b rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
grep -E "phase" $OUT/log.txt; wc -l $OUT/v3.jsonl $OUT/timed3.jsonl
