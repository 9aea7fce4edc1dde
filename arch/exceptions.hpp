// What the exception stubs save, in push order reversed (lowest address first).
#pragma once
#include <cstdint>

struct ExceptionFrame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;  // pushed by the CPU (SDM Vol. 3A 6.14.2)
};
