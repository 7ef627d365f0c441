# Template for the next session's GPU calls (written in session 7; NOT RUN). Continues dev level 3 from
# session 7's call-3 store, then level 1, both through the evolver; `bench -v` so the evolver's and the builtin
# proposer's info lines (stage changes, "builtin proposal" waited_s/seconds) show where a run's wall time goes.
# Before: git archive HEAD services scripts | gzip > snap.tgz
#         cp docs/results/s7/call3/evo.tgz s7-evo.tgz   (restored at /tmp/kw-evo: the store's request ids match
#         its bench-id, so in-flight runs 16/17/18/20/23/26/27/31 are re-attached, not started again)
#         carry [".whl", ".kb"] ; a 2nd call on the still-warm machine resumes from /tmp/kw-evo
# KW_CALL_S (default 560) is the call's length in seconds.
[ -d /tmp/site/grpc ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp; rm -rf /tmp/snap; mkdir -p /tmp/snap && tar xzf snap.tgz -C /tmp/snap; ln -sfn /tmp/snap/services /tmp/kwp/kernelwright; export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
export KW_CONVERTER_MAX_PARALLEL=4
T0=$(date +%s); E=/tmp/kw-evo; left() { echo $(( ${KW_CALL_S:-560} - ($(date +%s) - T0) )); }
[ -d $E ] || tar xzf s7-evo.tgz -C /tmp
mkdir -p $E/l1; [ -f $E/l3/bench-id ] || echo /tmp/kw-evo/l3 > $E/l3/bench-id
date -u >> $E/log.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $E/log.txt
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 500 >> $E/util-s8.csv &
SMI=$!
KW_EVOLVER_STATE_PATH=$E/state-l3.db timeout $(left) python3 -m kernelwright.cli.main -v bench .kb/dev/level3 --budget 4 --concurrency 8 --resume --out $E/l3 >> $E/bench-l3.log 2>&1; echo "level3 rc=$? at $(( $(date +%s) - T0 ))s" >> $E/log.txt
if [ $(left) -gt 60 ]; then
  KW_EVOLVER_STATE_PATH=$E/state-l1.db timeout $(left) python3 -m kernelwright.cli.main -v bench .kb/dev/level1 --budget 4 --concurrency 8 --resume --out $E/l1 >> $E/bench-l1.log 2>&1; echo "level1 rc=$? at $(( $(date +%s) - T0 ))s" >> $E/log.txt
fi
kill $SMI
python3 -c "import sqlite3,sys; [sqlite3.connect(p).execute('pragma wal_checkpoint(TRUNCATE)') for p in sys.argv[1:]]" $E/state-l*.db 2>/dev/null
cp $E/l3/results.jsonl $OUT/results-l3.jsonl 2>/dev/null; cp $E/l1/results.jsonl $OUT/results-l1.jsonl 2>/dev/null
(cd /tmp && tar czf $OUT/evo.tgz --exclude='*.db-shm' kw-evo); cat $E/log.txt; wc -l $OUT/results-l*.jsonl
grep -h "builtin proposal" $E/bench-l*.log | tail -5
