#!/usr/bin/env bash
# The refusal half of the Bochs CPU-model matrix (the table and the checks are in bochs_models.sh):
# models without VT-x or EPT must refuse with their precise line, and models without unrestricted
# guest must refuse the guest, both with status 2.
# shellcheck source-path=SCRIPTDIR source=bochs_models.sh
BOCHS_MODELS_PART=refused
source "$(dirname "$0")/bochs_models.sh"
