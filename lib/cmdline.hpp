// Tokenizer of command lines made of words separated by blanks: `key=value`,
// `key="value with spaces"` (the quotes are not part of the value) and bare words (no '=').
// Used for the hypervisor's own command line and for GRUB module lines.
#pragma once
#include <cstddef>

#include "lib/str.hpp"

namespace cmdline {

struct Word {
    Str key;
    Str value;      // empty for a bare word, and for `key=` and `key=""`
    bool has_value; // the word had an '='
};

// Views point into the line given to the constructor. After the first error, next() keeps
// returning false; words returned before it stay valid.
class Tokenizer {
public:
    explicit Tokenizer(Str line) : line_(line) {}

    // False at the end of the line or on an error.
    bool next(Word& out);

    // nullptr, or a message such as "unterminated quote in value of cmdline=".
    const char* error() const { return failed_ ? message_ : nullptr; }
    // For callers that build their own diagnostics: the key of the offending word (may be
    // empty), the offending text as written, and what would have been accepted instead.
    Str error_key() const { return error_key_; }
    Str error_text() const { return error_text_; }
    const char* error_expected() const { return expected_; }

private:
    bool fail(size_t word_start, size_t text_end, Str key, const char* what, const char* expected);
    bool next_quoted_word(Word& out);

    Str line_;
    size_t pos_ = 0;
    bool failed_ = false;
    Str error_key_;
    Str error_text_;
    const char* expected_ = nullptr;
    char message_[96] = {};
};

template <size_t Size>
struct KeyList {
    char text[Size];
};

// The keys of an option table (entries with a `key` member), joined with ", " at compile time,
// for messages that list the valid keys: built from the table, they cannot disagree with it.
template <const auto& table>
constexpr auto join_keys()
{
    constexpr size_t size = [] {
        size_t n = 0;
        for (const auto& entry : table) n += Str(entry.key).size + 2;
        return n - 1;  // no separator after the last key, one NUL
    }();
    KeyList<size> list{};
    size_t n = 0;
    for (const auto& entry : table) {
        if (n) {
            list.text[n++] = ',';
            list.text[n++] = ' ';
        }
        for (char c : Str(entry.key)) list.text[n++] = c;
    }
    list.text[n] = 0;
    return list;
}

} // namespace cmdline
