#!/usr/bin/env bash
# The hostile-guest catalogue on 2 CPUs: the scenarios with an `smp:` line (storms, floods, IF=0
# spin, triple fault, shutdown loop), the canary alone on CPU 0 and the scenario beside it or
# across both CPUs (lib.sh hostile_catalogue_part; tools/test-hostile --cpus 2).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
hostile_catalogue_part 1 1 2
pass
