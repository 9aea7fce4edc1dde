#include "vmx/instruction_decoder.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

using namespace x86_decode;

struct Decoded {
    DecodeStatus status;
    Instruction insn;
};

// Decodes from a heap copy of exactly the given bytes, so ASan catches any read past them.
Decoded run(CpuMode mode, std::vector<uint8_t> bytes)
{
    std::vector<uint8_t> exact(bytes);
    Decoded d;
    d.status = decode(exact.data(), exact.size(), mode, d.insn);
    return d;
}
Decoded run64(std::vector<uint8_t> bytes) { return run(CpuMode::long64, bytes); }
Decoded run32(std::vector<uint8_t> bytes) { return run(CpuMode::protected32, bytes); }
Decoded run16(std::vector<uint8_t> bytes) { return run(CpuMode::real, bytes); }

TEST(Decoder, RipRelative)
{
    Decoded d = run64({0x89, 0x05, 0x78, 0x56, 0x34, 0x12});  // mov [rip+0x12345678], eax
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 6);
    EXPECT_EQ(d.insn.operation, Operation::mov);
    EXPECT_EQ(d.insn.form, Form::rm_reg);
    EXPECT_TRUE(d.insn.memory);
    EXPECT_TRUE(d.insn.rip_relative);
    EXPECT_EQ(d.insn.base, -1);
    EXPECT_EQ(d.insn.index, -1);
    EXPECT_EQ(d.insn.displacement, 0x12345678);
    EXPECT_EQ(d.insn.operand_size, 4);
    EXPECT_EQ(d.insn.address_size, 8);
    EXPECT_EQ(d.insn.reg, 0);
    EXPECT_EQ(d.insn.segment, seg::ds);

    // The same bytes in 32-bit mode are an absolute disp32.
    d = run32({0x89, 0x05, 0x00, 0x00, 0xe0, 0xfe});
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_FALSE(d.insn.rip_relative);
    EXPECT_EQ(d.insn.base, -1);
    EXPECT_EQ(d.insn.displacement, int64_t(0xffff'ffff'fee0'0000));
    EXPECT_EQ(d.insn.address_size, 4);

    // 67: EIP-relative, still RIP-relative in form.
    d = run64({0x67, 0x8b, 0x0d, 0xf0, 0xff, 0xff, 0xff});
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_TRUE(d.insn.rip_relative);
    EXPECT_EQ(d.insn.address_size, 4);
    EXPECT_EQ(d.insn.displacement, -16);
    EXPECT_EQ(d.insn.reg, 1);
    EXPECT_EQ(d.insn.length, 7);
}

TEST(Decoder, SibForms)
{
    // mov [abs 0xfffffffffee00000], rax: SIB with no base and no index.
    Decoded d = run64({0x48, 0x89, 0x04, 0x25, 0x00, 0x00, 0xe0, 0xfe});
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 8);
    EXPECT_EQ(d.insn.base, -1);
    EXPECT_EQ(d.insn.index, -1);
    EXPECT_FALSE(d.insn.rip_relative);
    EXPECT_EQ(d.insn.displacement, int64_t(0xffff'ffff'fee0'0000));
    EXPECT_EQ(d.insn.operand_size, 8);
    EXPECT_TRUE(d.insn.rex);

    // mov r9d, [rdx + rcx*4 + 0x320]
    d = run64({0x44, 0x8b, 0x8c, 0x8a, 0x20, 0x03, 0x00, 0x00});
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 8);
    EXPECT_EQ(d.insn.form, Form::reg_rm);
    EXPECT_EQ(d.insn.reg, 9);
    EXPECT_EQ(d.insn.base, 2);
    EXPECT_EQ(d.insn.index, 1);
    EXPECT_EQ(d.insn.scale, 4);
    EXPECT_EQ(d.insn.displacement, 0x320);

    // mov eax, [r12*4 + 0]: REX.X makes index 100 a register; base 101 with mod 0 is none.
    d = run64({0x42, 0x8b, 0x04, 0xa5, 0x00, 0x00, 0x00, 0x00});
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.index, 12);
    EXPECT_EQ(d.insn.base, -1);
    EXPECT_EQ(d.insn.length, 8);

    // mov eax, [r13 + 0]: REX.B r13 needs a displacement and uses DS, unlike rbp.
    d = run64({0x41, 0x8b, 0x45, 0x00});
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.base, 13);
    EXPECT_EQ(d.insn.length, 4);
    EXPECT_EQ(d.insn.segment, seg::ds);
    EXPECT_FALSE(d.insn.rip_relative);

    // mov eax, [r12]: rm 100 with REX.B still takes a SIB.
    d = run64({0x41, 0x8b, 0x04, 0x24});
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.base, 12);
    EXPECT_EQ(d.insn.index, -1);
    EXPECT_EQ(d.insn.length, 4);

    // mov eax, [rsp + 8] defaults to SS; [rbp + rax*8 - 8] too.
    d = run64({0x8b, 0x44, 0x24, 0x08});
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.base, 4);
    EXPECT_EQ(d.insn.segment, seg::ss);
    d = run64({0x8b, 0x44, 0xc5, 0xf8});
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.base, 5);
    EXPECT_EQ(d.insn.index, 0);
    EXPECT_EQ(d.insn.scale, 8);
    EXPECT_EQ(d.insn.displacement, -8);
    EXPECT_EQ(d.insn.segment, seg::ss);
    // A segment override wins.
    d = run64({0x65, 0x8b, 0x44, 0x24, 0x08});
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.segment, seg::gs);
}

TEST(Decoder, OperandAndAddressSizePrefixes)
{
    Decoded d = run64({0x66, 0x89, 0x08});  // mov [rax], cx
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 2);
    EXPECT_EQ(d.insn.address_size, 8);
    EXPECT_EQ(d.insn.reg, 1);
    EXPECT_EQ(d.insn.base, 0);
    EXPECT_EQ(d.insn.length, 3);

    d = run64({0x67, 0x89, 0x08});  // mov [eax], ecx
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 4);
    EXPECT_EQ(d.insn.address_size, 4);

    d = run64({0x66, 0x48, 0x89, 0x08});  // REX.W beats 66
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 8);

    d = run64({0x48, 0x66, 0x89, 0x08});  // a REX before a legacy prefix is ignored
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 2);
    EXPECT_FALSE(d.insn.rex);

    d = run64({0x48, 0x41, 0x89, 0x08});  // of two REX bytes only the last counts
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 4);
    EXPECT_EQ(d.insn.base, 8);

    d = run32({0x66, 0x89, 0x08});
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 2);
    EXPECT_EQ(d.insn.address_size, 4);

    d = run32({0x40});  // INC EAX outside 64-bit mode, not a REX
    EXPECT_EQ(d.status, DecodeStatus::unsupported);
    EXPECT_EQ(d.insn.opcode[0], 0x40);
    EXPECT_EQ(d.insn.opcode_length, 1);
}

TEST(Decoder, SixteenBitAddressing)
{
    Decoded d = run16({0x8b, 0x47, 0x02});  // mov ax, [bx+2]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 3);
    EXPECT_EQ(d.insn.operand_size, 2);
    EXPECT_EQ(d.insn.address_size, 2);
    EXPECT_EQ(d.insn.base, 3);
    EXPECT_EQ(d.insn.index, -1);
    EXPECT_EQ(d.insn.displacement, 2);
    EXPECT_EQ(d.insn.segment, seg::ds);

    d = run16({0x89, 0x02});  // mov [bp+si], ax
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 2);
    EXPECT_EQ(d.insn.base, 5);
    EXPECT_EQ(d.insn.index, 6);
    EXPECT_EQ(d.insn.segment, seg::ss);

    d = run16({0x8b, 0x0e, 0x34, 0x12});  // mov cx, [0x1234]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 4);
    EXPECT_EQ(d.insn.base, -1);
    EXPECT_EQ(d.insn.displacement, 0x1234);
    EXPECT_EQ(d.insn.segment, seg::ds);

    d = run16({0x8b, 0x46, 0xfe});  // mov ax, [bp-2]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.base, 5);
    EXPECT_EQ(d.insn.displacement, -2);
    EXPECT_EQ(d.insn.segment, seg::ss);

    d = run16({0x89, 0x86, 0x00, 0x80});  // mov [bp-0x8000], ax
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 4);
    EXPECT_EQ(d.insn.displacement, -0x8000);

    d = run16({0x26, 0x89, 0x01});  // mov es:[bx+di], ax
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.base, 3);
    EXPECT_EQ(d.insn.index, 7);
    EXPECT_EQ(d.insn.segment, seg::es);

    // 66 67 in real mode: mov eax, [ecx*4 + 0x1000]
    d = run16({0x66, 0x67, 0x8b, 0x04, 0x8d, 0x00, 0x10, 0x00, 0x00});
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 9);
    EXPECT_EQ(d.insn.operand_size, 4);
    EXPECT_EQ(d.insn.address_size, 4);
    EXPECT_EQ(d.insn.index, 1);
    EXPECT_EQ(d.insn.scale, 4);
    EXPECT_EQ(d.insn.base, -1);
    EXPECT_EQ(d.insn.displacement, 0x1000);

    d = run16({0xa1, 0x20, 0x00});  // mov ax, [0x20]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 3);
    EXPECT_EQ(d.insn.displacement, 0x20);

    d = run(CpuMode::protected16, {0x67, 0x89, 0x08});  // mov [eax], cx
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.address_size, 4);
    EXPECT_EQ(d.insn.operand_size, 2);
    EXPECT_EQ(d.insn.base, 0);
}

TEST(Decoder, Immediates)
{
    Decoded d = run64({0xc7, 0x80, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00});
    ASSERT_EQ(d.status, DecodeStatus::ok);  // mov dword [rax+0x300], 0x10000
    EXPECT_EQ(d.insn.length, 10);
    EXPECT_EQ(d.insn.form, Form::rm_imm);
    EXPECT_EQ(d.insn.displacement, 0x300);
    EXPECT_EQ(d.insn.immediate, 0x10000u);

    d = run64({0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff});  // mov qword [rax], -1
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 7);
    EXPECT_EQ(d.insn.immediate, ~0ull);

    d = run64({0x66, 0xc7, 0x00, 0x34, 0x12});  // mov word [rax], 0x1234
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 5);
    EXPECT_EQ(d.insn.immediate, 0x1234u);

    d = run64({0xc6, 0x00, 0x80});  // mov byte [rax], 0x80
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 3);
    EXPECT_EQ(d.insn.operand_size, 1);
    EXPECT_EQ(d.insn.immediate & 0xff, 0x80u);

    d = run64({0x83, 0x48, 0x10, 0xf0});  // or dword [rax+0x10], -16
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 4);
    EXPECT_EQ(d.insn.operation, Operation::or_);
    EXPECT_EQ(d.insn.immediate, uint64_t(-16));

    d = run64({0x81, 0x78, 0x20, 0x78, 0x56, 0x34, 0x12});  // cmp dword [rax+0x20], 0x12345678
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 7);
    EXPECT_EQ(d.insn.operation, Operation::cmp);
    EXPECT_EQ(d.insn.immediate, 0x12345678u);

    d = run64({0x66, 0x81, 0x60, 0x02, 0xff, 0x7f});  // and word [rax+2], 0x7fff
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 6);
    EXPECT_EQ(d.insn.operation, Operation::and_);
    EXPECT_EQ(d.insn.immediate, 0x7fffu);

    d = run64({0xf6, 0x40, 0x04, 0x01});  // test byte [rax+4], 1
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 4);
    EXPECT_EQ(d.insn.operation, Operation::test);
    EXPECT_EQ(d.insn.form, Form::rm_imm);

    d = run64({0xf7, 0x00, 0x00, 0x00, 0x01, 0x00});  // test dword [rax], 0x10000
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 6);
    EXPECT_EQ(d.insn.immediate, 0x10000u);

    d = run64({0x66, 0xf7, 0x00, 0x01, 0x00});  // test word [rax], 1
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 5);

    // RIP-relative with an immediate after the displacement: cmp byte [rip+0x10], 7
    d = run64({0x80, 0x3d, 0x10, 0x00, 0x00, 0x00, 0x07});
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 7);
    EXPECT_TRUE(d.insn.rip_relative);
    EXPECT_EQ(d.insn.immediate, 7u);
}

TEST(Decoder, TwoByteOpcodes)
{
    Decoded d = run64({0x0f, 0xb6, 0x40, 0x01});  // movzx eax, byte [rax+1]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 4);
    EXPECT_EQ(d.insn.operation, Operation::movzx);
    EXPECT_EQ(d.insn.operand_size, 4);
    EXPECT_EQ(d.insn.memory_size, 1);
    EXPECT_EQ(d.insn.opcode_length, 2);
    EXPECT_EQ(d.insn.opcode[1], 0xb6);

    d = run64({0x48, 0x0f, 0xbf, 0x08});  // movsx rcx, word [rax]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operation, Operation::movsx);
    EXPECT_EQ(d.insn.operand_size, 8);
    EXPECT_EQ(d.insn.memory_size, 2);
    EXPECT_EQ(d.insn.reg, 1);

    d = run64({0xf0, 0x0f, 0xba, 0x28, 0x05});  // lock bts dword [rax], 5
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 5);
    EXPECT_EQ(d.insn.operation, Operation::bts);
    EXPECT_TRUE(d.insn.lock);
    EXPECT_EQ(d.insn.immediate, 5u);

    d = run64({0x0f, 0xa3, 0x08});  // bt [rax], ecx
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operation, Operation::bt);
    EXPECT_EQ(d.insn.form, Form::rm_reg);
    EXPECT_EQ(d.insn.length, 3);
}

TEST(Decoder, MoffsAndStrings)
{
    Decoded d = run64({0xa1, 0x00, 0x00, 0xe0, 0xfe, 0x00, 0x00, 0x00, 0x00});
    ASSERT_EQ(d.status, DecodeStatus::ok);  // mov eax, [0xfee00000] (moffs64)
    EXPECT_EQ(d.insn.length, 9);
    EXPECT_TRUE(d.insn.memory);
    EXPECT_EQ(d.insn.form, Form::reg_rm);
    EXPECT_EQ(d.insn.displacement, 0xfee0'0000);
    EXPECT_EQ(d.insn.base, -1);

    d = run64({0x67, 0xa3, 0x00, 0x00, 0xe0, 0xfe});  // mov [0xfee00000], eax (moffs32)
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 6);
    EXPECT_EQ(d.insn.form, Form::rm_reg);
    EXPECT_EQ(d.insn.displacement, 0xfee0'0000);  // zero-extended

    d = run64({0xf3, 0x48, 0xab});  // rep stosq
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 3);
    EXPECT_EQ(d.insn.operation, Operation::stos);
    EXPECT_EQ(d.insn.form, Form::string);
    EXPECT_EQ(d.insn.rep, 0xf3);
    EXPECT_EQ(d.insn.operand_size, 8);

    d = run64({0x64, 0x66, 0xa5});  // movsw fs:[rsi], es:[rdi]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operation, Operation::movs);
    EXPECT_EQ(d.insn.segment, seg::fs);
    EXPECT_EQ(d.insn.operand_size, 2);

    d = run16({0xf3, 0xa4});  // rep movsb
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 1);
    EXPECT_EQ(d.insn.address_size, 2);
}

TEST(Decoder, ByteRegisters)
{
    Decoded d = run64({0x86, 0x20});  // xchg [rax], ah
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.reg, 4);
    EXPECT_FALSE(d.insn.rex);
    d = run64({0x40, 0x86, 0x20});  // xchg [rax], spl
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.reg, 4);
    EXPECT_TRUE(d.insn.rex);
    d = run64({0x44, 0x88, 0x38});  // mov [rax], r15b
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.reg, 15);
}

TEST(Decoder, LengthLimit)
{
    std::vector<uint8_t> bytes(13, 0x66);
    bytes.push_back(0x89);
    bytes.push_back(0x00);
    Decoded d = run64(bytes);  // 15 bytes
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 15);
    bytes.insert(bytes.begin(), 0x2e);
    EXPECT_EQ(run64(bytes).status, DecodeStatus::too_long);  // 16 bytes

    // mov dword [rax+rbx*1+disp32], imm32 with 7 prefixes: 7 + 1 + 1 + 1 + 4 + 4 = 18.
    d = run64({0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0xc7, 0x84, 0x18, 1, 2, 3, 4, 5, 6, 7, 8});
    EXPECT_EQ(d.status, DecodeStatus::too_long);
    // Too long even when only 15 bytes are supplied.
    d = run64({0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0x26, 0xc7, 0x84, 0x18, 1, 2, 3, 4, 5});
    EXPECT_EQ(d.status, DecodeStatus::too_long);
}

TEST(Decoder, Truncated)
{
    EXPECT_EQ(run64({}).status, DecodeStatus::truncated);
    EXPECT_EQ(run64({0x66, 0x48}).status, DecodeStatus::truncated);
    EXPECT_EQ(run64({0x89}).status, DecodeStatus::truncated);
    EXPECT_EQ(run64({0x89, 0x04}).status, DecodeStatus::truncated);                   // SIB missing
    EXPECT_EQ(run64({0x89, 0x05, 0x00, 0x00, 0x00}).status, DecodeStatus::truncated);  // disp32 short
    EXPECT_EQ(run64({0xc7, 0x00, 0x01, 0x02}).status, DecodeStatus::truncated);       // imm32 short
    EXPECT_EQ(run64({0x0f}).status, DecodeStatus::truncated);
    EXPECT_EQ(run64({0xa1, 0, 0, 0, 0, 0, 0, 0}).status, DecodeStatus::truncated);  // moffs64 short
}

TEST(Decoder, UnsupportedAndInvalid)
{
    Decoded d = run64({0x0f, 0x05});  // syscall
    EXPECT_EQ(d.status, DecodeStatus::unsupported);
    EXPECT_EQ(d.insn.opcode_length, 2);
    EXPECT_EQ(d.insn.opcode[0], 0x0f);
    EXPECT_EQ(d.insn.opcode[1], 0x05);
    d = run64({0x66, 0x0f, 0x38, 0x00, 0x00});  // pshufb
    EXPECT_EQ(d.status, DecodeStatus::unsupported);
    EXPECT_EQ(d.insn.opcode_length, 3);
    EXPECT_EQ(d.insn.opcode[2], 0x00);
    EXPECT_EQ(run64({0xff, 0x10}).status, DecodeStatus::unsupported);      // call [rax]
    EXPECT_EQ(run64({0xf7, 0x20}).status, DecodeStatus::unsupported);      // mul dword [rax]
    EXPECT_EQ(run64({0xc5, 0xf8, 0x77}).status, DecodeStatus::unsupported);  // VEX
    EXPECT_EQ(run64({0xc7, 0xf8, 0, 0, 0, 0}).status, DecodeStatus::unsupported);  // xbegin

    EXPECT_EQ(run64({0xf0, 0x89, 0x00}).status, DecodeStatus::invalid_opcode);  // lock mov
    EXPECT_EQ(run64({0xf0, 0x39, 0x00}).status, DecodeStatus::invalid_opcode);  // lock cmp
    EXPECT_EQ(run64({0xf0, 0x03, 0x00}).status, DecodeStatus::invalid_opcode);  // lock add reg, [mem]
    EXPECT_EQ(run64({0xf0, 0x87, 0xc1}).status, DecodeStatus::invalid_opcode);  // lock xchg reg, reg
    EXPECT_EQ(run64({0xf0, 0x0f, 0xa3, 0x00}).status, DecodeStatus::invalid_opcode);  // lock bt
    EXPECT_EQ(run64({0xf0, 0x01, 0x00}).status, DecodeStatus::ok);              // lock add [mem], reg
    EXPECT_EQ(run64({0xf0, 0x87, 0x00}).status, DecodeStatus::ok);              // lock xchg
    EXPECT_EQ(run64({0xf0, 0x83, 0x30, 0x01}).status, DecodeStatus::ok);        // lock xor [mem], 1
    EXPECT_EQ(run64({0xc7, 0x08, 0, 0, 0, 0}).status, DecodeStatus::invalid_opcode);  // C7 /1
    EXPECT_EQ(run64({0x0f, 0xba, 0x00, 0x01}).status, DecodeStatus::invalid_opcode);  // 0F BA /0
    EXPECT_EQ(run64({0x82, 0x08, 0x01}).status, DecodeStatus::invalid_opcode);
    Decoded or82 = run32({0x82, 0x08, 0x01});  // or byte [eax], 1
    ASSERT_EQ(or82.status, DecodeStatus::ok);
    EXPECT_EQ(or82.insn.operation, Operation::or_);
    EXPECT_EQ(or82.insn.length, 3);
}

TEST(Decoder, IncDecNotNeg)
{
    Decoded d = run64({0xff, 0x05, 0x80, 0x00, 0xe0, 0xfe});  // inc dword [rip+0xfee00080]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 6);
    EXPECT_EQ(d.insn.operation, Operation::inc);
    EXPECT_EQ(d.insn.form, Form::rm);
    EXPECT_EQ(d.insn.operand_size, 4);
    EXPECT_EQ(d.insn.memory_size, 4);
    EXPECT_TRUE(d.insn.rip_relative);
    EXPECT_EQ(d.insn.immediate, 0u);

    d = run32({0xff, 0x0d, 0x80, 0x00, 0xe0, 0xfe});  // dec dword [0xfee00080]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 6);
    EXPECT_EQ(d.insn.operation, Operation::dec);
    EXPECT_FALSE(d.insn.rip_relative);
    EXPECT_EQ(d.insn.base, -1);

    d = run64({0xfe, 0x48, 0x10});  // dec byte [rax+0x10]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 3);
    EXPECT_EQ(d.insn.operation, Operation::dec);
    EXPECT_EQ(d.insn.operand_size, 1);

    d = run64({0xf0, 0x49, 0xff, 0x44, 0x24, 0x08});  // lock inc qword [r12+8]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 6);
    EXPECT_EQ(d.insn.operand_size, 8);
    EXPECT_EQ(d.insn.base, 12);
    EXPECT_TRUE(d.insn.lock);

    d = run16({0xfe, 0x06, 0x34, 0x12});  // inc byte [0x1234]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 4);
    EXPECT_EQ(d.insn.displacement, 0x1234);

    d = run64({0x66, 0xf7, 0x50, 0x04});  // not word [rax+4]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 4);
    EXPECT_EQ(d.insn.operation, Operation::not_);
    EXPECT_EQ(d.insn.form, Form::rm);
    EXPECT_EQ(d.insn.operand_size, 2);

    // neg byte [rbx+rcx*2+0x100]: no immediate follows, unlike F6 /0.
    d = run64({0xf6, 0x9c, 0x4b, 0x00, 0x01, 0x00, 0x00});
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 7);
    EXPECT_EQ(d.insn.operation, Operation::neg);
    EXPECT_EQ(d.insn.operand_size, 1);
    EXPECT_EQ(d.insn.index, 1);
    EXPECT_EQ(d.insn.scale, 2);
    EXPECT_EQ(d.insn.displacement, 0x100);
    EXPECT_EQ(run64({0xf0, 0xf7, 0x18}).status, DecodeStatus::ok);  // lock neg dword [rax]

    // Register forms decode but have no memory operand.
    d = run64({0xff, 0xc0});  // inc eax
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_FALSE(d.insn.memory);
    EXPECT_EQ(d.insn.length, 2);
    EXPECT_EQ(run64({0xf0, 0xff, 0xc0}).status, DecodeStatus::invalid_opcode);  // lock inc eax

    // 40-4F: REX in 64-bit mode; INC/DEC of a register (never memory) elsewhere.
    d = run64({0x48, 0xff, 0x00});  // inc qword [rax]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 8);
    EXPECT_EQ(d.insn.length, 3);
    d = run32({0x48, 0xff, 0x00});  // dec eax; inc dword [eax]
    EXPECT_EQ(d.status, DecodeStatus::unsupported);
    EXPECT_EQ(d.insn.opcode[0], 0x48);
    EXPECT_EQ(d.insn.opcode_length, 1);
    EXPECT_EQ(run16({0x4f}).status, DecodeStatus::unsupported);

    // The rest of groups 3, 4 and 5.
    EXPECT_EQ(run64({0xf6, 0x08, 0x01}).status, DecodeStatus::unsupported);  // F6 /1
    EXPECT_EQ(run64({0xf7, 0x38}).status, DecodeStatus::unsupported);        // idiv dword [rax]
    for (uint8_t ext = 2; ext < 8; ++ext)
        EXPECT_EQ(run64({0xfe, uint8_t(ext << 3)}).status, DecodeStatus::invalid_opcode) << int(ext);
    EXPECT_EQ(run64({0xff, 0x18}).status, DecodeStatus::unsupported);  // call far [rax]
    EXPECT_EQ(run64({0xff, 0x20}).status, DecodeStatus::unsupported);  // jmp [rax]
    EXPECT_EQ(run64({0xff, 0x28}).status, DecodeStatus::unsupported);  // jmp far [rax]
    EXPECT_EQ(run64({0xff, 0x38}).status, DecodeStatus::invalid_opcode);  // FF /7
    EXPECT_EQ(run64({0xff, 0x04}).status, DecodeStatus::truncated);       // SIB missing
    EXPECT_EQ(run64({0xfe}).status, DecodeStatus::truncated);
}

TEST(Decoder, Cmpxchg)
{
    Decoded d = run32({0xf0, 0x0f, 0xb1, 0x15, 0x80, 0x00, 0xe0, 0xfe});  // lock cmpxchg [0xfee00080], edx
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 8);
    EXPECT_EQ(d.insn.operation, Operation::cmpxchg);
    EXPECT_EQ(d.insn.form, Form::rm_reg);
    EXPECT_EQ(d.insn.reg, 2);
    EXPECT_EQ(d.insn.operand_size, 4);
    EXPECT_TRUE(d.insn.lock);
    EXPECT_EQ(d.insn.opcode_length, 2);
    EXPECT_EQ(d.insn.opcode[1], 0xb1);

    d = run64({0x44, 0x0f, 0xb0, 0x43, 0x7f});  // cmpxchg [rbx+0x7f], r8b
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 5);
    EXPECT_EQ(d.insn.operand_size, 1);
    EXPECT_EQ(d.insn.reg, 8);
    EXPECT_EQ(d.insn.base, 3);

    d = run64({0x66, 0x0f, 0xb1, 0x0c, 0x85, 0x00, 0x10, 0x00, 0x00});  // cmpxchg [rax*4+0x1000], cx
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 9);
    EXPECT_EQ(d.insn.operand_size, 2);
    EXPECT_EQ(d.insn.base, -1);
    EXPECT_EQ(d.insn.index, 0);

    d = run64({0xf2, 0xf0, 0x48, 0x0f, 0xb1, 0x0b});  // xacquire lock cmpxchg [rbx], rcx
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 6);
    EXPECT_EQ(d.insn.operand_size, 8);

    EXPECT_EQ(run64({0xf0, 0x0f, 0xb1, 0xc8}).status, DecodeStatus::invalid_opcode);  // lock cmpxchg eax, ecx
    EXPECT_EQ(run64({0x0f, 0xb1}).status, DecodeStatus::truncated);
    EXPECT_EQ(run64({0x0f, 0xb1, 0x05, 0, 0, 0}).status, DecodeStatus::truncated);
}

TEST(Decoder, PushPop)
{
    Decoded d = run32({0xff, 0x35, 0x30, 0x00, 0xe0, 0xfe});  // push dword [0xfee00030]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 6);
    EXPECT_EQ(d.insn.operation, Operation::push);
    EXPECT_EQ(d.insn.form, Form::rm);
    EXPECT_EQ(d.insn.operand_size, 4);
    EXPECT_EQ(d.insn.memory_size, 4);

    d = run32({0x8f, 0x05, 0x80, 0x00, 0xe0, 0xfe});  // pop dword [0xfee00080]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 6);
    EXPECT_EQ(d.insn.operation, Operation::pop);
    EXPECT_EQ(d.insn.form, Form::rm);
    EXPECT_EQ(d.insn.operand_size, 4);

    // 64-bit mode: 64 bits by default, 16 with 66, REX.W wins over 66; never 32.
    d = run64({0xff, 0x33});  // push qword [rbx]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 8);
    EXPECT_EQ(d.insn.memory_size, 8);
    EXPECT_EQ(d.insn.length, 2);
    d = run64({0x66, 0xff, 0x33});  // push word [rbx]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 2);
    EXPECT_EQ(d.insn.memory_size, 2);
    d = run64({0x66, 0x48, 0x8f, 0x03});  // pop qword [rbx]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 8);
    d = run64({0x67, 0x8f, 0x03});  // pop qword [ebx]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 8);
    EXPECT_EQ(d.insn.address_size, 4);
    d = run64({0x8f, 0x84, 0x24, 0x00, 0x01, 0x00, 0x00});  // pop qword [rsp+0x100]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 7);
    EXPECT_EQ(d.insn.base, 4);
    EXPECT_EQ(d.insn.segment, seg::ss);
    d = run16({0xff, 0x36, 0x30, 0x00});  // push word [0x30]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 2);
    EXPECT_EQ(d.insn.length, 4);
    d = run16({0x66, 0x8f, 0x06, 0x80, 0x00});  // pop dword [0x80]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 4);
    EXPECT_EQ(d.insn.length, 5);

    EXPECT_EQ(run64({0xf0, 0xff, 0x33}).status, DecodeStatus::invalid_opcode);  // lock push
    EXPECT_EQ(run64({0xf0, 0x8f, 0x03}).status, DecodeStatus::invalid_opcode);  // lock pop
    for (uint8_t ext = 1; ext < 8; ++ext)
        EXPECT_EQ(run32({0x8f, uint8_t(0x03 | ext << 3)}).status, DecodeStatus::invalid_opcode) << int(ext);
    EXPECT_EQ(run64({0x8f, 0xf8}).status, DecodeStatus::invalid_opcode);  // not XBEGIN's exception
    d = run64({0x8f, 0xc0});  // pop rax
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_FALSE(d.insn.memory);
    EXPECT_EQ(run64({0x8f, 0x05, 0, 0, 0}).status, DecodeStatus::truncated);
}

TEST(Decoder, Movsxd)
{
    Decoded d = run64({0x48, 0x63, 0x43, 0x20});  // movsxd rax, dword [rbx+0x20]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 4);
    EXPECT_EQ(d.insn.operation, Operation::movsx);
    EXPECT_EQ(d.insn.form, Form::reg_rm);
    EXPECT_EQ(d.insn.operand_size, 8);
    EXPECT_EQ(d.insn.memory_size, 4);
    EXPECT_EQ(d.insn.opcode[0], 0x63);

    d = run64({0x4c, 0x63, 0x3d, 0x10, 0x00, 0x00, 0x00});  // movsxd r15, [rip+0x10]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.length, 7);
    EXPECT_EQ(d.insn.reg, 15);
    EXPECT_TRUE(d.insn.rip_relative);

    d = run64({0x63, 0x03});  // movsxd eax, [rbx]: as MOV
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 4);
    EXPECT_EQ(d.insn.memory_size, 4);
    d = run64({0x66, 0x63, 0x03});  // movsxd ax, [rbx]
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.operand_size, 2);
    EXPECT_EQ(d.insn.memory_size, 2);

    d = run32({0x63, 0x03});  // ARPL [ebx], ax outside 64-bit mode
    EXPECT_EQ(d.status, DecodeStatus::unsupported);
    EXPECT_EQ(d.insn.opcode[0], 0x63);
    EXPECT_EQ(run16({0x63, 0x03}).status, DecodeStatus::unsupported);
    EXPECT_EQ(run64({0xf0, 0x48, 0x63, 0x03}).status, DecodeStatus::invalid_opcode);
    EXPECT_EQ(run64({0x48, 0x63}).status, DecodeStatus::truncated);
}

TEST(Decoder, RegisterFormsDecodeWithoutMemory)
{
    Decoded d = run64({0x89, 0xc8});  // mov eax, ecx
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_FALSE(d.insn.memory);
    EXPECT_EQ(d.insn.rm, 0);
    EXPECT_EQ(d.insn.reg, 1);
    d = run64({0x49, 0x89, 0xc8});  // mov r8, rcx
    ASSERT_EQ(d.status, DecodeStatus::ok);
    EXPECT_EQ(d.insn.rm, 8);
}

}  // namespace
