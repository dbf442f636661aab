#include "vmm/elf/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace pvvmm::elf {

namespace {

std::string errno_text(int error) { return std::generic_category().message(error); }

// Closes the descriptor on every return path.
class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    [[nodiscard]] int get() const { return fd_; }

private:
    int fd_;
};

}  // namespace

Result<std::vector<uint8_t>> read_file(const std::string& path, size_t max_size) {
    FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0)
        return bad_input("cannot open '{}': {}", path, errno_text(errno));

    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
        return bad_input("cannot stat '{}': {}", path, errno_text(errno));
    if (S_ISDIR(st.st_mode))
        return bad_input("cannot read '{}': {}", path, errno_text(EISDIR));
    if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_size) {
        return bad_input("file '{}' is too large ({} bytes, at most {} are accepted)", path, st.st_size, max_size);
    }

    // Read to EOF rather than trusting st_size: pipes and /proc files
    // report 0, and a file may change while we read it.
    // One byte beyond the cap is enough to notice an oversized file.
    const size_t buffer_limit = max_size < SIZE_MAX ? max_size + 1 : max_size;
    std::vector<uint8_t> data;
    size_t used = 0;
    for (;;) {
        if (used == data.size()) {
            if (data.size() > max_size) {
                return bad_input("file '{}' is too large (more than {} bytes are not accepted)", path, max_size);
            }
            data.resize(std::min(buffer_limit, std::max<size_t>(data.size() * 2, 64 << 10)));
        }
        const ssize_t n = ::read(fd.get(), data.data() + used, data.size() - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return bad_input("cannot read '{}': {}", path, errno_text(errno));
        }
        if (n == 0)
            break;
        used += static_cast<size_t>(n);
    }
    if (used > max_size) {
        return bad_input("file '{}' is too large (more than {} bytes are not accepted)", path, max_size);
    }
    if (used == 0)
        return bad_input("file '{}' is empty", path);
    data.resize(used);
    data.shrink_to_fit();
    return data;
}

}  // namespace pvvmm::elf
