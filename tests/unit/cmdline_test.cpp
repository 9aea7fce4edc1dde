#include "lib/cmdline.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

struct Token {
    std::string key, value;
    bool has_value;
    bool operator==(const Token&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Token& t)
{
    os << t.key;
    if (t.has_value) os << "=[" << t.value << "]";
    return os;
}

std::string str(Str s) { return std::string(s.data, s.size); }

struct Result {
    std::vector<Token> words;
    std::string error; // "" when none
    std::string error_key, error_text, error_expected;
};

Result tokenize(const std::string& line)
{
    Result r;
    cmdline::Tokenizer t(Str(line.data(), line.size()));
    cmdline::Word w;
    while (t.next(w)) r.words.push_back({str(w.key), str(w.value), w.has_value});
    if (t.error()) {
        r.error = t.error();
        r.error_key = str(t.error_key());
        r.error_text = str(t.error_text());
        r.error_expected = t.error_expected();
    }
    // After the end or an error, next() stays false.
    EXPECT_FALSE(t.next(w));
    return r;
}

using Words = std::vector<Token>;

TEST(Cmdline, EmptyAndBlankLines)
{
    EXPECT_EQ(tokenize("").words, Words{});
    EXPECT_EQ(tokenize("   \t  ").words, Words{});
    EXPECT_EQ(tokenize("").error, "");
}

TEST(Cmdline, KeyValuesAndBareWords)
{
    auto r = tokenize("/boot/matryoshka serial=com2 e9 cpus=0x10");
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.words, (Words{{"/boot/matryoshka", "", false},
                              {"serial", "com2", true},
                              {"e9", "", false},
                              {"cpus", "0x10", true}}));
}

TEST(Cmdline, MultipleSpacesTabsAndNewlines)
{
    auto r = tokenize("  a=1 \t\tb   c=3\r\n");
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.words, (Words{{"a", "1", true}, {"b", "", false}, {"c", "3", true}}));
}

TEST(Cmdline, QuotedValues)
{
    auto r = tokenize("name=a mem=64M vcpus=1 cmdline=\"console=ttyS0 x=1\" tail");
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.words, (Words{{"name", "a", true},
                              {"mem", "64M", true},
                              {"vcpus", "1", true},
                              {"cmdline", "console=ttyS0 x=1", true},
                              {"tail", "", false}}));
}

TEST(Cmdline, QuotedValueKeepsTabsAndEquals)
{
    auto r = tokenize("k=\"\ta  b=c\t\"");
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.words, (Words{{"k", "\ta  b=c\t", true}}));
}

TEST(Cmdline, EmptyValues)
{
    auto r = tokenize("a= b=\"\" c=\"\"");
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.words, (Words{{"a", "", true}, {"b", "", true}, {"c", "", true}}));
}

TEST(Cmdline, ValueMayContainEquals)
{
    auto r = tokenize("cmdline=console=ttyS0");
    EXPECT_EQ(r.words, (Words{{"cmdline", "console=ttyS0", true}}));
}

TEST(Cmdline, ViewsPointIntoTheLine)
{
    std::string line = "ab=cd \"";
    cmdline::Tokenizer t(Str(line.data(), line.size()));
    cmdline::Word w;
    ASSERT_TRUE(t.next(w));
    EXPECT_EQ(w.key.data, line.data());
    EXPECT_EQ(w.value.data, line.data() + 3);
}

TEST(Cmdline, UnterminatedQuote)
{
    auto r = tokenize("a=1 cmdline=\"console=ttyS0 x=1");
    EXPECT_EQ(r.words, (Words{{"a", "1", true}}));
    EXPECT_EQ(r.error, "unterminated quote in value of cmdline=");
    EXPECT_EQ(r.error_key, "cmdline");
    EXPECT_EQ(r.error_text, "cmdline=\"console=ttyS0 x=1");
    EXPECT_EQ(r.error_expected, "a closing double quote");

    EXPECT_EQ(tokenize("x=\"").error, "unterminated quote in value of x=");
}

TEST(Cmdline, TextAfterClosingQuote)
{
    auto r = tokenize("a=\"b c\"d e=1");
    EXPECT_EQ(r.words, Words{});
    EXPECT_EQ(r.error, "text after the closing quote in value of a=");
    EXPECT_EQ(r.error_key, "a");
    EXPECT_EQ(r.error_text, "a=\"b c\"d");
    EXPECT_EQ(r.error_expected, "a space after the closing quote");
}

TEST(Cmdline, QuoteInsideUnquotedValue)
{
    auto r = tokenize("a=b\"c d\"");
    EXPECT_EQ(r.error, "quote inside the unquoted value of a=");
    EXPECT_EQ(r.error_text, "a=b\"c");
    EXPECT_EQ(r.error_expected, "quotes only around a whole value, as in key=\"a b\"");
}

TEST(Cmdline, QuoteInsideAKey)
{
    auto r = tokenize("ok k\"ey=v");
    EXPECT_EQ(r.words, (Words{{"ok", "", false}}));
    EXPECT_EQ(r.error, "quote outside a value in k\"ey=v");
    EXPECT_EQ(r.error_key, "");
    EXPECT_EQ(r.error_text, "k\"ey=v");
}

// GRUB hands a module2 argument with a blank in it back wrapped in quotes as a whole.
TEST(Cmdline, WholeQuotedWordsAsGrubWritesThem)
{
    auto r = tokenize("name=vm1 \"cmdline=name=vm1 expect_mem=32M\" \"bare word\" \"e=\"");
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.words, (Words{{"name", "vm1", true},
                              {"cmdline", "name=vm1 expect_mem=32M", true},
                              {"bare word", "", false},
                              {"e", "", true}}));
    EXPECT_EQ(tokenize("\"a=b c").error, "unterminated quote in \"a=b c");
    EXPECT_EQ(tokenize("\"a=b\"c").error, "text after the closing quote in \"a=b\"c");
    EXPECT_EQ(tokenize("\"=b\"").error, "missing key before '=' in \"=b\"");
    EXPECT_EQ(tokenize("\"a=say \\\"hi\\\"\"").words, (Words{{"a", "say \\\"hi\\\"", true}}));
}

TEST(Cmdline, MissingKey)
{
    auto r = tokenize("=5 a=1");
    EXPECT_EQ(r.words, Words{});
    EXPECT_EQ(r.error, "missing key before '=' in =5");
    EXPECT_EQ(r.error_text, "=5");
    EXPECT_EQ(r.error_expected, "a key before '='");
}

TEST(Cmdline, LongKeyTruncatesTheMessage)
{
    std::string key(200, 'k');
    auto r = tokenize(key + "=\"x");
    EXPECT_EQ(r.error, "unterminated quote in value of " + std::string(95 - 31, 'k'));
    EXPECT_EQ(r.error_key, key);
}

TEST(Cmdline, CopiedTokenizerKeepsItsOwnMessage)
{
    std::string line = "a=\"";
    cmdline::Tokenizer t(Str(line.data(), line.size()));
    cmdline::Word w;
    EXPECT_FALSE(t.next(w));
    cmdline::Tokenizer copy = t;
    EXPECT_STREQ(copy.error(), "unterminated quote in value of a=");
    EXPECT_NE(copy.error(), t.error());
}

} // namespace
