/* hostile lapic_sse: a 16-byte SSE load (MOVDQA) of the local APIC's version register.
 * hardware: SDM Vol. 3A 11.4.1: "Any FP/MMX/SSE access to an APIC register ... may cause
 * undefined behavior", including machine checks: no defined result to give the guest.
 * expect: ended instruction the MMIO emulator does not support, on 0xfee00030 \(read\).*opcode 0f 6f
 * The emulator decodes general-purpose instructions only (vmx/instruction_decoder.hpp); anything
 * else on device memory ends the VM alone, naming the address and the opcode. */
#include "guest.h"

TEST("lapic_sse");


int main(void)
{
    ASSERT(cpuid(1, 0).edx & (1u << 26)); /* SSE2 */
    write_cr0(read_cr0() & ~((1u << 2) | (1u << 3))); /* EM = TS = 0 */
    write_cr4(read_cr4() | CR4_OSFXSR);
    static u32 ram[4] __attribute__((aligned(16))) = {1, 2, 3, 4};
    __asm__ volatile("movdqa (%0), %%xmm0" : : "r"(ram));
    CHECK(1, "MOVDQA from RAM works (SSE enabled)");
    printf("lapic_sse: movdqa from 0xfee00030: the VM should end here\n");
    uart_flush();
    __asm__ volatile("movdqa (%0), %%xmm0" : : "r"(LAPIC_BASE + LAPIC_VERSION));
    fail(EXIT_FAIL, "the SSE load from the APIC completed and the VM went on");
}
