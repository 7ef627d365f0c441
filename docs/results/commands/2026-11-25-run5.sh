python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl >/dev/null 2>&1; export PYTHONPATH=/tmp/site; mkdir -p /tmp/kwp && ln -sfn $PWD/services /tmp/kwp/kernelwright && export PYTHONPATH=/tmp/kwp:$PYTHONPATH; export PYTHONUNBUFFERED=1
T0=$(date +%s); date -u > $OUT/log.txt
# phase 1b: verify the tasks run 1 did not reach, and re-verify its failures with the current generator
python3 -c "
import json
rows=[json.loads(l) for l in open('docs/results/builtin-verify-h100-run1.jsonl')]
open('$OUT/v2.jsonl','w').write(''.join(json.dumps(r)+'\n' for r in rows if r.get('correct')))"
timeout 200 python3 scripts/builtin_coverage.py .kb/dev/level1 .kb/dev/level2 --evaluate --verify-only --candidates 2 --jobs 6 --timeout 150 --out $OUT/v2 --resume >> $OUT/log.txt 2>&1; echo "phase1b rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
# phase 2: time the first candidate of every verified task, one at a time, level 2 first
LEFT=$(( 575 - ($(date +%s) - T0) ))
timeout $LEFT python3 scripts/builtin_coverage.py .kb/dev/level2 .kb/dev/level1 --evaluate --candidates 1 --timeout 120 --only-correct $OUT/v2.jsonl --out $OUT/timed >> $OUT/log.txt 2>&1; echo "phase2 rc=$? at $(( $(date +%s) - T0 ))s" >> $OUT/log.txt
python3 -c "
import json
v=[json.loads(l) for l in open('$OUT/v2.jsonl')]; t=[json.loads(l) for l in open('$OUT/timed.jsonl')] if __import__('os').path.exists('$OUT/timed.jsonl') else []
for lv in ('1','2'): print('level',lv,'verified rows',sum(1 for r in v if r['level']==lv),'correct',sum(1 for r in v if r['level']==lv and r.get('correct')),'timed',sum(1 for r in t if r['level']==lv and r.get('correct')))
" | tee -a $OUT/log.txt
grep -E "phase|level" $OUT/log.txt
