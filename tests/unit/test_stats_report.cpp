// Tests for the --stats reports (cli/stats_report.cpp) against the counter
// table (guest-abi/counters.hpp): every field of abi::Counters, set to a
// value no other field has, must come back out of the JSON document at the
// place the schema (README.md) gives it, and its label must appear in the
// text report. The JSON is read back with the small reader below.
#include "cli/options.hpp"
#include "cli/stats_report.hpp"
#include "guest-abi/counters.hpp"
#include "guest-abi/host_quirk_names.hpp"
#include "guest-abi/hypercalls.hpp"

#include <unistd.h>
#include <catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using namespace pvvmm;
using Catch::Matchers::Contains;

namespace {

// ---------------------------------------------------------------------------
// A minimal JSON reader: enough to check the report, strict enough to fail
// on anything a real parser would reject in it (numbers must be integers,
// as the schema promises).

struct Json {
    enum class Kind { Null, Bool, Number, String, Array, Object };
    Kind kind = Kind::Null;
    bool boolean = false;
    uint64_t number = 0;
    std::string string;
    std::vector<Json> array;
    std::vector<std::pair<std::string, Json>> object;  // in document order

    [[nodiscard]] const Json& at(const std::string& key) const {
        if (kind != Kind::Object)
            throw std::runtime_error("not an object, looking for " + key);
        for (const auto& [k, v] : object)
            if (k == key)
                return v;
        throw std::runtime_error("no key " + key);
    }
    [[nodiscard]] bool has(const std::string& key) const {
        for (const auto& [k, v] : object)
            if (k == key)
                return true;
        return false;
    }
    [[nodiscard]] uint64_t count() const {
        if (kind != Kind::Number)
            throw std::runtime_error("not a number");
        return number;
    }
};

class JsonReader {
public:
    explicit JsonReader(std::string_view text) : s_(text) {}

    Json document() {
        Json v = value();
        skip_space();
        if (pos_ != s_.size())
            fail("text after the document");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error(what + " at offset " + std::to_string(pos_));
    }
    void skip_space() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r'))
            ++pos_;
    }
    char peek() {
        skip_space();
        if (pos_ >= s_.size())
            fail("unexpected end");
        return s_[pos_];
    }
    void expect(char c) {
        if (peek() != c)
            fail(std::string("expected '") + c + "'");
        ++pos_;
    }
    bool literal(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word)
            return false;
        pos_ += word.size();
        return true;
    }

    Json value() {
        Json v;
        const char c = peek();
        if (c == '{') {
            v.kind = Json::Kind::Object;
            ++pos_;
            if (peek() == '}') {
                ++pos_;
                return v;
            }
            do {
                std::string key = string();
                expect(':');
                v.object.emplace_back(std::move(key), value());
            } while (peek() == ',' && ++pos_);
            expect('}');
        } else if (c == '[') {
            v.kind = Json::Kind::Array;
            ++pos_;
            if (peek() == ']') {
                ++pos_;
                return v;
            }
            do {
                v.array.push_back(value());
            } while (peek() == ',' && ++pos_);
            expect(']');
        } else if (c == '"') {
            v.kind = Json::Kind::String;
            v.string = string();
        } else if (c >= '0' && c <= '9') {
            v.kind = Json::Kind::Number;
            v.number = number();
        } else if (literal("true") || literal("false")) {
            v.kind = Json::Kind::Bool;
            v.boolean = s_[pos_ - 1] == 'e' && s_[pos_ - 2] == 'u';
        } else if (literal("null")) {
            v.kind = Json::Kind::Null;
        } else {
            fail("not a JSON value");
        }
        return v;
    }

    uint64_t number() {
        const size_t start = pos_;
        uint64_t n = 0;
        while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9')
            n = n * 10 + static_cast<uint64_t>(s_[pos_++] - '0');
        if (s_[start] == '0' && pos_ - start > 1)
            fail("leading zero");
        if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E'))
            fail("not an integer");
        return n;
    }

    std::string string() {
        expect('"');
        std::string out;
        while (true) {
            if (pos_ >= s_.size())
                fail("unterminated string");
            const unsigned char c = s_[pos_++];
            if (c == '"')
                return out;
            if (c < 0x20)
                fail("raw control character in a string");
            if (c != '\\') {
                out += static_cast<char>(c);
                continue;
            }
            const char e = s_.at(pos_++);
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': append_utf8(out, hex4()); break;
            default: fail("bad escape");
            }
        }
    }

    uint32_t hex4() {
        if (pos_ + 4 > s_.size())
            fail("short \\u escape");
        const uint32_t v = static_cast<uint32_t>(std::stoul(std::string(s_.substr(pos_, 4)), nullptr, 16));
        pos_ += 4;
        return v;
    }

    // Code points below 0x10000 are all the report writes escaped.
    static void append_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    }

    std::string_view s_;
    size_t pos_ = 0;
};

Json parse(const std::string& text) { return JsonReader(text).document(); }

// ---------------------------------------------------------------------------
// A run result whose every counter word is distinct from every other, in
// every vCPU.

constexpr size_t kWords = sizeof(abi::Counters) / sizeof(uint64_t);

uint64_t distinct_value(size_t vcpu, size_t word) { return 1'000'000 * (vcpu + 1) + 1000 + word; }

void set_word(abi::Counters& c, size_t word, uint64_t value) {
    std::memcpy(reinterpret_cast<unsigned char*>(&c) + word * sizeof(uint64_t), &value, sizeof value);
}

uint64_t word_of(const abi::Counters& c, size_t word) {
    uint64_t v;
    std::memcpy(&v, reinterpret_cast<const unsigned char*>(&c) + word * sizeof(uint64_t), sizeof v);
    return v;
}

uint64_t table_value(const abi::Counters& c, const abi::CounterField& f, uint32_t i) {
    return word_of(c, f.offset / sizeof(uint64_t) + i);
}

RunResult distinct_result(size_t vcpus) {
    RunResult r;
    r.outcome = Outcome::Poweroff;
    r.detail = "guest powered off";
    r.quirks = abi::kQuirkSyscallStaysInRing3 | abi::kQuirkSlot256FaultsRing3;
    r.bare_round_trip_median = 28992;
    r.bare_round_trip_min = 27001;
    for (size_t v = 0; v < vcpus; ++v) {
        VcpuReport report;
        for (size_t w = 0; w < kWords; ++w)
            set_word(report.counters, w, distinct_value(v, w));
        report.single_steps = 900'000 + v;
        r.vcpus.push_back(report);
    }
    return r;
}

// The schema's key for entry i of an index (README.md).
std::string entry_key(abi::CounterIndex index, uint32_t i) {
    switch (index) {
    case abi::CounterIndex::HypercallNumber:
        return abi::hypercall_name(i) ? abi::hypercall_name(i) : "hypercall_" + std::to_string(i);
    case abi::CounterIndex::ExceptionVector: return abi::kExceptionVectorNames[i].name;
    case abi::CounterIndex::FlushReason: return abi::kFlushReasonNames[i].name;
    case abi::CounterIndex::InvpcidType: return abi::kInvpcidTypeNames[i].name;
    default: FAIL("no entries for this index"); return {};
    }
}

// Every number in a JSON value, recursively.
void collect_numbers(const Json& j, std::multiset<uint64_t>& out) {
    if (j.kind == Json::Kind::Number)
        out.insert(j.number);
    for (const Json& e : j.array)
        collect_numbers(e, out);
    for (const auto& [k, v] : j.object)
        collect_numbers(v, out);
}

// Checks one table field of one vCPU object against the counters.
void check_field(const Json& vcpu, const abi::Counters& c, const abi::CounterField& f) {
    INFO("field " << f.name);
    switch (f.index) {
    case abi::CounterIndex::Scalar: CHECK(vcpu.at(f.name).count() == table_value(c, f, 0)); return;
    case abi::CounterIndex::XptiStateBits: {
        const Json& state = vcpu.at(f.name);
        const uint64_t bits = table_value(c, f, 0);
        CHECK(state.at("bits").count() == bits);
        for (const abi::StateBitName& b : abi::kXptiStateBitNames) {
            REQUIRE(state.at(b.name).kind == Json::Kind::Bool);
            CHECK(state.at(b.name).boolean == ((bits & b.bit) != 0));
        }
        return;
    }
    default: break;
    }
    const Json& object = vcpu.at(f.group ? f.group : f.name);
    REQUIRE(object.object.size() == abi::counter_index_entries(f.index));
    for (uint32_t i = 0; i < abi::counter_index_entries(f.index); ++i) {
        const Json& entry = object.at(entry_key(f.index, i));
        INFO("entry " << entry_key(f.index, i));
        CHECK((f.group ? entry.at(f.member) : entry).count() == table_value(c, f, i));
    }
}

// The vCPU object's keys: the table's (a group once), the derived values, its index and single_steps.
std::set<std::string> expected_vcpu_keys() {
    std::set<std::string> keys{"vcpu", "single_steps"};
    for (const abi::CounterField& f : abi::kCounterTable)
        keys.insert(f.group ? f.group : f.name);
    for (const abi::DerivedCounter& d : abi::kDerivedCounters)
        keys.insert(d.name);
    return keys;
}

std::string temp_path(const char* name) {
    return (std::filesystem::temp_directory_path() / (std::string(name) + "." + std::to_string(getpid()))).string();
}

}  // namespace

TEST_CASE("stats JSON: the header and the host facts") {
    const RunResult r = distinct_result(1);
    const Json doc = parse(cli::stats_json(r));
    CHECK(doc.at("schema").string == "pvvmm-stats");
    CHECK(doc.at("version").count() == 1);
    CHECK(doc.at("outcome").string == "poweroff");
    CHECK(doc.at("detail").string == "guest powered off");
    const Json& host = doc.at("host");
    CHECK(host.at("bare_round_trip_median_cycles").count() == 28992);
    CHECK(host.at("bare_round_trip_min_cycles").count() == 27001);
    CHECK(host.at("quirk_bits").count() == r.quirks);
    const Json& quirks = host.at("quirks");
    REQUIRE(quirks.kind == Json::Kind::Array);
    REQUIRE(quirks.array.size() == 2);
    CHECK(quirks.array[0].string == "syscall_stays_in_ring3");
    CHECK(quirks.array[1].string == "slot_256_faults_in_ring3");
}

TEST_CASE("stats JSON: every field of the counter table, in every vCPU, with its value") {
    const RunResult r = distinct_result(3);
    const Json doc = parse(cli::stats_json(r));
    const Json& vcpus = doc.at("vcpus");
    REQUIRE(vcpus.kind == Json::Kind::Array);
    REQUIRE(vcpus.array.size() == 3);
    for (size_t v = 0; v < 3; ++v) {
        INFO("vCPU " << v);
        const Json& vcpu = vcpus.array[v];
        CHECK(vcpu.at("vcpu").count() == v);
        CHECK(vcpu.at("single_steps").count() == 900'000 + v);
        for (const abi::CounterField& f : abi::kCounterTable)
            check_field(vcpu, r.vcpus[v].counters, f);
        for (const abi::DerivedCounter& d : abi::kDerivedCounters)
            CHECK(vcpu.at(d.name).count() == d.value(r.vcpus[v].counters));
        std::set<std::string> keys;
        for (const auto& [k, value] : vcpu.object)
            CHECK(keys.insert(k).second);  // no key twice
        CHECK(keys == expected_vcpu_keys());
    }
}

// Independent of the table: a field the table forgot would be missing here.
TEST_CASE("stats JSON: every word of abi::Counters appears in its vCPU's object") {
    const RunResult r = distinct_result(2);
    const Json doc = parse(cli::stats_json(r));
    for (size_t v = 0; v < 2; ++v) {
        std::multiset<uint64_t> numbers;
        collect_numbers(doc.at("vcpus").array.at(v), numbers);
        for (size_t w = 0; w < kWords; ++w) {
            INFO("vCPU " << v << ", word " << w << " of abi::Counters");
            CHECK(numbers.count(distinct_value(v, w)) >= 1);
        }
    }
}

// The documented paths scripts rely on, spelled out rather than taken from the table.
TEST_CASE("stats JSON: the schema's paths scripts use") {
    RunResult r = distinct_result(1);
    abi::Counters& c = r.vcpus[0].counters;
    c.xpti_state = abi::kXptiStateOn | abi::kXptiStateGlobal;
    const Json vcpu = parse(cli::stats_json(r)).at("vcpus").array.at(0);
    CHECK(vcpu.at("hypercalls").at("console_io").at("calls").count() == c.hypercalls[18]);
    CHECK(vcpu.at("hypercalls").at("console_io").at("refused").count() == c.hypercalls_refused[18]);
    CHECK(vcpu.at("hypercalls").at("xen_version").at("calls").count() == c.hypercalls[17]);
    CHECK(vcpu.at("hypercalls").at("hypercall_63").at("calls").count() == c.hypercalls[63]);
    CHECK(vcpu.at("exceptions").at("pf").count() == c.exceptions[14]);
    CHECK(vcpu.at("exceptions").at("vector_15").count() == c.exceptions[15]);
    CHECK(vcpu.at("tlb_flushes").at("guest_root_switch").count() == c.tlb_flushes[3]);
    CHECK(vcpu.at("invlpgs").at("update_va_mapping").count() == c.invlpgs[1]);
    CHECK(vcpu.at("invpcids").at("single_context").count() == c.invpcids[1]);
    CHECK(vcpu.at("guest_entries").count() == c.guest_entries);
    CHECK(vcpu.at("cr3_writes").count() == c.cr3_writes);
    CHECK(vcpu.at("cr3_writes_xpti_switches").count() == c.guest_entries + c.guest_exits);
    CHECK(vcpu.at("cr3_writes_total").count() == c.cr3_writes + c.guest_entries + c.guest_exits);
    CHECK(vcpu.at("xpti_state").at("xpti").boolean);
    CHECK_FALSE(vcpu.at("xpti_state").at("pcid").boolean);
    CHECK(vcpu.at("xpti_state").at("global_pages").boolean);

    c.xpti_state = 0;  // no entry/exit switches without XPTI
    const Json off = parse(cli::stats_json(r)).at("vcpus").array.at(0);
    CHECK(off.at("cr3_writes_xpti_switches").count() == 0);
    CHECK(off.at("cr3_writes_total").count() == c.cr3_writes);
}

TEST_CASE("stats JSON: zeros are reported, not omitted") {
    RunResult r;
    r.vcpus.resize(1);
    const Json vcpu = parse(cli::stats_json(r)).at("vcpus").array.at(0);
    for (const abi::CounterField& f : abi::kCounterTable)
        check_field(vcpu, r.vcpus[0].counters, f);
    CHECK(vcpu.at("hypercalls").object.size() == abi::kHypercallSlots);
    CHECK(parse(cli::stats_json(r)).at("host").at("quirks").array.empty());
}

TEST_CASE("stats JSON: strings are escaped") {
    RunResult r = distinct_result(1);
    r.outcome = Outcome::MonitorPanic;
    r.detail = std::string("monitor panic: \"quoted\" back\\slash\nnew line\ttab \x01 bell\x7f é ") + "\xff\xc3" +
               " \xed\xa0\x80 end";
    const Json doc = parse(cli::stats_json(r));
    CHECK(doc.at("outcome").string == "monitor-panic");
    // Invalid UTF-8 (a stray 0xff, a truncated sequence, a surrogate) becomes U+FFFD.
    CHECK(doc.at("detail").string ==
          std::string("monitor panic: \"quoted\" back\\slash\nnew line\ttab \x01 bell\x7f é ") +
              "\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
}

TEST_CASE("stats text: every field's label, with its value") {
    RunResult r = distinct_result(2);
    r.vcpus[1].counters.xpti_state = abi::kXptiStateOn;  // else there are no XPTI entry/exit switches to show
    const std::string text = cli::stats_text(r);
    CHECK_THAT(text, Contains("pvvmm statistics"));
    CHECK_THAT(text, Contains("median 28992 cycles, min 27001"));
    CHECK_THAT(text, Contains("vCPU 1:"));
    const abi::Counters& c = r.vcpus[1].counters;
    for (const abi::CounterField& f : abi::kCounterTable) {
        INFO("field " << f.name);
        if (f.index == abi::CounterIndex::XptiStateBits) {
            CHECK_THAT(text, Contains(abi::kXptiStateBitNames[0].label));
            continue;
        }
        CHECK_THAT(text, Contains(f.label));
        if (!f.member)
            CHECK_THAT(text, Contains(std::to_string(table_value(c, f, 0))));
    }
    for (const abi::DerivedCounter& d : abi::kDerivedCounters)
        CHECK_THAT(text, Contains(d.label));
    // The wording tests and people know.
    CHECK_THAT(text, Contains("hypercall console_io"));
    CHECK_THAT(text, Contains(std::to_string(c.hypercalls_refused[18]) + " refused)"));
    CHECK_THAT(text, Contains("exception #PF  (vector 14)"));
    CHECK_THAT(text, Contains("TLB flushes: guest request (mmuext_op)"));
    CHECK_THAT(text, Contains("INVLPG: stale writable mapping"));
    CHECK_THAT(text, Contains("INVPCID type 0"));
    CHECK_THAT(text, Contains("single-steps (diagnostic)"));
}

TEST_CASE("stats text: rows that are 0 are omitted, except entries, exits, state and CR3 writes") {
    RunResult r;
    r.vcpus.resize(1);
    r.vcpus[0].counters.xpti_state = abi::kXptiStateOn | abi::kXptiStatePcid;
    const std::string text = cli::stats_text(r);
    CHECK_THAT(text, Contains("guest entries"));
    CHECK_THAT(text, Contains("guest exits"));
    CHECK_THAT(text, Contains("XPTI on, PCID in use, global pages off"));
    CHECK_THAT(text, Contains("CR3 writes "));
    CHECK_FALSE(text.find("hypercall") != std::string::npos);
    CHECK_FALSE(text.find("L4 copies") != std::string::npos);
    CHECK_FALSE(text.find("XPTI entry/exit switches") != std::string::npos);
    CHECK_FALSE(text.find("single-steps") != std::string::npos);
}

TEST_CASE("--stats: text or json, anything else is one sentence") {
    CHECK(cli::parse_stats_format("text").value() == cli::StatsFormat::Text);
    CHECK(cli::parse_stats_format("json").value() == cli::StatsFormat::Json);
    const auto bad = cli::parse_stats_format("bogus");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().kind == ErrorKind::BadInput);
    CHECK(bad.error().message == "--stats 'bogus' is not one of text, json");
}

TEST_CASE("--stats-file: written whole, or a host error naming the file") {
    const std::string path = temp_path("pvvmm-stats-test.json");
    {
        auto out = cli::StatsOutput::open(path);
        REQUIRE(out);
        REQUIRE(out->write("{\"schema\": \"pvvmm-stats\"}\n"));
    }
    std::ifstream in(path);
    std::stringstream contents;
    contents << in.rdbuf();
    CHECK(contents.str() == "{\"schema\": \"pvvmm-stats\"}\n");
    std::filesystem::remove(path);

    const auto unwritable = cli::StatsOutput::open("/nonexistent/dir/stats.json");
    REQUIRE_FALSE(unwritable);
    CHECK(unwritable.error().kind == ErrorKind::Host);
    CHECK(unwritable.error().message ==
          "cannot write the statistics file '/nonexistent/dir/stats.json': No such file or directory");
}
