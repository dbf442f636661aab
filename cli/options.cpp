#include "cli/options.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>

#include <fmt/format.h>

#include "guest-abi/layout.hpp"
#include "guest-abi/xpti_options.hpp"

namespace pvvmm::cli {

Result<uint64_t> parse_memory(const std::string& text) {
    uint64_t value = 0;
    const char* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || p == text.data())
        return bad_input("--memory '{}' is not a size (examples: 64M, 256MiB, 1G)", text);
    std::string unit(p, end);
    std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
    uint64_t shift;
    if (unit.empty() || unit == "m" || unit == "mib" || unit == "mb")
        shift = 20;
    else if (unit == "k" || unit == "kib" || unit == "kb")
        shift = 10;
    else if (unit == "g" || unit == "gib" || unit == "gb")
        shift = 30;
    else
        return bad_input("--memory '{}' has an unknown unit '{}' (use K, M or G)", text, unit);
    if (value > (layout::kMaxDomainBytes >> shift))
        return bad_input("--memory '{}' is more than the {} MiB pvvmm supports", text, layout::kMaxDomainBytes >> 20);
    const uint64_t bytes = value << shift;
    if (bytes < layout::kMinDomainBytes)
        return bad_input("--memory '{}' is less than the minimum of {} MiB", text, layout::kMinDomainBytes >> 20);
    if (bytes % (2u << 20) != 0)
        return bad_input("--memory '{}' must be a multiple of 2 MiB", text);
    return bytes;
}

Result<XptiChoice> parse_xpti(const std::string& text) {
    if (text == "on")
        return XptiChoice::On;
    if (text == "off")
        return XptiChoice::Off;
    if (text == "auto")
        return XptiChoice::Auto;
    return bad_input("--xpti '{}' is not one of on, off, auto", text);
}

Result<abi::PcidChoice> parse_pcid(const std::string& text) {
    if (text == "on")
        return abi::PcidChoice::On;
    if (text == "off")
        return abi::PcidChoice::Off;
    if (text == "auto")
        return abi::PcidChoice::Auto;
    return bad_input("--pcid '{}' is not one of on, off, auto", text);
}

Result<bool> parse_on_off(const char* option, const std::string& text) {
    if (text == "on")
        return true;
    if (text == "off")
        return false;
    return bad_input("{} '{}' is not one of on, off", option, text);
}

Result<StatsFormat> parse_stats_format(const std::string& text) {
    if (text == "text")
        return StatsFormat::Text;
    if (text == "json")
        return StatsFormat::Json;
    return bad_input("--stats '{}' is not one of text, json", text);
}

namespace {

std::string opt_names() {
    std::string names;
    for (const auto& o : abi::kXptiOptNames)
        names += fmt::format("{}{}", names.empty() ? "" : ", ", o.name);
    return names;
}

}  // namespace

Result<uint32_t> parse_xpti_opts(const std::string& text) {
    uint32_t opts = abi::kXptiOptsDefault;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string word = text.substr(start, comma - start);
        start = comma + 1;
        if (word == "naive") {
            opts = abi::kXptiOptsNaive;
            continue;
        }
        if (word == "xen") {
            opts = abi::kXptiOptsXen;
            continue;
        }
        if (word == "all") {
            opts = abi::kXptiOptsAll;
            continue;
        }
        const bool drop = word.rfind("no-", 0) == 0 && word != "no-global";
        const std::string name = drop ? word.substr(3) : word;
        const auto* it = std::find_if(std::begin(abi::kXptiOptNames), std::end(abi::kXptiOptNames),
                                      [&](const abi::XptiOptName& o) { return name == o.name; });
        if (it == std::end(abi::kXptiOptNames))
            return bad_input("--xpti-opt '{}': '{}' is not naive, xen, all, or one of {} (each may be prefixed no-)",
                             text, word, opt_names());
        opts = drop ? (opts & ~it->bit) : (opts | it->bit);
    }
    return opts;
}

std::string describe_xpti_opts(uint32_t opts) {
    std::string out;
    for (const auto& o : abi::kXptiOptNames)
        if (opts & o.bit)
            out += fmt::format("{}{}", out.empty() ? "" : ",", o.name);
    return out.empty() ? "none (naive)" : out;
}

Result<int> parse_log_level(const std::string& text) {
    static const char* const names[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    for (int i = 0; i < 7; ++i)
        if (text == names[i])
            return i;
    return bad_input("--log-level '{}' is not one of trace, debug, info, warn, error, critical, off", text);
}

Result<double> parse_timeout(const std::string& text) {
    try {
        size_t used = 0;
        const double s = std::stod(text, &used);
        if (used == text.size() && s >= 0 && s < 1e7)
            return s;
    } catch (const std::exception&) {
    }
    return bad_input("--timeout '{}' is not a number of seconds (0 = no limit)", text);
}

abi::XptiMode resolve_xpti(XptiChoice choice) {
    if (choice == XptiChoice::On)
        return abi::XptiMode::On;
    if (choice == XptiChoice::Off)
        return abi::XptiMode::Off;
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line))
        if (line.rfind("bugs", 0) == 0)
            return line.find("cpu_meltdown") != std::string::npos ? abi::XptiMode::On : abi::XptiMode::Off;
    return abi::XptiMode::On;  // unknown: assume vulnerable
}

}  // namespace pvvmm::cli
