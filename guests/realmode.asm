; realmode: a 64 KiB flat binary for kind=realmode. The hypervisor loads it so that its last 16
; bytes sit at 0xFFFF0 (the whole file at 0xF0000-0xFFFFF) and starts the vCPU in real mode at
; CS:IP = F000:FFF0 with CS.base = 0xF0000. Offsets in this file are therefore IPs in segment
; F000. The reset-vector code is a far jump, so the same file also runs as a BIOS image in QEMU
; (-bios realmode.bin: QEMU maps the last 128 KiB of the BIOS below 1 MiB and starts at
; F000:FFF0 with CS.base 0xFFFF0000, which the far jump reloads).
;
; It checks CR0.PE = 0 and CS = F000, that low RAM reads back what it writes, and that 32-bit
; operands work (66h prefix) and that segment:offset arithmetic is real-mode's, printing one line
; per check to the 16550 at 0x3F8 (8N1, polled), then "PASS realmode" and debug-exit 0 (port
; 0xF4), or "FAIL realmode: ..." and 1.

bits 16
org 0

COM1 equ 0x3f8

start:
    cli
    cld
    xor ax, ax
    mov ss, ax
    mov sp, 0x7000
    mov ax, cs
    mov ds, ax                            ; strings live in this segment
    xor bx, bx                            ; failures
    call uart_init

    mov si, msg_hello
    call puts

    ; CS is F000 after the far jump (or as the hypervisor started us).
    mov ax, cs
    cmp ax, 0xf000
    mov si, msg_cs
    call check

    ; CR0.PE = 0: real mode (SMSW is allowed at any privilege and in real mode).
    smsw ax
    test ax, 1
    mov si, msg_pe
    call check_zf

    ; Low RAM: write two patterns at 0000:0600 and read them back.
    xor ax, ax
    mov es, ax
    mov word [es:0x600], 0x5aa5
    mov word [es:0x602], 0xc33c
    cmp word [es:0x600], 0x5aa5
    jne .ram_bad
    cmp word [es:0x602], 0xc33c
.ram_bad:
    mov si, msg_ram
    call check

    ; 32-bit arithmetic with the operand-size prefix.
    mov eax, 0x12345678
    add eax, 0x11111111
    cmp eax, 0x23456789
    mov si, msg_32
    call check

    ; Segment arithmetic: 1000:0000 and 0000:10000 are not the same, but 0FFF:0010 and
    ; 1000:0000 are (linear = segment * 16 + offset).
    mov ax, 0x1000
    mov es, ax
    mov word [es:0], 0x1234
    mov ax, 0x0fff
    mov es, ax
    cmp word [es:0x10], 0x1234
    mov si, msg_seg
    call check

    test bx, bx
    jnz .failed
    mov si, msg_pass
    call puts
    mov al, 0
    jmp exit
.failed:
    mov si, msg_fail
    call puts
    mov al, 1
    ; fall through

; exit: AL = the debug-exit value. Waits for the UART to finish (LSR.TEMT), writes AL to port
; 0xF4 (the VM or QEMU ends), then "Shutdown" to Bochs's port 0x8900, then halts.
exit:
    mov ah, al
    mov cx, 0xffff
    mov dx, COM1 + 5
.drain:
    in al, dx
    test al, 0x40
    jnz .drained
    pause
    loop .drain
.drained:
    mov al, ah
    out 0xf4, al
    mov si, msg_shutdown
    mov dx, 0x8900
.shutdown:
    lodsb
    test al, al
    jz halt
    out dx, al
    jmp .shutdown
halt:
    cli
    hlt
    jmp halt

; uart_init: 115200 8N1, FIFOs on, no interrupts (Bochs's BIOS-less start leaves LCR at 0:
; 5 data bits).
uart_init:
    mov dx, COM1 + 1
    mov al, 0
    out dx, al                            ; IER
    mov dx, COM1 + 3
    mov al, 0x80
    out dx, al                            ; LCR: DLAB
    mov dx, COM1
    mov al, 1
    out dx, al                            ; DLL
    mov dx, COM1 + 1
    mov al, 0
    out dx, al                            ; DLM
    mov dx, COM1 + 3
    mov al, 3
    out dx, al                            ; LCR: 8N1
    mov dx, COM1 + 2
    mov al, 7
    out dx, al                            ; FCR
    mov dx, COM1 + 4
    mov al, 3
    out dx, al                            ; MCR: DTR, RTS
    ret

; check: ZF=1 means the check passed; prints "ok <si>" or "not ok <si>" and counts in BX.
check:
    jz check_ok
    jmp check_bad
check_zf:                                 ; same (kept for readability at the call sites)
    jz check_ok
check_bad:
    inc bx
    push si
    mov si, msg_notok
    call puts
    pop si
    call puts
    ret
check_ok:
    push si
    mov si, msg_ok
    call puts
    pop si
    call puts
    ret

; puts: DS:SI, NUL-terminated; waits for LSR.THRE (bit 5, bounded) before each byte.
puts:
    push ax
    push cx
    push dx
.next:
    lodsb
    test al, al
    jz .done
    mov ah, al
    mov cx, 0xffff
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jnz .ready
    pause
    loop .wait
.ready:
    mov al, ah
    mov dx, COM1
    out dx, al
    jmp .next
.done:
    pop dx
    pop cx
    pop ax
    ret

msg_hello: db "realmode: running in real mode at F000", 10, 0
msg_ok:    db "ok ", 0
msg_notok: db "not ok ", 0
msg_cs:    db "CS is F000", 10, 0
msg_pe:    db "CR0.PE is 0", 10, 0
msg_ram:   db "low RAM at 0000:0600 reads back", 10, 0
msg_32:    db "32-bit operands (66h prefix)", 10, 0
msg_seg:   db "0FFF:0010 and 1000:0000 are the same byte", 10, 0
msg_pass:  db "PASS realmode", 10, 0
msg_fail:  db "FAIL realmode: a check failed", 10, 0
msg_shutdown: db "Shutdown", 0

    times 0xfff0 - ($ - $$) db 0xf4       ; HLT filler
reset_vector:                             ; F000:FFF0
    jmp 0xf000:start
    times 0x10000 - ($ - $$) db 0
