#include "lib/format.hpp"

namespace {

struct Spec {
    bool left = false;
    bool zero = false;
    bool prefix = false;
    unsigned width = 0;
    char type = 0;
};

// Parses the text between "{:" and "}"; false when it is not a spec this formatter knows.
bool parse_spec(Str text, Spec& spec)
{
    size_t i = 0;
    if (i < text.size && text[i] == '<') spec.left = true, ++i;
    if (i < text.size && text[i] == '0') spec.zero = true, ++i;
    while (i < text.size && text[i] >= '0' && text[i] <= '9') {
        spec.width = spec.width * 10 + unsigned(text[i] - '0');
        if (spec.width > 64) return false;
        ++i;
    }
    if (i < text.size && text[i] == '#') spec.prefix = true, ++i;
    if (i < text.size) spec.type = text[i++];
    return i == text.size;
}

void pad(FormatSink sink, char fill, size_t count)
{
    while (count--) sink.write(sink.context, &fill, 1);
}

void emit(FormatSink sink, const Spec& spec, Str body, Str prefix = Str("", 0))
{
    size_t length = prefix.size + body.size;
    size_t padding = spec.width > length ? spec.width - length : 0;
    if (!spec.left && !spec.zero) pad(sink, ' ', padding);
    if (prefix.size) sink.write(sink.context, prefix.data, prefix.size);
    if (!spec.left && spec.zero) pad(sink, '0', padding);
    sink.write(sink.context, body.data, body.size);
    if (spec.left) pad(sink, ' ', padding);
}

Str digits(char* end, uint64_t value, unsigned base, bool upper)
{
    const char* alphabet = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char* p = end;
    do {
        *--p = alphabet[value % base];
        value /= base;
    } while (value);
    return Str(p, size_t(end - p));
}

void emit_unsigned(FormatSink sink, const Spec& spec, uint64_t value, bool negative = false)
{
    char buffer[24];
    bool hex = spec.type == 'x' || spec.type == 'X' || spec.type == 'p';
    Str body = digits(buffer + sizeof buffer, value, hex ? 16 : 10, spec.type == 'X');
    Str prefix = negative ? Str("-") : (hex && spec.prefix) ? Str("0x") : Str("", 0);
    emit(sink, spec, body, prefix);
}

void emit_bytes(FormatSink sink, const Spec& spec, uint64_t count)
{
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    unsigned unit = 0;
    while (unit < 4 && count && count % 1024 == 0) count /= 1024, ++unit;
    char buffer[32];
    char* end = buffer + sizeof buffer;
    Str unit_text(units[unit]);
    char* p = end - unit_text.size;
    for (size_t i = 0; i < unit_text.size; ++i) p[i] = unit_text[i];
    *--p = ' ';
    Str number = digits(p, count, 10, false);
    emit(sink, spec, Str(number.data, size_t(end - number.data)));
}

void emit_arg(FormatSink sink, Spec spec, const FormatArg& arg)
{
    switch (arg.kind) {
    case FormatArg::Kind::unsigned_int:
        if (spec.type == 'c') return emit(sink, spec, Str(reinterpret_cast<const char*>(&arg.u), 1));
        return emit_unsigned(sink, spec, arg.u);
    case FormatArg::Kind::signed_int:
        if (spec.type == 'x' || spec.type == 'X') return emit_unsigned(sink, spec, uint64_t(arg.i));
        if (arg.i < 0) return emit_unsigned(sink, spec, uint64_t(0) - uint64_t(arg.i), true);
        return emit_unsigned(sink, spec, uint64_t(arg.i));
    case FormatArg::Kind::boolean: return emit(sink, spec, arg.b ? Str("yes") : Str("no"));
    case FormatArg::Kind::character: return emit(sink, spec, Str(&arg.c, 1));
    case FormatArg::Kind::string: return emit(sink, spec, arg.s);
    case FormatArg::Kind::pointer:
        spec.type = 'x';
        spec.prefix = true;
        return emit_unsigned(sink, spec, reinterpret_cast<uintptr_t>(arg.p));
    case FormatArg::Kind::bytes: return emit_bytes(sink, spec, arg.u);
    }
}

struct BufferSink {
    char* buffer;
    size_t size;
    size_t used;
};

void write_to_buffer(void* context, const char* text, size_t length)
{
    auto* b = static_cast<BufferSink*>(context);
    for (size_t i = 0; i < length && b->used + 1 < b->size; ++i) b->buffer[b->used++] = text[i];
}

}  // namespace

// Unknown or malformed placeholders are printed literally, and missing arguments as "{?}",
// so a wrong pattern shows up in the output instead of corrupting it.
void format_args(FormatSink sink, Str pattern, const FormatArg* args, size_t count)
{
    size_t next = 0;
    size_t literal_start = 0;
    auto flush = [&](size_t until) {
        if (until > literal_start) sink.write(sink.context, pattern.data + literal_start, until - literal_start);
    };
    for (size_t i = 0; i < pattern.size; ++i) {
        char c = pattern[i];
        if ((c == '{' || c == '}') && i + 1 < pattern.size && pattern[i + 1] == c) {
            flush(i + 1);
            literal_start = ++i + 1;
            continue;
        }
        if (c != '{') continue;
        size_t close = pattern.slice(i).find('}');
        if (close == SIZE_MAX) break;
        Str inside = pattern.slice(i + 1, close - 1);
        Spec spec;
        bool valid = inside.empty() || (inside[0] == ':' && parse_spec(inside.slice(1), spec));
        if (!valid) continue;
        flush(i);
        if (next < count) emit_arg(sink, spec, args[next++]);
        else sink.write(sink.context, "{?}", 3);
        i += close;
        literal_start = i + 1;
    }
    flush(pattern.size);
}

size_t format_args_to(char* buffer, size_t size, Str pattern, const FormatArg* args, size_t count)
{
    if (!size) return 0;
    BufferSink b{buffer, size, 0};
    format_args(FormatSink{write_to_buffer, &b}, pattern, args, count);
    buffer[b.used] = 0;
    return b.used;
}
