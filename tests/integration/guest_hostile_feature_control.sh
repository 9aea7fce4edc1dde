#!/usr/bin/env bash
# A guest writing IA32_FEATURE_CONTROL (lock + VMX) gets #GP and goes on; a second VM passes.
# Pending: enable once the hypervisor runs guests.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs hostile_feature_control hello
expect_line "[hostile_feature_control] ok wrmsr IA32_FEATURE_CONTROL: got #GP"
expect_line "[hostile_feature_control] PASS hostile_feature_control"
expect_line "matryoshka: vm hostile_feature_control ended: debug-exit 0"
expect_line "[hello] PASS hello"
expect_line "matryoshka: vm hello ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
