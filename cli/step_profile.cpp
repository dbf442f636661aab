#include "cli/step_profile.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <system_error>

namespace pvvmm::cli {

Result<void> write_step_profile(const std::string& path, const RunResult& result) {
    std::map<uint64_t, uint64_t> merged;
    uint64_t total = 0;
    for (const VcpuReport& v : result.vcpus)
        for (const auto& [address, steps] : v.steps_by_address) {
            merged[address] += steps;
            total += steps;
        }
    const auto failed = [&](int error) {
        return host_error("cannot write the single-step profile '{}': {}", path,
                          std::generic_category().message(error));
    };
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(path.c_str(), "w"), std::fclose);
    if (!out)
        return failed(errno);
    fmt::print(out.get(), "# pvvmm single-step profile: address steps ({} steps, {} addresses, {} vCPUs)\n", total,
               merged.size(), result.vcpus.size());
    for (const auto& [address, steps] : merged)
        fmt::print(out.get(), "{:x} {}\n", address, steps);
    if (std::ferror(out.get()))
        return failed(EIO);
    if (std::fclose(out.release()) != 0)
        return failed(errno);
    return {};
}

}  // namespace pvvmm::cli
