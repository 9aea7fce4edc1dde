#!/usr/bin/env bash
# The Bochs CPU-model matrix: the hypervisor with the `hello` guest on many Bochs CPU models, each
# of which must either run the guest (status 0) or refuse with its precise reason (status 2), as
# the table below says. A model whose behaviour changes fails the test.
#
# The table is the whole matrix; this script boots the rows that run, bochs_models_refused.sh (which
# sources this file with BOCHS_MODELS_PART=refused) boots the refusals, so that tests/run runs the
# two halves in parallel. Within a half the boots are sequential (each ~4-8 s).
#
# Columns: model | TSC | expected outcome
#   TSC  pit   no CPUID 0x15/0x16 TSC frequency: PIT calibration, no warning
#        warn  CPUID 0x15/0x16 advertise a TSC frequency that Bochs's TSC (ips=50000000) does not
#              follow: the hypervisor warns and calibrates with the PIT
#        none  refused before the TSC is measured (no long mode: boot/entry.asm refuses)
#   outcome  `runs` (VMX root, [hello] PASS hello, vm hello ended: debug-exit 0, status 0), the
#            exact refusal line (status 2, no VMX root, no VM started), or `vm-refused` followed by
#            the exact line refusing the VM (status 2: VMX root up on every CPU, hello refused,
#            "no virtual machine could be started", nothing else in error)
# As on the real parts: Nehalem (corei5_lynnfield_750) has EPT and VPID but not unrestricted
# guest, which came with Westmere (corei5_arrandale_m520): VMX root comes up, and the hello guest
# (a Multiboot kernel, entered with paging off) is refused on its own; Penryn has VMX without EPT; the
# Prescott Celeron and the AMD models have no VT-x (AMD's SVM is not used).
#
# The 32-bit-only models (atom_n270 here; p3_katmai, p4_willamette, core_duo_t2400_yonah behave
# the same) are refused by boot/entry.asm before any C++ runs, which still leaves through exit=.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

MATRIX='
corei7_sandy_bridge_2600k | pit  | runs
corei7_ivy_bridge_3770k   | pit  | runs
corei7_haswell_4770       | pit  | runs
broadwell_ult             | pit  | runs
corei7_skylake_x          | warn | runs
corei3_cnl                | warn | runs
corei7_icelake_u          | warn | runs
tigerlake                 | warn | runs
corei5_arrandale_m520     | pit  | runs
corei5_lynnfield_750      | pit  | vm-refused matryoshka: error: vm hello refused: this CPU has no unrestricted guest (IA32_VMX_PROCBASED_CTLS2 allowed-1 bit 7), and a Multiboot kernel starts with paging off
core2_penryn_t9600        | pit  | matryoshka: error: EPT is not supported (IA32_VMX_PROCBASED_CTLS2 allowed-1 bit 1)
p4_prescott_celeron_336   | pit  | matryoshka: error: this CPU does not support VT-x (CPUID.1:ECX.VMX is 0)
athlon64_clawhammer       | pit  | matryoshka: error: this CPU does not support VT-x (CPUID.1:ECX.VMX is 0)
phenom_8650_toliman       | pit  | matryoshka: error: this CPU does not support VT-x (CPUID.1:ECX.VMX is 0)
zambezi                   | pit  | matryoshka: error: this CPU does not support VT-x (CPUID.1:ECX.VMX is 0)
ryzen                     | pit  | matryoshka: error: this CPU does not support VT-x (CPUID.1:ECX.VMX is 0)
atom_n270                 | none | matryoshka: error: this CPU does not support 64-bit long mode
'
PART=${BOCHS_MODELS_PART:-runs}         # runs | refused
MODEL_TIMEOUT=${TEST_TIMEOUT:-90}       # a normal boot takes ~4-8 s
TSC_WARNING="matryoshka: warning: CPUID's TSC frequency does not match the PIT's measurement; using the PIT"

problems=()
first_log=
checked=0

trim() {
    local text=${1#"${1%%[! ]*}"}
    echo "${text%"${text##*[! ]}"}"
}

# problem MODEL LOG TEXT: records a mismatch; the test goes on with the other models.
problem() {
    problems+=("$1: $3")
    first_log=${first_log:-$2}
}

# check_model MODEL TSC OUTCOME: one boot, every expectation of its row.
check_model() {
    local model=$1 tsc=$2 outcome=$3 status=0 want=0 line
    local log=$ROOT/build/logs/test-$TEST-$model.log
    [[ $outcome == runs ]] || want=2
    "$ROOT/tools/run-vm" --quiet --emulator bochs --cpu-model "$model" --timeout "$MODEL_TIMEOUT" \
        --name "test-$TEST-$model" --log "$log" hello >/dev/null 2>&1 || status=$?
    if [[ $status != "$want" ]]; then  # the rest would only repeat it: say why and move on
        line=$(grep -m1 -E '^matryoshka: error:|>>PANIC<<|^run-vm: timeout|^run-vm: error:' "$log" || true)
        problem "$model" "$log" "run-vm exited with $status, expected $want${line:+ ($line)}"
        checked=$((checked + 1))
        return
    fi

    if [[ $tsc != none ]] && ! grep -qE '^matryoshka: local APIC: .*; TSC [0-9]+ kHz \(PIT calibration\)$' "$log"; then
        problem "$model" "$log" "no TSC line with PIT calibration"
    fi
    if [[ $tsc == warn ]] && ! grep -qxF -- "$TSC_WARNING" "$log"; then
        problem "$model" "$log" "no CPUID TSC frequency warning"
    elif [[ $tsc == pit ]] && grep -qxF -- "$TSC_WARNING" "$log"; then
        problem "$model" "$log" "unexpected CPUID TSC frequency warning"
    fi

    if [[ $outcome == runs ]]; then
        for line in "matryoshka: 1 of 1 CPUs in VMX root" "[hello] PASS hello" \
            "matryoshka: vm hello ended: debug-exit 0" "matryoshka: exit status 0"; do
            if ! grep -qxF -- "$line" "$log"; then problem "$model" "$log" "no line '$line'"; fi
        done
        if line=$(grep -m1 '^matryoshka: error:' "$log"); then problem "$model" "$log" "error line '$line'"; fi
    elif [[ $outcome == vm-refused\ * ]]; then
        for line in "${outcome#vm-refused }" "matryoshka: 1 of 1 CPUs in VMX root" \
            "matryoshka: error: no virtual machine could be started" "matryoshka: exit status 2"; do
            if ! grep -qxF -- "$line" "$log"; then problem "$model" "$log" "no line '$line'"; fi
        done
        if [[ $(grep -c '^matryoshka: error:' "$log") != 2 ]]; then
            problem "$model" "$log" "not exactly two error lines (the VM's refusal and no VM started)"
        fi
        if grep -qE '^\[hello\]' "$log"; then problem "$model" "$log" "the guest ran"; fi
    else
        for line in "$outcome" "matryoshka: exit status 2"; do
            if ! grep -qxF -- "$line" "$log"; then problem "$model" "$log" "no line '$line'"; fi
        done
        if [[ $(grep -c '^matryoshka: error:' "$log") != 1 ]]; then
            problem "$model" "$log" "not exactly one error line"
        fi
        if grep -qE '^\[hello\]|CPUs in VMX root' "$log"; then problem "$model" "$log" "went past the refusal"; fi
    fi
    checked=$((checked + 1))
}

while IFS='|' read -r model tsc outcome; do
    model=$(trim "$model") tsc=$(trim "$tsc") outcome=$(trim "$outcome")
    [[ -n $model ]] || continue
    [[ $tsc == pit || $tsc == warn || $tsc == none ]] || fail "table row $model: TSC column is '$tsc' (pit, warn or none)"
    if [[ $outcome == runs ]]; then row_part=runs; else row_part=refused; fi
    [[ $row_part == "$PART" ]] || continue
    check_model "$model" "$tsc" "$outcome"
done <<<"$MATRIX"

((checked > 0)) || fail "no model in part '$PART'"
if ((${#problems[@]})); then
    LOG=$first_log
    summary=$(printf '%s; ' "${problems[@]}")
    fail "${summary%; }"
fi
pass
