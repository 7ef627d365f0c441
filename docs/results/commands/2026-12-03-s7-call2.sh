# Session 7 (H200), calls 2-3: the rest of dev level 3 through the evolver (budget 4), then dev level 1
# (budget 4) with whatever time is left. Runs 8 tasks at once (session 6 ran 4 and left the GPU 60% idle
# on level 3). State lives in /tmp/kw-evo on the device, so a second call on the still-warm machine resumes
# where the first stopped; every call copies it to $OUT.
# Before: git archive HEAD services scripts | gzip > snap.tgz ; seed-l3.jsonl = session 6's level-3 results
#         without 1_MLP/3_DeepNarrowMLP (re-run after the library-only fix); seed-state-l3.db = session 6's
#         evolver store (runs of 16-18 cut mid-run), WAL checkpointed ; carry [".whl", ".kb"]
[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; rm -rf /tmp/snap; mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap; ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
export KW_CONVERTER_MAX_PARALLEL=4
T0=$(date +%s); E=/tmp/kw-evo; left() { echo $(( ${KW_CALL_S:-560} - ($(date +%s) - T0) )); }
if [ ! -d $E ]; then mkdir -p $E/l3 $E/l1; cp seed-l3.jsonl $E/l3/results.jsonl; cp seed-state-l3.db $E/state-l3.db; echo "fresh store" > $E/origin; fi
date -u >> $E/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $E/log.txt
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 >> $E/util.csv &
SMI=$!
KW_EVOLVER_STATE_PATH=$E/state-l3.db timeout $(left) python3 -m kernelwright.cli.main bench .kb/dev/level3 --budget 4 --concurrency 8 --resume --out $E/l3 >> $E/bench-l3.log 2>&1; echo "level3 rc=$? at $(( $(date +%s) - T0 ))s" >> $E/log.txt
if [ $(left) -gt 60 ]; then
  KW_EVOLVER_STATE_PATH=$E/state-l1.db timeout $(left) python3 -m kernelwright.cli.main bench .kb/dev/level1 --budget 4 --concurrency 8 --resume --out $E/l1 >> $E/bench-l1.log 2>&1; echo "level1 rc=$? at $(( $(date +%s) - T0 ))s" >> $E/log.txt
fi
kill $SMI
python3 -c "import sqlite3,sys; [sqlite3.connect(p).execute('pragma wal_checkpoint(TRUNCATE)') for p in sys.argv[1:]]" $E/state-l*.db 2>/dev/null
cp $E/l3/results.jsonl $OUT/results-l3.jsonl 2>/dev/null; cp $E/l1/results.jsonl $OUT/results-l1.jsonl 2>/dev/null
(cd /tmp && tar czf $OUT/evo.tgz --exclude='*.db-shm' kw-evo); cat $E/log.txt; wc -l $OUT/results-l*.jsonl; tail -3 $E/bench-l3.log $E/bench-l1.log 2>/dev/null
