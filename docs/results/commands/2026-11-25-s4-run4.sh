# Session 4, call 4 (2026-11-25 16:35 UTC, NVIDIA H100 80GB HBM3, code cdc2170 = snap.tgz). All three parts hit their timeouts (cold machine).
# Session 4, call 4 (final): (A) why did 78/84 fail and 49/88 regress in the evolver — the four through the
# evolver with the store kept; (B) re-time first candidates the session's generator changes touch (one-pass norm
# statistics, tensor constants); (C) GPU utilization with prepare-ahead: an evolver bench on a level-2 slice.
[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; rm -rf /tmp/snap; mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap; ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
T0=$(date +%s); date -u > $OUT/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/log.txt
mkdir -p $OUT/evo/diag $OUT/evo/slice
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 > $OUT/evo/util.csv &
SMI=$!
# (A) 4 tasks at once, budget 6, the evolver's SQLite store kept (every candidate and verdict)
L2=.kb/dev/level2
KW_EVOLVER_STATE_PATH=$OUT/evo/diag/state.db timeout 150 python3 -m kernelwright.cli.main bench $L2/78_ConvTranspose3d_Max_Max_Sum.py $L2/84_Gemm_BatchNorm_Scaling_Softmax.py $L2/49_ConvTranspose3d_Softmax_Sigmoid.py $L2/88_Gemm_GroupNorm_Swish_Multiply_Swish.py --budget 6 --concurrency 4 --out $OUT/evo/diag > $OUT/evo/diag.log 2>&1; echo "diag rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
echo "diag end $(( $(date +%s) - T0 ))" >> $OUT/log.txt
# (B) first candidates of the tasks the generator changes touch
mkdir -p /tmp/kbs/level1 /tmp/kbs/level2
for t in 83 93 19 88 62 75 11 21 23 85 92 33 41 84 97 28; do cp $L2/${t}_*.py /tmp/kbs/level2/; done
for t in 33 34 35 40; do cp .kb/dev/level1/${t}_*.py /tmp/kbs/level1/ 2>/dev/null; done
timeout 150 python3 /tmp/snap/scripts/builtin_coverage.py /tmp/kbs/level2 --evaluate --batch --jobs 8 --candidates 1 --timeout 90 --out $OUT/l2 >> $OUT/log.txt 2>&1; echo "l2 rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
timeout 60 python3 /tmp/snap/scripts/builtin_coverage.py /tmp/kbs/level1 --evaluate --batch --jobs 8 --candidates 1 --timeout 90 --out $OUT/l1 >> $OUT/log.txt 2>&1; echo "l1 rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
# (C) utilization with prepare-ahead: the first level-2 tasks through the evolver again, 4 at once
echo "slice start $(( $(date +%s) - T0 ))" >> $OUT/log.txt
LEFT=$(( 555 - ($(date +%s) - T0) ))
timeout $LEFT python3 -m kernelwright.cli.main bench $(for t in 9 10 11 12 13 14 15 18 19 21 22 23 25 27 28 29; do ls $L2/${t}_*.py; done) --budget 6 --concurrency 4 --out $OUT/evo/slice > $OUT/evo/slice.log 2>&1; echo "slice rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
kill $SMI
cd $OUT && tar czf evo.tgz evo && rm -rf evo; grep -E "rc=|start|end" $OUT/log.txt
