python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1; export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp && mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap && ln -sfn /tmp/snap/services /tmp/kwp/kernelwright && export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
T0=$(date +%s); date -u > $OUT/log.txt; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv >> $OUT/log.txt
python3 -c "import numpy, qdrant_client, torch; print('numpy', numpy.__version__, 'torch', torch.__version__)" >> $OUT/log.txt 2>&1
mkdir -p $OUT/evo
# side: the evolver end to end (local mesh, builtin proposer) on one level-2 task; a smoke test only:
# it shares the GPU with the warm-up phase, so its timings are not reported
( timeout 200 python3 -m kernelwright.cli.main bench .kb/dev/level2 --tasks '12_*' --budget 4 --wall-seconds 170 --concurrency 1 --out $OUT/evo/bench > $OUT/evo/bench.log 2>&1; echo "evo bench rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/evo/bench.log ) &
EVO=$!
# level-1 timing, phase 1: warm torch.compile caches, 8 at a time (nothing timed)
timeout 200 python3 /tmp/snap/scripts/builtin_coverage.py .kb/dev/level1 --evaluate --batch --batch-phase warm --jobs 8 --candidates 1 --timeout 90 --out $OUT/l1 >> $OUT/log.txt 2>&1; echo "warm rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
wait $EVO; echo "evo done at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
# phase 2: alone on the GPU, one task after another in a long-lived child
LEFT=$(( 555 - ($(date +%s) - T0) ))
timeout $LEFT python3 /tmp/snap/scripts/builtin_coverage.py .kb/dev/level1 --evaluate --batch --batch-phase time --candidates 1 --timeout 90 --out $OUT/l1 --resume >> $OUT/log.txt 2>&1; echo "time rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
cd $OUT && tar czf evo.tgz evo && rm -rf evo; ls -la $OUT; grep -E "rc=|done at" $OUT/log.txt; wc -l $OUT/l1.jsonl
