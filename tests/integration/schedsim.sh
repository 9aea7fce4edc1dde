#!/usr/bin/env bash
# tools/schedsim, tools/trace2perfetto and tools/schedsim-plot on the host (no emulator): a
# two-value overcommit sweep into a CSV with plausible numbers, a trace converted to valid
# Perfetto JSON, co-running shares from traces (gang whole, round-robin partial), a bad option
# refused with status 2, and a plot when matplotlib is there.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
work=$ROOT/build/logs/test-schedsim
rm -rf "$work"
mkdir -p "$work"
LOG=$work/log.txt
: >"$LOG"

# 1x and 2x overcommit of 4-vCPU VMs on 4 pCPUs with ticket locks, round-robin.
"$ROOT/tools/schedsim" --policy round-robin --pcpus 4 --vcpus 4 --lock ticket --cs-us 1 --ncs-us 5 \
    --duration-ms 200 --sweep vms=1,2 --csv "$work/sweep.csv" >"$work/table.txt" 2>>"$LOG" ||
    fail "tools/schedsim (sweep) exited with $?"
cat "$work/table.txt" >>"$LOG"
grep -qE '^round-robin +4 +1 +4 +1\.00 ticket ' "$work/table.txt" || fail "no 1x row in the table"
grep -qE '^round-robin +4 +2 +8 +2\.00 ticket ' "$work/table.txt" || fail "no 2x row in the table"
python3 - "$work/sweep.csv" >>"$LOG" 2>&1 <<'PY' || fail "implausible CSV $work/sweep.csv"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 2, "want 2 rows, got %d" % len(rows)
one, two = rows
assert (one["policy"], one["vms"], one["overcommit"]) == ("round-robin", "1", "1.0000"), one
assert (two["vms"], two["vcpus"], two["overcommit"]) == ("2", "8", "2.0000"), two
for r in rows:
    assert float(r["acq_per_s"]) > 0
    assert 0 <= float(r["spin_pct"]) <= 100
    assert 0 < float(r["jain"]) <= 1
    assert float(r["p99_us"]) >= float(r["p50_us"]) >= 0
    assert len(r["acq_per_s_vm"].split(";")) == int(r["vms"])
# 4 threads, 5 us of work and 1 us under the lock: about 4 / 6 us at 1x.
assert 500_000 < float(one["acq_per_s"]) < 4 / 6e-6, one["acq_per_s"]
assert int(one["lock_holder_preemptions"]) == 0
# 2x: preempted holders and waiters stall the other vCPUs of their VM.
assert float(two["acq_per_s"]) < 0.75 * float(one["acq_per_s"]), (one["acq_per_s"], two["acq_per_s"])
assert int(two["lock_holder_preemptions"]) > 0 and int(two["lock_waiter_preemptions"]) > 0
assert float(two["spin_pct"]) > 4 * float(one["spin_pct"])
print("csv ok:", one["acq_per_s"], two["acq_per_s"])
PY

# Same arguments, same output.
"$ROOT/tools/schedsim" --policy round-robin --pcpus 4 --vcpus 4 --lock ticket --cs-us 1 --ncs-us 5 \
    --duration-ms 200 --sweep vms=1,2 >"$work/table2.txt" 2>>"$LOG" || fail "tools/schedsim (again) exited with $?"
cmp -s "$work/table.txt" "$work/table2.txt" || fail "two identical runs printed different tables"

# A trace, converted to Perfetto JSON.
"$ROOT/tools/schedsim" --vms 2 --lock pv --duration-ms 30 --metrics --trace "$work/trace.txt" \
    >"$work/metrics.txt" 2>>"$LOG" || fail "tools/schedsim --trace exited with $?"
grep -q '^sched-metrics vm=vm1 vcpu=3 run_us=' "$work/metrics.txt" || fail "no sched-metrics lines from --metrics"
grep -qx 'sched-trace-begin policy=round-robin pcpus=4 ticks_per_us=1000' "$work/trace.txt" ||
    fail "no sched-trace-begin line in $work/trace.txt"
sed 's/^/matryoshka: /' "$work/trace.txt" >"$work/prefixed.log"
"$ROOT/tools/trace2perfetto" -o "$work/trace.json" "$work/prefixed.log" 2>>"$LOG" ||
    fail "tools/trace2perfetto exited with $?"
python3 - "$work/trace.json" >>"$LOG" 2>&1 <<'PY' || fail "invalid Perfetto JSON $work/trace.json"
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
slices = [e for e in events if e["ph"] == "X"]
assert slices and all(e["dur"] >= 0 and e["name"].startswith("vm") for e in slices), "no vCPU slices"
assert {e["tid"] for e in slices} == {0, 1, 2, 3}, "not every pCPU has slices"
assert len({e["cname"] for e in slices}) == 2, "want one colour per VM"
assert any(e["ph"] == "i" for e in events), "no instant events"
print("json ok:", len(slices), "slices")
PY
# Co-running shares: gang runs a VM's vCPUs all together or none; round-robin (the trace above,
# 8 vCPUs on 4 pCPUs) runs them partly.
"$ROOT/tools/schedsim" --policy gang --vms 2 --duration-ms 30 --trace "$work/gang.txt" >/dev/null 2>>"$LOG" ||
    fail "tools/schedsim --policy gang --trace exited with $?"
for name in gang trace; do
    "$ROOT/tools/trace2perfetto" --corun "$work/$name.txt" >"$work/$name-corun.txt" 2>>"$LOG" ||
        fail "tools/trace2perfetto --corun $name.txt exited with $?"
    cat "$work/$name-corun.txt" >>"$LOG"
done
python3 - "$work/gang-corun.txt" "$work/trace-corun.txt" >>"$LOG" 2>&1 <<'PY' || fail "implausible --corun shares"
import sys
def shares(path):
    rows = [line.split()[1:] for line in open(path) if line.startswith("corun ")]
    return {r[0]: [float(x.split(":")[1]) for x in r[1:]] for r in rows}
gang, rr = shares(sys.argv[1]), shares(sys.argv[2])
assert sorted(gang) == sorted(rr) == ["vm0", "vm1"], (gang, rr)
for vm, s in list(gang.items()) + list(rr.items()):
    assert len(s) == 5 and abs(sum(s) - 1) < 0.01, (vm, s)
for vm, s in gang.items():
    assert max(s[1:4]) < 0.001 and s[4] > 0.3, ("gang ran part of", vm, s)
for vm, s in rr.items():
    assert sum(s[1:4]) > 0.3, ("round-robin co-scheduled", vm, s)
print("corun ok:", gang, rr)
PY

echo "no trace in here" >"$work/empty.log"
if "$ROOT/tools/trace2perfetto" "$work/empty.log" >/dev/null 2>"$work/empty.err"; then
    fail "tools/trace2perfetto accepted a file without a trace"
fi
grep -q "no scheduler trace" "$work/empty.err" || fail "no clear error for a file without a trace"

# A bad option: status 2 and its name.
status=0
"$ROOT/tools/schedsim" --bogus >/dev/null 2>"$work/bogus.err" || status=$?
[[ $status == 2 ]] || fail "tools/schedsim --bogus exited with $status, expected 2"
grep -q "unknown option '--bogus'" "$work/bogus.err" || fail "no message naming --bogus"

# The plot, when matplotlib can be loaded.
if "$ROOT/tools/schedsim-plot" --check >/dev/null 2>&1; then
    "$ROOT/tools/schedsim-plot" -o "$work/sweep.png" "$work/sweep.csv" 2>>"$LOG" ||
        fail "tools/schedsim-plot exited with $?"
    [[ $(head -c 8 "$work/sweep.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] ||
        fail "$work/sweep.png is not a PNG"
else
    echo "schedsim: matplotlib is not installed (python3-matplotlib): skipping tools/schedsim-plot"
fi
pass
