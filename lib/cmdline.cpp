#include "lib/cmdline.hpp"

#include "lib/format.hpp"

namespace cmdline {
namespace {

// Newlines count as blanks so that a line read from a file with its line ending still parses.
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t skip_to_blank(Str line, size_t pos)
{
    while (pos < line.size && !is_blank(line[pos])) ++pos;
    return pos;
}

} // namespace

bool Tokenizer::fail(size_t word_start, size_t text_end, Str key, const char* what, const char* expected)
{
    failed_ = true;
    error_key_ = key;
    error_text_ = line_.slice(word_start, text_end - word_start);
    expected_ = expected;
    // what + key + "=" (or what + the offending text when there is no key), truncated to the buffer.
    if (key.empty()) format_to(message_, sizeof message_, "{}{}", what, error_text_);
    else format_to(message_, sizeof message_, "{}{}=", what, key);
    pos_ = line_.size;
    return false;
}

// GRUB rebuilds a module's command line from its parsed arguments and wraps each argument that
// contains a blank in double quotes (grub_create_loader_cmdline), so `cmdline="a b"` on a
// module2 line arrives as "cmdline=a b": the whole word quoted.
bool Tokenizer::next_quoted_word(Word& out)
{
    size_t start = pos_;
    size_t close = pos_ + 1;
    while (close < line_.size && (line_[close] != '"' || line_[close - 1] == '\\')) ++close;
    if (close == line_.size)
        return fail(start, line_.size, Str(), "unterminated quote in ", "a closing double quote");
    Str inner = line_.slice(start + 1, close - start - 1);
    pos_ = close + 1;
    if (pos_ < line_.size && !is_blank(line_[pos_]))
        return fail(start, skip_to_blank(line_, pos_), Str(), "text after the closing quote in ",
                    "a space after the closing quote");
    size_t equals = inner.find('=');
    if (equals == 0) return fail(start, pos_, Str(), "missing key before '=' in ", "a key before '='");
    if (equals == SIZE_MAX) out = Word{inner, Str(), false};
    else out = Word{inner.slice(0, equals), inner.slice(equals + 1), true};
    return true;
}

bool Tokenizer::next(Word& out)
{
    if (failed_) return false;
    while (pos_ < line_.size && is_blank(line_[pos_])) ++pos_;
    if (pos_ == line_.size) return false;
    if (line_[pos_] == '"') return next_quoted_word(out);

    size_t start = pos_;
    while (pos_ < line_.size && !is_blank(line_[pos_]) && line_[pos_] != '=') {
        if (line_[pos_] == '"')
            return fail(start, skip_to_blank(line_, pos_), Str(), "quote outside a value in ",
                        "quotes only around a whole value, as in key=\"a b\"");
        ++pos_;
    }
    Str key = line_.slice(start, pos_ - start);
    if (pos_ == line_.size || is_blank(line_[pos_])) {
        out = Word{key, Str(), false};
        return true;
    }

    ++pos_; // '='
    if (key.empty())
        return fail(start, skip_to_blank(line_, pos_), Str(), "missing key before '=' in ",
                    "a key before '='");
    size_t value_start = pos_;
    Str value;
    if (pos_ < line_.size && line_[pos_] == '"') {
        size_t close = line_.slice(pos_ + 1).find('"');
        if (close == SIZE_MAX)
            return fail(start, line_.size, key, "unterminated quote in value of ", "a closing double quote");
        value = line_.slice(pos_ + 1, close);
        pos_ += close + 2;
        if (pos_ < line_.size && !is_blank(line_[pos_]))
            return fail(start, skip_to_blank(line_, pos_), key, "text after the closing quote in value of ",
                        "a space after the closing quote");
    } else {
        while (pos_ < line_.size && !is_blank(line_[pos_])) {
            if (line_[pos_] == '"')
                return fail(start, skip_to_blank(line_, pos_), key, "quote inside the unquoted value of ",
                            "quotes only around a whole value, as in key=\"a b\"");
            ++pos_;
        }
        value = line_.slice(value_start, pos_ - value_start);
    }
    out = Word{key, value, true};
    return true;
}

} // namespace cmdline
