#include "cli/stats_report.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

#include "guest-abi/counters.hpp"
#include "guest-abi/host_quirk_names.hpp"
#include "guest-abi/hypercalls.hpp"

namespace pvvmm::cli {

namespace {

using Fields = std::span<const abi::CounterField>;

// --- the table, read -----------------------------------------------------

// Value i of a field. The table gives byte offsets into Counters (all
// uint64_t); memcpy reads them without pointer games.
uint64_t field_value(const abi::Counters& c, const abi::CounterField& f, uint32_t i) {
    uint64_t v;
    std::memcpy(&v, reinterpret_cast<const unsigned char*>(&c) + f.offset + i * sizeof(uint64_t), sizeof v);
    return v;
}

// What the reports call entry i of an index: a JSON key and a text label.
struct EntryName {
    std::string key;
    std::string label;
};

EntryName entry_name(abi::CounterIndex index, uint32_t i) {
    switch (index) {
    case abi::CounterIndex::HypercallNumber:
        if (const char* name = abi::hypercall_name(i))
            return {name, name};
        return {fmt::format("hypercall_{}", i), fmt::format("#{}", i)};
    case abi::CounterIndex::ExceptionVector: {
        const auto& v = abi::kExceptionVectorNames[i];
        return {v.name, fmt::format("{:<4} (vector {:>2})", v.label, i)};
    }
    case abi::CounterIndex::FlushReason: return {abi::kFlushReasonNames[i].name, abi::kFlushReasonNames[i].label};
    case abi::CounterIndex::InvpcidType: return {abi::kInvpcidTypeNames[i].name, abi::kInvpcidTypeNames[i].label};
    case abi::CounterIndex::Scalar:
    case abi::CounterIndex::XptiStateBits: break;
    }
    return {fmt::format("entry_{}", i), fmt::format("{}", i)};
}

// The table in report order, the adjacent fields of a group as one item.
std::vector<Fields> report_items() {
    std::vector<Fields> items;
    const Fields table(abi::kCounterTable);
    for (size_t first = 0; first < table.size();) {
        size_t end = first + 1;
        while (table[first].group && end < table.size() && table[end].group &&
               std::string_view(table[end].group) == table[first].group)
            ++end;
        items.push_back(table.subspan(first, end - first));
        first = end;
    }
    return items;
}

// Derived values shown just before one of the item's fields.
std::vector<const abi::DerivedCounter*> derived_before(Fields item) {
    std::vector<const abi::DerivedCounter*> found;
    for (const abi::DerivedCounter& d : abi::kDerivedCounters)
        for (const abi::CounterField& f : item)
            if (std::string_view(d.next_to) == f.name)
                found.push_back(&d);
    return found;
}

// --- text -----------------------------------------------------------------

// Wide enough for the longest label ("TLB flushes: guest root switch (2nd flush)").
void text_row(std::string& out, std::string_view label, uint64_t value, std::string_view note = {}) {
    fmt::format_to(std::back_inserter(out), "  {:<44} {:>12}{}\n", label, value, note);
}

// "XPTI on, PCID not in use, global pages off"
std::string text_state(uint64_t bits) {
    std::string line;
    for (const abi::StateBitName& b : abi::kXptiStateBitNames)
        line += fmt::format("{}{} {}", line.empty() ? "" : ", ", b.label, bits & b.bit ? b.when_set : b.when_clear);
    return line;
}

// One line per entry that is not 0 in any of the item's fields: the first
// field's value, the others' as "(N member)".
void text_indexed(std::string& out, const abi::Counters& c, Fields item) {
    const abi::CounterIndex index = item.front().index;
    for (uint32_t i = 0; i < abi::counter_index_entries(index); ++i) {
        bool any = false;
        std::string notes;
        for (const abi::CounterField& f : item.subspan(1)) {
            const uint64_t v = field_value(c, f, i);
            any = any || v != 0;
            if (v)
                notes += fmt::format("  ({} {})", v, f.member);
        }
        const uint64_t lead = field_value(c, item.front(), i);
        if (lead || any)
            text_row(out, fmt::format("{} {}", item.front().label, entry_name(index, i).label), lead, notes);
    }
}

void text_item(std::string& out, const abi::Counters& c, Fields item) {
    for (const abi::DerivedCounter* d : derived_before(item))
        if (const uint64_t v = d->value(c); v || d->text_shows_zero)
            text_row(out, d->label, v);
    const abi::CounterField& f = item.front();
    switch (f.index) {
    case abi::CounterIndex::Scalar:
        if (const uint64_t v = field_value(c, f, 0); v || f.text_shows_zero)
            text_row(out, f.label, v);
        return;
    case abi::CounterIndex::XptiStateBits:
        fmt::format_to(std::back_inserter(out), "  {}\n", text_state(field_value(c, f, 0)));
        return;
    default: text_indexed(out, c, item); return;
    }
}

// --- JSON -----------------------------------------------------------------

// Length of the valid UTF-8 sequence (RFC 3629) at the start of s, 0 if
// there is none.
size_t utf8_sequence_length(std::string_view s) {
    const auto byte = [&](size_t i) -> unsigned { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
    const unsigned lead = byte(0);
    size_t n;
    unsigned lo = 0x80, hi = 0xbf;  // bounds of the second byte
    if (lead >= 0xc2 && lead <= 0xdf) {
        n = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        n = 3;
        lo = lead == 0xe0 ? 0xa0 : lo;  // no overlong forms
        hi = lead == 0xed ? 0x9f : hi;  // no surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        n = 4;
        lo = lead == 0xf0 ? 0x90 : lo;
        hi = lead == 0xf4 ? 0x8f : hi;  // nothing above U+10FFFF
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; ++i) {
        const unsigned b = byte(i);
        if (b < (i == 1 ? lo : 0x80u) || b > (i == 1 ? hi : 0xbfu))
            return 0;
    }
    return n;
}

// A JSON string. The detail sentence may quote guest or monitor text, so
// bytes that are not valid UTF-8 become U+FFFD rather than invalid JSON.
std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = s[i];
        if (c >= 0x80) {
            const size_t n = utf8_sequence_length(s.substr(i));
            out += n ? s.substr(i, n) : "\\ufffd";
            i += n ? n : 1;
            continue;
        }
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f)
                out += fmt::format("\\u{:04x}", c);
            else
                out += static_cast<char>(c);
        }
        ++i;
    }
    return out + "\"";
}

std::string json_member(std::string_view key, std::string_view value) {
    return fmt::format("{}: {}", json_string(key), value);
}

std::string json_inline_object(const std::vector<std::string>& members) {
    return fmt::format("{{{}}}", fmt::join(members, ", "));
}

// One member per line, at the given depth (2 spaces each).
std::string json_block(const std::vector<std::string>& items, int depth, char open, char close) {
    const std::string inner(2 * depth + 2, ' ');
    const std::string outer(2 * depth, ' ');
    if (items.empty())
        return fmt::format("{}{}", open, close);
    return fmt::format("{}\n{}{}\n{}{}", open, inner, fmt::join(items, ",\n" + inner), outer, close);
}

std::string json_state(uint64_t bits) {
    std::vector<std::string> members{json_member("bits", fmt::format("{}", bits))};
    for (const abi::StateBitName& b : abi::kXptiStateBitNames)
        members.push_back(json_member(b.name, bits & b.bit ? "true" : "false"));
    return json_inline_object(members);
}

// {"<entry>": N, ...}, or for a group {"<entry>": {"<member>": N, ...}, ...}
std::string json_indexed(const abi::Counters& c, Fields item) {
    const abi::CounterIndex index = item.front().index;
    std::vector<std::string> entries;
    for (uint32_t i = 0; i < abi::counter_index_entries(index); ++i) {
        std::string value;
        if (item.front().group) {
            std::vector<std::string> members;
            for (const abi::CounterField& f : item)
                members.push_back(json_member(f.member, fmt::format("{}", field_value(c, f, i))));
            value = json_inline_object(members);
        } else {
            value = fmt::format("{}", field_value(c, item.front(), i));
        }
        entries.push_back(json_member(entry_name(index, i).key, value));
    }
    return json_inline_object(entries);
}

void json_item(std::vector<std::string>& members, const abi::Counters& c, Fields item) {
    for (const abi::DerivedCounter* d : derived_before(item))
        members.push_back(json_member(d->name, fmt::format("{}", d->value(c))));
    const abi::CounterField& f = item.front();
    switch (f.index) {
    case abi::CounterIndex::Scalar:
        members.push_back(json_member(f.name, fmt::format("{}", field_value(c, f, 0))));
        return;
    case abi::CounterIndex::XptiStateBits:
        members.push_back(json_member(f.name, json_state(field_value(c, f, 0))));
        return;
    default: members.push_back(json_member(f.group ? f.group : f.name, json_indexed(c, item))); return;
    }
}

std::string json_vcpu(size_t index, const VcpuReport& vcpu) {
    std::vector<std::string> members{json_member("vcpu", fmt::format("{}", index))};
    for (Fields item : report_items())
        json_item(members, vcpu.counters, item);
    members.push_back(json_member("single_steps", fmt::format("{}", vcpu.single_steps)));
    return json_block(members, 2, '{', '}');
}

std::string json_host(const RunResult& result) {
    std::vector<std::string> quirks;
    for (const abi::HostQuirkName& q : abi::kHostQuirkNames)
        if (result.quirks & q.bit)
            quirks.push_back(json_string(q.name));
    return json_block(
        {
            json_member("bare_round_trip_median_cycles", fmt::format("{}", result.bare_round_trip_median)),
            json_member("bare_round_trip_min_cycles", fmt::format("{}", result.bare_round_trip_min)),
            json_member("quirk_bits", fmt::format("{}", result.quirks)),
            json_member("quirks", fmt::format("[{}]", fmt::join(quirks, ", "))),
        },
        1, '{', '}');
}

}  // namespace

std::string stats_text(const RunResult& result) {
    std::string out = "pvvmm statistics\n";
    fmt::format_to(std::back_inserter(out),
                   "host KVM: bare ring 3 -> 0 -> 3 round trip (int3 + iretq) median {} cycles, min {}\n",
                   result.bare_round_trip_median, result.bare_round_trip_min);
    const std::vector<Fields> items = report_items();
    for (size_t i = 0; i < result.vcpus.size(); ++i) {
        fmt::format_to(std::back_inserter(out), "vCPU {}:\n", i);
        for (Fields item : items)
            text_item(out, result.vcpus[i].counters, item);
        if (result.vcpus[i].single_steps)
            text_row(out, "single-steps (diagnostic)", result.vcpus[i].single_steps);
    }
    return out;
}

std::string stats_json(const RunResult& result) {
    std::vector<std::string> vcpus;
    for (size_t i = 0; i < result.vcpus.size(); ++i)
        vcpus.push_back(json_vcpu(i, result.vcpus[i]));
    return json_block(
               {
                   json_member("schema", json_string("pvvmm-stats")),
                   json_member("version", "1"),
                   json_member("outcome", json_string(outcome_name(result.outcome))),
                   json_member("detail", json_string(result.detail)),
                   json_member("host", json_host(result)),
                   json_member("vcpus", json_block(vcpus, 1, '[', ']')),
               },
               0, '{', '}') +
           "\n";
}

Result<StatsOutput> StatsOutput::open(const std::string& path) {
    StatsOutput out;
    out.path_ = path;
    if (path.empty())
        return out;
    out.file_.reset(std::fopen(path.c_str(), "w"));
    if (!out.file_)
        return out.failed(errno);
    return out;
}

Result<void> StatsOutput::write(const std::string& report) {
    if (!file_) {
        std::fputs(report.c_str(), stderr);
        return {};
    }
    if (std::fputs(report.c_str(), file_.get()) == EOF || std::ferror(file_.get()))
        return failed(EIO);
    if (std::fclose(file_.release()) != 0)
        return failed(errno);
    return {};
}

Error StatsOutput::failed(int error) const {
    return host_error("cannot write the statistics file '{}': {}", path_, std::generic_category().message(error));
}

}  // namespace pvvmm::cli
