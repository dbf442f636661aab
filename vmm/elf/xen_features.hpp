// The XEN_ELFNOTE_FEATURES string: feature names from xen/features.h
// without the "XENFEAT_" prefix, separated by '|'; a leading '!' marks a
// feature the kernel cannot run without.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pvvmm::elf {

struct FeatureNames {
    std::vector<std::string> required;  // "!name" entries, without the '!'
    std::vector<std::string> optional;  // plain "name" entries
};

// Splits a FEATURES string; empty entries are skipped. Names are kept as
// written, known to Xen or not: deciding what to refuse is the caller's job.
FeatureNames split_features(std::string_view features);

// XENFEAT_<name>'s bit number, for the names xen/features.h defines.
std::optional<unsigned> xen_feature_bit(std::string_view name);

}  // namespace pvvmm::elf
