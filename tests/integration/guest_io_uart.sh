#!/usr/bin/env bash
# Port I/O: the virtual 16550 probed like a driver, port 0xE9, an unclaimed port (all ones),
# string I/O forwards and backwards. The rep outsb lines must reach the console whole.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
boot "" 0 --emulator bochs io_uart
expect_line "[io_uart] rep outsb to the UART works"
expect_line "[io_uart] rep outsb backwards works"
expect_match "io_uart: port 0xe9 works\$"
expect_line "[io_uart] PASS io_uart"
expect_line "matryoshka: vm io_uart ended: debug-exit 0"
expect_line "matryoshka: exit status 0"
pass
