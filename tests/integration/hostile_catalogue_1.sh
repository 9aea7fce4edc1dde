#!/usr/bin/env bash
# The hostile-guest catalogue, part 1 of 4 on 1 CPU (lib.sh hostile_catalogue_part; tools/test-hostile).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
hostile_catalogue_part 1 4 1
pass
