# Session 7 (H200), call 3: resume call 2's level-3 bench (its evolver store and results, s7-evo.tgz =
# call 2's $OUT/evo.tgz, restored at the same path /tmp/kw-evo so the request ids match), 8 at once.
# Call 2 found: the bench folder's path was part of each run's request id, so session 6's unfinished runs
# (16, 17, 18, 20) finished in the store but the bench started second runs for them (fixed in bench-id).
# Before: git archive HEAD services scripts | gzip > snap.tgz ; cp <call 2 evo.tgz> s7-evo.tgz ; carry [".whl", ".kb"]
[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; rm -rf /tmp/snap; mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap; ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
export KW_CONVERTER_MAX_PARALLEL=4
T0=$(date +%s); E=/tmp/kw-evo; left() { echo $(( ${KW_CALL_S:-560} - ($(date +%s) - T0) )); }
[ -d $E ] || tar xzf s7-evo.tgz -C /tmp
[ -f $E/l3/bench-id ] || echo /tmp/kw-evo/l3 > $E/l3/bench-id
echo "call 3" >> $E/log.txt; date -u >> $E/log.txt
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 > $E/util-call3.csv &
SMI=$!
KW_EVOLVER_STATE_PATH=$E/state-l3.db timeout $(left) python3 -m kernelwright.cli.main bench .kb/dev/level3 --budget 4 --concurrency 8 --resume --out $E/l3 >> $E/bench-l3.log 2>&1; echo "level3 rc=$? at $(( $(date +%s) - T0 ))s" >> $E/log.txt
kill $SMI
python3 -c "import sqlite3,sys; [sqlite3.connect(p).execute('pragma wal_checkpoint(TRUNCATE)') for p in sys.argv[1:]]" $E/state-l*.db 2>/dev/null
cp $E/l3/results.jsonl $OUT/results-l3.jsonl 2>/dev/null
(cd /tmp && tar czf $OUT/evo.tgz --exclude='*.db-shm' kw-evo); cat $E/log.txt; wc -l $OUT/results-l*.jsonl; grep -E "ok |fail|error" $E/bench-l3.log | tail -20
